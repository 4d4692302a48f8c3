"""The package stands on its own: a wheel built from the repository, installed in a clean
virtual environment outside it, runs every report on the sample it carries."""

import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A new virtual environment, outside the repository, with the wheel and its pinned dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((work / "dist").glob("client_health_analytics-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True, timeout=300)
    python = work / "venv" / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return wheel, work / "venv" / "bin", work


def test_the_wheel_carries_notebooks_sample_profiles_and_nothing_of_the_repository(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("analytics/notebooks/01_quarterly_retention_review.ipynb", "analytics/data/sample/complaints.parquet",
                   "analytics/profiles/cfpb.toml", "analytics/policies/review.toml", "analytics/report_template/report.html.j2",
                   "analytics/spark-log4j2.properties"):
        assert needed in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "data/"))]


@pytest.mark.parametrize("kind", ["quarterly", "workshop", "review", "quality"])
def test_every_report_runs_from_the_installed_wheel_outside_the_repository(installed, kind):
    _, bin_folder, work = installed
    out = work / "reports"
    done = subprocess.run([str(bin_folder / "client-health"), "report", kind, "--out", str(out)], capture_output=True, text=True,
                          timeout=900, cwd=work)
    assert done.returncode == 0, done.stderr[-3000:]
    page = next(out.glob(f"{kind}*.html")).read_text(encoding="utf-8")
    assert str(ROOT) not in page and "Traceback" not in page and "redacted" in page  # the footer of a finished report
