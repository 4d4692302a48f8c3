"""Snapshots of a large business: 200,000 clients, ~10 million complaints, 11 quarterly cutoffs.

Runs our ``snapshots`` and a hand-written DuckDB range-join query of 16 of the same
features, each in a fresh process on the same Parquet files, and prints both times,
their ratio and each process's peak memory. Target (issue 4): ratio <= 0.5, peak <= 1.5 GB.
Run: .venv/bin/python benchmarks/snapshots.py [--clients N] [--history SAVED_FOLDER]
"""

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

BASELINE = """
WITH cut AS (SELECT unnest($cutoffs::TIMESTAMPTZ[]) AS cutoff)
SELECT c.client_id, cut.cutoff,
  count(*) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 30 DAY) AS complaints_30,
  count(*) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY) AS complaints_90,
  count(*) AS complaints_365,
  count(*) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.severity = 1) AS sev1_90,
  count(*) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.severity = 2) AS sev2_90,
  count(*) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.severity = 3) AS sev3_90,
  count(*) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.severity = 4) AS sev4_90,
  count(*) FILTER (WHERE c.resolved_at IS NULL OR c.resolved_at >= cut.cutoff) AS open_complaints,
  median(epoch(c.resolved_at - c.opened_at) / 3600) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff) AS resolution_median_90,
  quantile_cont(epoch(c.resolved_at - c.opened_at) / 3600, 0.9) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff) AS resolution_p90_90,
  avg(c.disputed::DOUBLE) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff) AS dispute_rate_90,
  avg(c.csat) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff) AS csat_90,
  avg((NOT c.sla_met)::DOUBLE) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff) AS sla_breach_90,
  avg((c.reopen_count > 0)::DOUBLE) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff) AS reopen_90,
  avg(c.escalated::DOUBLE) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff) AS escalation_90,
  sum(c.handling_minutes) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff) AS minutes_90
FROM read_parquet($path) AS c JOIN cut ON c.opened_at < cut.cutoff AND c.opened_at >= cut.cutoff - INTERVAL 365 DAY
GROUP BY ALL
"""


def _peak_gb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 2**20


def _baseline(folder, cutoffs, out):
    import duckdb

    began = time.perf_counter()
    params = {"cutoffs": list(cutoffs), "path": str(Path(folder) / "complaints.parquet")}
    rows = duckdb.connect().sql(BASELINE, params=params).to_arrow_table()
    out.put(("baseline", time.perf_counter() - began, rows.num_rows, _peak_gb()))


def _ours(folder, cutoffs, out):
    from analytics.features import snapshots

    began = time.perf_counter()
    rows = snapshots(folder, list(cutoffs))  # the engine reads the saved history, as the baseline does
    out.put(("snapshots", time.perf_counter() - began, len(rows), _peak_gb()))


def _simulated(clients: int, folder: str) -> None:
    from analytics.sample import simulate

    history, _ = simulate(clients, "2021-01-01", "2026-01-01", random_state=0)
    history.save(folder)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--history", help="a saved history to use instead of simulating one")
    args = parser.parse_args()
    import pandas as pd
    import pyarrow.parquet as pq

    cutoffs = list(pd.date_range("2023-01-01", periods=11, freq="QS", tz="UTC"))
    context = multiprocessing.get_context("spawn")  # each side starts from a fresh, small process
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.history or scratch
        if not args.history:
            process = context.Process(target=_simulated, args=(args.clients, folder))
            process.start()
            process.join()
        clients, complaints = (pq.read_metadata(Path(folder) / f"{t}.parquet").num_rows for t in ("clients", "complaints"))
        print(f"{clients:,} clients, {complaints:,} complaints, {len(cutoffs)} cutoffs")
        results = {}
        for target in (_baseline, _ours):
            queue = context.Queue()
            process = context.Process(target=target, args=(folder, cutoffs, queue))
            process.start()
            name, seconds, rows, peak = queue.get(timeout=3600)
            process.join()
            results[name] = seconds
            print(f"{name}: {seconds:.1f} s, {rows:,} rows, peak memory {peak:.2f} GB")
    print(f"ratio snapshots / hand-written range join: {results['snapshots'] / results['baseline']:.2f} (target <= 0.5)")


if __name__ == "__main__":
    main()
