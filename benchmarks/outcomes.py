"""The outcomes practices are judged on (``complaint_outcomes``, what ``practice_effects``
fits), for every complaint of a large saved history: 200,000 simulated clients, ~1.2 million
complaints with their practices, replies and contacts.

Side by side, each in a fresh process on the same Parquet files, in rounds (this machine's
speed drifts from minute to minute):
- baseline: the history read into memory (``History.read``), then its outcomes, the way
  the outcomes were found before they could be found from the folder;
- ours: the outcomes from the folder, the engine reading only the columns they need
  (DuckDB; ``--spark`` adds Spark in local mode).
Prints each run's time and peak memory, each round's ratios and their medians, and checks
that every run gives the same rows.
Run: .venv/bin/python benchmarks/outcomes.py [--clients N] [--history SAVED_FOLDER] [--rounds N] [--spark]
"""

import argparse
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

from snapshots import _peak_gb, given_or_simulated

OUTCOMES = ["repeat", "dispute", "csat", "churn", "hostility"]


def _in_memory(folder, engine, scratch, out):
    from analytics.io import History
    from analytics.rootcause import complaint_outcomes

    began = time.perf_counter()
    frame, _ = complaint_outcomes(History.read(folder), OUTCOMES)
    seconds, peak = time.perf_counter() - began, _peak_gb()
    frame.to_parquet(Path(scratch) / "in_memory.parquet")  # for the comparison, after the clock stops
    out.put(("history read into memory, then its outcomes", seconds, len(frame), peak))


def _from_folder(folder, engine, scratch, out):
    from analytics.rootcause import complaint_outcomes

    began = time.perf_counter()
    frame, _ = complaint_outcomes(folder, OUTCOMES, engine=engine)
    seconds, peak = time.perf_counter() - began, _peak_gb()
    frame.to_parquet(Path(scratch) / f"{engine or 'duckdb'}.parquet")
    out.put((f"outcomes from the folder on {engine or 'duckdb'}", seconds, len(frame), peak))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--history", help="a saved history to use instead of simulating one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spark", action="store_true", help="also from the folder on Spark in local mode (its JVM's memory is not counted)")
    args = parser.parse_args()
    import pandas as pd

    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as scratch:
        folder = given_or_simulated(args.history, args.clients, scratch, context)
        runs = [(_in_memory, None), (_from_folder, None)] + [(_from_folder, "spark")] * args.spark
        ratios = [[] for _ in runs[1:]]
        for round_ in range(1, args.rounds + 1):
            seconds = []
            for target, engine in runs:
                queue = context.Queue()
                process = context.Process(target=target, args=(folder, engine, scratch, queue))
                process.start()
                name, took, rows, peak = queue.get(timeout=3600)
                process.join()
                seconds.append(took)
                print(f"round {round_}, {name}: {took:.1f} s, {rows:,} rows, peak memory {peak:.2f} GB", flush=True)
            for kept, took in zip(ratios, seconds[1:], strict=True):
                kept.append(took / seconds[0])
            print(f"round {round_} ratios to the baseline: " + ", ".join(f"{r[-1]:.2f}" for r in ratios), flush=True)
        print("median ratios: " + ", ".join(f"{statistics.median(r):.2f}" for r in ratios))
        baseline = pd.read_parquet(Path(scratch) / "in_memory.parquet")
        for engine in ["duckdb"] + ["spark"] * args.spark:
            pd.testing.assert_frame_equal(pd.read_parquet(Path(scratch) / f"{engine}.parquet"), baseline)
        print("every run gave the same rows")


if __name__ == "__main__":
    main()
