"""The quarterly report on 10 million complaints: 200,000 clients, a fifth of whom leave.

Writes a saved history with ``spark_driver.py``'s generator (unless ``--history`` names
one), then runs the command a user runs, ``client-health report quarterly --source FOLDER``:
the folder's Parquet files are loaded and validated as an export, the notebook runs
(snapshots at every quarter end, the churn model and its backtest, KPIs against the
previous quarter, repeat rates, the action list) and the page and its action list are
written. Prints the wall time, the largest process's peak memory and what was written.
Target (issue 23): at most 180 s on this machine with DuckDB; ``--engine spark`` gives the
same on Spark in local mode.
Run: .venv/bin/python benchmarks/quarterly_at_scale.py [--clients N] [--complaints N] [--history SAVED_FOLDER] [--engine spark]
"""

import argparse
import multiprocessing
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spark_driver import _write


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--complaints", type=int, default=10_000_000)
    parser.add_argument("--history", help="a saved history to use instead of writing one")
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    args = parser.parse_args()
    command = Path(sys.executable).with_name("client-health")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.history or str(Path(scratch) / "history")
        if not args.history:
            writer = multiprocessing.get_context("spawn").Process(target=_write, args=(folder, args.clients, args.complaints))
            writer.start()
            writer.join()
        out = Path(scratch) / "reports"
        began = time.perf_counter()
        done = subprocess.run([str(command), "report", "quarterly", "--source", folder, "--engine", args.engine, "--out", str(out)],
                              capture_output=True, text=True)
        took = time.perf_counter() - began
        if done.returncode:
            sys.exit(done.stderr[-3000:])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        written = ", ".join(f"{path.name} {path.stat().st_size / 2**20:.1f} MB" for path in sorted(out.iterdir()))
        shutil.rmtree(out)
    target = " (target <= 180 s: " + ("met" if took <= 180 else "NOT met") + ")" if args.engine == "duckdb" else ""
    print(f"client-health report quarterly on {args.engine}: {took:.1f} s{target}; largest process's peak memory {peak:.2f} GB; wrote {written}")


if __name__ == "__main__":
    main()
