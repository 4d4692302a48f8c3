"""The quarterly review on 10 million complaints: 200,000 clients, a fifth of whom leave.

Writes a saved history with ``spark_driver.py``'s generator (unless ``--history`` names
one), then in a fresh process reads it and builds the quarterly review in memory, on
DuckDB: snapshots at every quarter end, the churn model and its backtest, KPIs against the
previous quarter, repeat rates and the action list. Prints the time of each and the
process's peak memory. Target (issue 23): at most 180 s on this machine.
Run: .venv/bin/python benchmarks/quarterly_at_scale.py [--clients N] [--complaints N] [--history SAVED_FOLDER]
"""

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

from spark_driver import _peak_gb, _write


def _review(folder: str, out) -> None:
    from analytics.io import History
    from analytics.quarterly import quarterly_review

    began = time.perf_counter()
    history = History.read(folder)
    read = time.perf_counter() - began
    review = quarterly_review(history)
    out.put((read, time.perf_counter() - began, len(review.clients), _peak_gb()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--complaints", type=int, default=10_000_000)
    parser.add_argument("--history", help="a saved history to use instead of writing one")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")  # the review starts from a fresh, small process
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.history or scratch
        if not args.history:
            writer = context.Process(target=_write, args=(folder, args.clients, args.complaints))
            writer.start()
            writer.join()
        queue = context.Queue()
        process = context.Process(target=_review, args=(folder, queue))
        process.start()
        read, total, active, peak = queue.get(timeout=3600)
        process.join()
    print(f"read the saved history: {read:.1f} s; quarterly review end to end: {total:.1f} s "
          f"(target <= 180 s: {'met' if total <= 180 else 'NOT met'}); {active:,} active clients; peak memory {peak:.2f} GB")


if __name__ == "__main__":
    main()
