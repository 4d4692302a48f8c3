"""Loading 10 million complaints from Parquet into a validated History, and folding event
logs into tickets: a helpdesk log (one row per status change) and a ServiceNow incident
audit export (one row per update, day-first dates, '?' for empty).

Reports the ratio of ``load_history`` to a bare ``pandas.read_parquet`` (``pandas.read_csv``
for the event log) of the same file, both run in this process, alternating, best of three
each, and of ``load_history(engine="duckdb")`` to ``load_history``. Targets: <= 2.0 for
Parquet, <= 3.0 for the event log, <= 1.0 for the check in DuckDB.
Run: .venv/bin/python benchmarks/load.py [--rows N] [--tickets N] [--incidents N]
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.io import load_history
from analytics.sample import simulate


def make_file(folder: Path, rows: int) -> Path:
    """A complaints export of at least ``rows`` rows, from the simulator, repeated if needed."""
    history, _ = simulate(n_clients=max(1_000, rows // 44), start="2021-01-01", end="2026-01-01", random_state=0)
    complaints = history.complaints
    path = folder / "complaints.parquet"
    table = pa.Table.from_pandas(complaints, preserve_index=False)
    pq.write_table(table.slice(0, rows), path)
    return path


def make_event_log(folder: Path, tickets: int) -> Path:
    """A helpdesk export of ``tickets`` tickets, 3 to 8 status changes each, in the layout of
    the shipped ``helpdesk_events`` profile."""
    rng = np.random.default_rng(0)
    changes = rng.integers(3, 9, tickets)
    ticket = np.repeat(np.arange(tickets), changes)
    step = rng.integers(5, 3000, len(ticket))
    first = np.cumsum(changes) - changes
    minutes = np.repeat(rng.integers(0, 365 * 24 * 60, tickets), changes) + np.cumsum(step) - np.repeat(np.cumsum(step)[first] - step[first], changes)
    position = np.arange(len(ticket)) - np.repeat(first, changes)
    statuses = np.array(["open", "pending", "solved", "closed"])
    path = folder / "ticket_events.csv"
    pd.DataFrame({
        "Ticket ID": pd.Series(ticket).map("T{}".format), "Organization": pd.Series(ticket % 900).map("Org {}".format),
        "Event Time": (pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, unit="min")).strftime("%Y-%m-%d %H:%M:%S"),
        "Status": np.where(position == 0, "new", statuses[rng.integers(0, 4, len(ticket))]),
        "Via": np.array(["Web form", "Mail", "Voice", "Chat"])[ticket % 4], "Ticket Type": np.array(["Incident", "Question", "Problem"])[ticket % 3],
        "Priority": np.array(["low", "normal", "high", "urgent"])[rng.integers(0, 4, len(ticket))],
        "Group": np.array(["Tier 1", "Tier 2", "Billing"])[rng.integers(0, 3, len(ticket))],
        "Assignee": pd.Series(rng.integers(0, 60, len(ticket))).map("agent {}".format),
        "Reason": np.array(["outage", "invoice", "late delivery", "no reply"])[ticket % 4],
    }).to_csv(path, index=False)
    return path


def make_servicenow_log(folder: Path, incidents: int) -> Path:
    """A ServiceNow incident audit export of ``incidents`` incidents, 2 to 10 updates each, in
    the layout of the shipped ``servicenow_incident_events`` profile: '?' for empty, dates
    day first without leading zeros, to the minute, and the export's own opening and
    resolution times repeated on every update."""
    rng = np.random.default_rng(1)
    updates = rng.integers(2, 11, incidents)
    incident = np.repeat(np.arange(incidents), updates)
    first = np.cumsum(updates) - updates
    position = np.arange(len(incident)) - np.repeat(first, updates)
    opened = pd.Timestamp("2016-02-29") + pd.to_timedelta(np.repeat(rng.integers(0, 120 * 24 * 60, incidents), updates), unit="min")
    elapsed = np.cumsum(rng.integers(5, 300, len(incident)))
    at = opened + pd.to_timedelta(elapsed - np.repeat(elapsed[first], updates), unit="min")
    last = position == np.repeat(updates - 1, updates)
    state = np.where(position == 0, "New", np.where(last, "Closed", np.array(["Active", "Awaiting User Info", "Resolved"])[rng.integers(0, 3, len(incident))]))
    resolved_at = pd.Series(at).where(state == "Resolved").groupby(incident).transform("max")
    closed_at = pd.Series(at).where(last).groupby(incident).transform("max")

    def day_first(times) -> pd.Series:
        times = pd.to_datetime(pd.Series(times))
        return times.dt.strftime("%-d/%-m/%Y %H:%M").where(times.notna(), "?")

    path = folder / "incident_event_log.csv"
    pd.DataFrame({
        "number": pd.Series(incident).map("INC{:07d}".format), "incident_state": state,
        "active": np.where(last, "false", "true"), "reassignment_count": rng.integers(0, 3, len(incident)),
        "reopen_count": 0, "sys_mod_count": position, "made_sla": np.where(rng.random(len(incident)) < 0.9, "true", "false"),
        "caller_id": pd.Series(np.repeat(rng.integers(0, 5000, incidents), updates)).map("Caller {}".format),
        "opened_by": pd.Series(rng.integers(0, 200, len(incident))).map("Opened by {}".format),
        "opened_at": day_first(opened), "sys_updated_at": day_first(at),
        "contact_type": np.array(["Phone", "Email", "Self service", "IVR"])[incident % 4],
        "location": pd.Series(rng.integers(0, 200, len(incident))).map("Location {}".format),
        "category": pd.Series(np.repeat(rng.integers(0, 60, incidents), updates)).map("Category {}".format),
        "priority": np.array(["1 - Critical", "2 - High", "3 - Moderate", "4 - Low"])[np.repeat(rng.integers(0, 4, incidents), updates)],
        "assignment_group": pd.Series(rng.integers(0, 80, len(incident))).map("Group {}".format),
        "assigned_to": np.where(position == 0, "?", pd.Series(rng.integers(0, 230, len(incident))).map("Resolver {}".format)),
        "knowledge": "false", "resolved_at": day_first(resolved_at), "closed_at": day_first(closed_at),
    }).to_csv(path, index=False)
    return path


def best_of(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times)


def side_by_side(bare, load, repeats: int = 3) -> tuple[float, float]:
    """Best times of ``bare`` and ``load``, run alternately so both see the same machine noise."""
    load()  # imports and caches warm
    bare_times, load_times = [], []
    for _ in range(repeats):
        bare_times.append(best_of(bare, 1))
        load_times.append(best_of(load, 1))
    return min(bare_times), min(load_times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--tickets", type=int, default=25_000)
    parser.add_argument("--incidents", type=int, default=24_918)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = make_file(Path(folder), args.rows)
        rows = pq.ParquetFile(path).metadata.num_rows
        read, load = side_by_side(lambda: pd.read_parquet(path), lambda: load_history(path))
        history = load_history(path)
        assert history.report.rows_read == rows == len(history.complaints) + history.report.rows_quarantined
        print(f"{rows:,} complaint rows: pandas.read_parquet {read:.2f} s, load_history {load:.2f} s, ratio {load / read:.2f} (target <= 2.0)")
        loaded, in_engine = side_by_side(lambda: load_history(path), lambda: load_history(path, engine="duckdb"))
        assert load_history(path, engine="duckdb").complaints.equals(history.complaints)
        print(f"  checked in DuckDB: {in_engine:.2f} s against {loaded:.2f} s, ratio {in_engine / loaded:.2f} (target <= 1.0)")

        fold_ratio(make_event_log(Path(folder), args.tickets), "helpdesk_events", "events", "tickets")
        fold_ratio(make_servicenow_log(Path(folder), args.incidents), "servicenow_incident_events", "ServiceNow incident updates", "incidents")


def fold_ratio(log: Path, profile: str, rows: str, folded: str) -> None:
    """Print how long loading an event log takes against a bare ``pandas.read_csv`` of it."""
    read, load = side_by_side(lambda: pd.read_csv(log), lambda: load_history(log, profile, now="2030-01-01"))
    history = load_history(log, profile, now="2030-01-01")
    assert history.report.rows_read == len(pd.read_csv(log))
    print(f"{history.report.rows_read:,} {rows} into {len(history.complaints):,} {folded}: pandas.read_csv {read:.2f} s, "
          f"load_history {load:.2f} s, ratio {load / read:.2f} (target <= 3.0)")

if __name__ == "__main__":
    main()
