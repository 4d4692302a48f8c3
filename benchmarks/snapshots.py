"""Snapshots of a large business: 200,000 clients, ~10 million complaints, 11 quarterly cutoffs.

Runs a hand-written DuckDB range-join query of 16 features, our ``snapshots`` of the same
16 features, and our ``snapshots`` of all features, each in a fresh process on the same
Parquet files, in rounds (the three side by side in each, as this machine's speed drifts
from minute to minute); prints each run's time and peak memory, each round's ratios and
their medians, and checks that the 16 features agree with the baseline's.
Targets (issue 23): the same 16 features <= 0.5x the baseline, all features <= 1.0x.
Run: .venv/bin/python benchmarks/snapshots.py [--clients N] [--history SAVED_FOLDER] [--rounds N]
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
  coalesce(sum(c.handling_minutes) FILTER (WHERE c.opened_at >= cut.cutoff - INTERVAL 90 DAY AND c.resolved_at < cut.cutoff), 0) AS minutes_90
FROM read_parquet($path) AS c JOIN cut ON c.opened_at < cut.cutoff AND c.opened_at >= cut.cutoff - INTERVAL 365 DAY
GROUP BY ALL
"""


def _peak_gb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 2**20


#: our names of the baseline's features
SAME_FEATURES = {
    "complaints_30": "complaints_30", "complaints_90": "complaints_90", "complaints_365": "complaints_365",
    **{f"sev{s}_90": f"complaints_90_severity_{s}" for s in (1, 2, 3, 4)},
    "open_complaints": "open_complaints",
    "resolution_median_90": "resolution_hours_median_90", "resolution_p90_90": "resolution_hours_p90_90",
    "dispute_rate_90": "dispute_rate_90", "csat_90": "csat_mean_90", "sla_breach_90": "sla_breach_rate_90",
    "reopen_90": "reopen_rate_90", "escalation_90": "escalation_rate_90", "minutes_90": "handling_minutes_90",
}


def _baseline(folder, cutoffs, features, scratch, out):
    import duckdb

    began = time.perf_counter()
    params = {"cutoffs": list(cutoffs), "path": str(Path(folder) / "complaints.parquet")}
    rows = duckdb.connect().sql(BASELINE, params=params).to_arrow_table()
    seconds, peak = time.perf_counter() - began, _peak_gb()
    rows.to_pandas().to_parquet(Path(scratch) / "baseline.parquet")  # for the comparison, after the clock stops
    out.put(("hand-written range join", seconds, len(rows), peak))


def _ours(folder, cutoffs, features, scratch, out):
    from analytics.features import snapshots

    began = time.perf_counter()
    rows = snapshots(folder, list(cutoffs), features=features)  # the engine reads the saved history, as the baseline does
    seconds, peak = time.perf_counter() - began, _peak_gb()
    if features is not None:
        rows.to_parquet(Path(scratch) / "ours.parquet")
    chosen = f"the same {len(features)} features" if features else "all features"
    out.put((f"snapshots, {chosen} ({len(rows.columns)} columns with attributes and labels)", seconds, len(rows), peak))


def _simulated(clients: int, folder: str) -> None:
    from analytics.sample import simulate

    history, _ = simulate(clients, "2021-01-01", "2026-01-01", random_state=0)
    history.save(folder)


def given_or_simulated(history: str | None, clients: int, scratch: str, context) -> str:
    """The saved history to run on: the one given, else ``clients`` simulated into ``scratch``
    by a process of their own."""
    if history:
        return history
    process = context.Process(target=_simulated, args=(clients, scratch))
    process.start()
    process.join()
    return scratch


def _same_values(scratch) -> str:
    """Our features against the baseline's, on the rows both have (the baseline has a row
    wherever a client had a complaint in the year; we have one for each active client)."""
    import numpy as np
    import pandas as pd

    ours = pd.read_parquet(Path(scratch) / "ours.parquet")
    baseline = pd.read_parquet(Path(scratch) / "baseline.parquet").rename(columns=SAME_FEATURES)
    both = ours.merge(baseline, on=["client_id", "cutoff"], suffixes=("", "_baseline"))
    differ = [
        name for name in SAME_FEATURES.values()
        if not np.allclose(both[name].to_numpy(float), both[f"{name}_baseline"].to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True)
    ]
    return f"{len(both):,} rows in both; features that differ: {differ or 'none'}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--history", help="a saved history to use instead of simulating one")
    parser.add_argument("--rounds", type=int, default=3, help="how many times the three run side by side")
    args = parser.parse_args()
    import statistics

    import pandas as pd
    import pyarrow.parquet as pq

    cutoffs = list(pd.date_range("2023-01-01", periods=11, freq="QS", tz="UTC"))
    context = multiprocessing.get_context("spawn")  # each run starts from a fresh, small process
    with tempfile.TemporaryDirectory() as scratch:
        folder = given_or_simulated(args.history, args.clients, scratch, context)
        clients, complaints = (pq.read_metadata(Path(folder) / f"{t}.parquet").num_rows for t in ("clients", "complaints"))
        print(f"{clients:,} clients, {complaints:,} complaints, {len(cutoffs)} cutoffs")
        same, every = [], []
        for round_ in range(1, args.rounds + 1):
            seconds = []
            for target, features in ((_baseline, None), (_ours, list(SAME_FEATURES.values())), (_ours, None)):
                queue = context.Queue()
                process = context.Process(target=target, args=(folder, cutoffs, features, scratch, queue))
                process.start()
                name, took, rows, peak = queue.get(timeout=3600)
                process.join()
                seconds.append(took)
                print(f"round {round_}, {name}: {took:.1f} s, {rows:,} rows, peak memory {peak:.2f} GB")
            same.append(seconds[1] / seconds[0])
            every.append(seconds[2] / seconds[0])
            print(f"round {round_} ratios: the same features {same[-1]:.2f}, all features {every[-1]:.2f}", flush=True)
        print(_same_values(scratch))
    print(f"ratio snapshots / hand-written range join, the same features: median {statistics.median(same):.2f} of {args.rounds} rounds (target <= 0.5)")
    print(f"ratio with all features: median {statistics.median(every):.2f} (target <= 1.0)")


if __name__ == "__main__":
    main()
