"""The driver's memory on Spark does not grow with the number of complaints.

Writes two saved histories with the same clients and cutoffs, one with three times the
complaints per client, and runs ``snapshots`` on each in a fresh process on Spark local
mode. Prints each run's time and the peak memory of the Python driver (where results
land) and of Spark's JVM (which in local mode also runs the tasks), and checks that the
results equal DuckDB's. Target (issue 23): 3x the complaints moves the driver's peak by <= 20%.
Run: .venv/bin/python benchmarks/spark_driver.py [--clients N] [--complaints N]
"""

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

CUTOFFS = [f"{year}-{month:02d}-01" for year in (2023, 2024) for month in (1, 4, 7, 10)] + ["2025-01-01", "2025-04-01", "2025-07-01"]


def _peak_gb(pid: str = "self") -> float:
    """A process's peak resident memory (VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 2**20


def _write(folder: str, clients: int, complaints: int) -> None:
    import numpy as np
    import pandas as pd

    from analytics.io import History
    from analytics.schemas import empty_table

    rng = np.random.default_rng(7)
    ids = np.array([f"c{i:06d}" for i in range(clients)])
    start = pd.Timestamp("2022-01-01", tz="UTC")
    opened = start + pd.to_timedelta(rng.uniform(0, 1280, complaints), unit="D").round("s")
    resolved = opened + pd.to_timedelta(rng.exponential(60, complaints), unit="h").round("s")
    table = pd.DataFrame({
        "complaint_id": np.char.add("k", np.arange(complaints).astype(str)),
        "client_id": rng.choice(ids, complaints),
        "opened_at": opened,
        "first_response_at": opened + pd.to_timedelta(rng.exponential(5, complaints), unit="h").round("s"),
        "resolved_at": resolved.where(rng.random(complaints) < 0.9),
        "trigger": rng.choice(["billing", "technical_failure", "poor_communication", "unmet_expectations"], complaints),
        "severity": rng.integers(1, 5, complaints),
        "disputed": rng.random(complaints) < 0.1,
        "sla_met": rng.random(complaints) < 0.8,
        "escalated": rng.random(complaints) < 0.05,
        "reopen_count": rng.poisson(0.1, complaints),
        "csat": rng.integers(1, 6, complaints),
        "handling_minutes": rng.exponential(30, complaints).round(1),
    })
    people = empty_table("clients").reindex(range(clients))
    people["client_id"] = ids
    people["segment"] = rng.choice(["smb", "mid_market", "enterprise"], clients)
    people["contract_start"] = start - pd.Timedelta(days=30)
    churned = rng.random(clients) < 0.2  # a fifth leave, at any time, so that a churn model has labels to learn
    people["status"] = np.where(churned, "churned", "active")
    people["ended_at"] = (start + pd.to_timedelta(rng.uniform(150, 1460, clients), unit="D").round("s")).where(churned)
    people["end_reason"] = pd.Series(np.where(churned, "client_left", None), dtype="string")
    History(people, table).save(folder)


def _run(folder: str, engine: str, out) -> None:
    import psutil

    from analytics.features import snapshots, spark_session

    session = spark_session(config={"spark.driver.memory": "2g"}) if engine == "spark" else None
    began = time.perf_counter()
    rows = snapshots(folder, CUTOFFS, engine=session)
    seconds = time.perf_counter() - began
    jvm = [p for p in psutil.Process().children(recursive=True) if "java" in p.name()]
    jvm_peak = _peak_gb(str(jvm[0].pid)) if jvm else 0.0
    rows.to_parquet(Path(folder) / f"rows-{engine}.parquet")
    out.put((seconds, len(rows), _peak_gb(), jvm_peak))


def _same(folder: str) -> bool:
    import numpy as np
    import pandas as pd

    spark, duck = (pd.read_parquet(Path(folder) / f"rows-{e}.parquet") for e in ("spark", "duckdb"))
    return list(spark.columns) == list(duck.columns) and all(
        np.allclose(duck[c], spark[c], rtol=1e-12, atol=0, equal_nan=True) if pd.api.types.is_float_dtype(duck[c])
        else duck[c].astype(str).tolist() == spark[c].astype(str).tolist() for c in duck.columns)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--complaints", type=int, default=1_000_000)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    peaks = []
    with tempfile.TemporaryDirectory() as scratch:
        for factor in (1, 3):
            folder = str(Path(scratch) / f"x{factor}")
            writer = context.Process(target=_write, args=(folder, args.clients, args.complaints * factor))
            writer.start()
            writer.join()
            for engine in ("duckdb", "spark"):
                queue = context.Queue()
                process = context.Process(target=_run, args=(folder, engine, queue))
                process.start()
                seconds, rows, peak, jvm = queue.get(timeout=3600)
                process.join()
                print(f"{args.clients:,} clients, {args.complaints * factor:,} complaints, {len(CUTOFFS)} cutoffs, {engine}: "
                      f"{seconds:.1f} s, {rows:,} rows, Python driver peak {peak:.2f} GB" + (f", Spark JVM peak {jvm:.2f} GB" if jvm else ""))
                if engine == "spark":
                    peaks.append((peak, jvm))
            print(f"  Spark's snapshots equal DuckDB's (rtol 1e-12, counts exact): {_same(folder)}")
    (python_1, jvm_1), (python_3, jvm_3) = peaks
    print(f"3x the complaints moves the Python driver's peak by {python_3 / python_1 - 1:+.0%} and the JVM's by {jvm_3 / jvm_1 - 1:+.0%} (target <= +20%)")


if __name__ == "__main__":
    main()
