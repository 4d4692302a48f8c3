import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
REAL = ROOT / "data" / "real"
CFPB = REAL / "cfpb_complaints_2012_2016" / "complaints.csv"


def need_debian_package(binary_glob: str, package: str) -> Path:
    """Path of a binary from a Debian package, installing the package when it is missing.

    Outside CI a machine that cannot install it skips the test with that reason; in CI
    it fails, because CI must run every test.
    """
    found = sorted(Path("/").glob(binary_glob.lstrip("/")))
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = sorted(Path("/").glob(binary_glob.lstrip("/")))
    if not found:
        message = f"{package} is not installed and could not be installed with apt-get"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server of its own on loopback, in a temporary directory."""
    initdb = need_debian_package("/usr/lib/postgresql/*/bin/initdb", "postgresql")
    bin_dir = initdb.parent
    home = Path(tempfile.mkdtemp(prefix="client-health-pg-"))  # outside pytest's private tmp
    data = home / "data"
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(home, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run([*as_user, bin_dir / "initdb", "-D", data, "-U", "analyst", "--auth=trust", "-E", "UTF8", "--no-locale"], check=True, capture_output=True)
    log = data.parent / "server.log"
    subprocess.run([*as_user, bin_dir / "pg_ctl", "-D", data, "-l", log, "-w", "-o", f"-p {port} -k {data.parent} -h 127.0.0.1", "start"], check=True, capture_output=True)
    url = f"postgresql+psycopg://analyst@127.0.0.1:{port}/postgres"
    try:
        yield url
    finally:
        subprocess.run([*as_user, bin_dir / "pg_ctl", "-D", data, "-m", "fast", "stop"], check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def spark():
    """A local Spark session for one test module (Java from Debian's packages)."""
    need_debian_package("/usr/lib/jvm/*/bin/java", "openjdk-17-jre-headless")
    pytest.importorskip("pyspark", reason="pyspark is installed by the test extra")
    from analytics.features import spark_session

    session = spark_session()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample_history():
    from analytics.io import load_history

    return load_history(SAMPLE)


@pytest.fixture(scope="session")
def cfpb_path():
    if not CFPB.exists():
        pytest.fail(f"the real CFPB export is missing at {CFPB}")
    return CFPB


def assert_same_snapshots(expected, got) -> None:
    """The same columns in the same order; numbers equal to rtol 1e-12, everything else exactly."""
    assert list(got.columns) == list(expected.columns)
    for column in expected.columns:
        left, right = expected[column], got[column]
        if pd.api.types.is_float_dtype(left):
            assert np.allclose(left, right, rtol=1e-12, atol=0, equal_nan=True), column
        else:
            assert left.astype(str).tolist() == right.astype(str).tolist(), column
