"""The quarterly report (or the relationship review) on 10 million complaints: 200,000
clients, a fifth of whom leave.

Writes a saved history with ``spark_driver.py``'s generator (unless ``--history`` names
one), then runs the command a user runs, ``client-health report quarterly --source FOLDER``:
the saved history stays where it is (the engine reads its Parquet files; only the clients,
counts and the complaints of the clients the action list needs come to the kernel), the
notebook runs (snapshots at every quarter end, the churn model and its backtest, KPIs
against the previous quarter, repeat rates, the action list) and the page and its action
list are written. ``--as-export`` hides the folder's ``history.json``, so the command loads
and validates the files as an export into memory instead, as it did before a saved
history could stay where it is. Prints the wall time, the peak memory of the command and everything it started
(the kernel, Spark's JVM), sampled twice a second, and what was written.
Target (issue 23): the quarterly report in at most 180 s on this machine with DuckDB;
``--engine spark`` gives the same on Spark in local mode; ``--report review`` runs the
relationship review instead (``workshop``: the root-cause workshop; ``quality``: the data quality report); ``--out FOLDER`` keeps what was written there.
Run: .venv/bin/python benchmarks/quarterly_at_scale.py [--clients N] [--complaints N] [--history SAVED_FOLDER]
     [--engine spark] [--report review|workshop|quality] [--as-export] [--out FOLDER]
"""

import argparse
import contextlib
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from spark_driver import _write


def _run_sampling_memory(arguments: list[str], log: Path) -> tuple[int, float]:
    """Run ``arguments``, its output into ``log``; its exit code and the largest total
    resident memory of it and its descendants, in GB."""
    with log.open("w") as output:
        process = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT)
        watched, peak = psutil.Process(process.pid), 0
        while process.poll() is None:
            with contextlib.suppress(psutil.Error):  # a process ended while being read
                peak = max(peak, sum(p.memory_info().rss for p in [watched, *watched.children(recursive=True)]))
            time.sleep(0.5)
    return process.returncode, peak / 2**30


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--complaints", type=int, default=10_000_000)
    parser.add_argument("--history", help="a saved history to use instead of writing one")
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"])
    parser.add_argument("--report", default="quarterly", choices=["quarterly", "review", "workshop", "quality"])
    parser.add_argument("--out", help="a folder to keep the report in")
    parser.add_argument("--as-export", action="store_true", help="load the folder as an export (its history.json hidden)")
    args = parser.parse_args()
    command = Path(sys.executable).with_name("client-health")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.history or str(Path(scratch) / "history")
        if not args.history:
            writer = multiprocessing.get_context("spawn").Process(target=_write, args=(folder, args.clients, args.complaints))
            writer.start()
            writer.join()
        if args.as_export:  # the same files, without the note that makes them a saved history
            export = Path(scratch) / "export"
            export.mkdir()
            for part in Path(folder).glob("*.parquet"):
                (export / part.name).symlink_to(part.resolve())
            folder = str(export)
        out = Path(args.out or Path(scratch) / "reports")
        began = time.perf_counter()
        log = Path(scratch) / "command.log"
        code, peak = _run_sampling_memory([str(command), "report", args.report, "--source", folder, "--out", str(out),
                                           *(["--engine", args.engine] if args.engine != "duckdb" else [])], log)
        took = time.perf_counter() - began
        if code:
            sys.exit(log.read_text()[-3000:])
        written = ", ".join(f"{path.name} {path.stat().st_size / 2**20:.1f} MB" for path in sorted(out.iterdir()))
        if not args.out:
            shutil.rmtree(out)
    target = " (target <= 180 s: " + ("met" if took <= 180 else "NOT met") + ")" if (args.engine, args.report) == ("duckdb", "quarterly") else ""
    read = "loaded as an export" if args.as_export else "left where it is"
    print(f"client-health report {args.report} on {args.engine}, the history {read}: {took:.1f} s{target}; peak memory {peak:.2f} GB; wrote {written}")


if __name__ == "__main__":
    main()
