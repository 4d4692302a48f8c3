"""Point-in-time snapshots: what was known about each client at each cutoff, and what followed.

Written once as Ibis expressions; DuckDB runs them in-process by default and Spark runs
the same expressions when the data outgrows one machine.
"""

from __future__ import annotations

import ibis
import pandas as pd

from analytics._time import utc
from analytics.features._engine import connect
from analytics.io import History
from analytics.schemas import PRACTICES
from analytics.taxonomy import Trigger

WINDOWS = (30, 90, 365)
LONGEST = max(WINDOWS)
REPEAT_DAYS = 90  # a complaint repeats its trigger if the client raised it within this many days before
TRIGGERS = [t.value for t in Trigger]
#: complaint columns the snapshots read, with the type they are read as
COMPLAINT_COLUMNS = {
    "client_id": "string",
    "opened_at": "timestamp('UTC')",
    "first_response_at": "timestamp('UTC')",
    "resolved_at": "timestamp('UTC')",
    "trigger": "string",
    "severity": "int64",
    "reopen_count": "int64",
    "escalated": "boolean",
    "sla_met": "boolean",
    "disputed": "boolean",
    "csat": "int64",
    "handling_minutes": "float64",
    "credit_amount": "float64",
    **{p: "boolean" for p in PRACTICES},
}
#: client columns that are outcomes, not attributes: never passed to the features
OUTCOME_COLUMNS = ("status", "ended_at", "end_reason", "contract_end", "name")


def resolve_cutoffs(history: History, cutoffs) -> list[pd.Timestamp]:
    """A list of dates, or a pandas frequency ("QE", "ME") over the history's span."""
    if isinstance(cutoffs, str):
        span = history.span
        if span is None:
            raise ValueError("the history has no complaints, so a frequency gives no cutoffs; pass dates")
        first, last = span
        dates = pd.date_range(first.normalize(), last, freq=cutoffs, tz="UTC")
        return [d + pd.Timedelta(days=1) if d.hour == 0 else d for d in dates]  # a period's end is inclusive
    return sorted(utc(c) for c in cutoffs)


def data_end(history: History) -> pd.Timestamp:
    """The last moment the history has seen anything happen."""
    moments = [history.complaints[c].max() for c in ("opened_at", "first_response_at", "resolved_at", "closed_at") if c in history.complaints]
    moments += [history.interactions["at"].max(), history.clients["ended_at"].max()]
    return max(utc(m) for m in moments if pd.notna(m))


def snapshots(history: History, cutoffs="QE", horizon="90D", engine=None) -> pd.DataFrame:
    """One row per client active at each cutoff: features known strictly before the cutoff,
    labels from the ``horizon`` after it.

    Parameters
    ----------
    history : History
    cutoffs : list of dates, or a frequency such as ``"QE"`` (quarter ends) or ``"ME"``
        A frequency gives the first moment after each period over the history's span.
    horizon : str
        How far the labels look ahead.
    engine : None, "duckdb", "spark", a SparkSession or an Ibis backend

    Returns
    -------
    DataFrame
        ``client_id``, ``cutoff``; per window of 30, 90 and 365 days: complaint counts
        (total, per trigger, per severity), repeats, medians and 90th percentiles of time to
        first response and to resolution, reopen / escalation / SLA-breach / dispute rates,
        CSAT, the share of complaints handled with each practice, angry and abusive
        contacts, handling minutes and credits; complaints still open, days since the last
        complaint, the 90-day trend, latest CSAT; tenure, annual value, days to the next
        renewal, notice days and every other client attribute; labels ``churned``,
        ``ended_by_us`` and ``censored`` (the horizon runs past the end of the data).

    Notes
    -----
    Only what happened strictly before the cutoff enters the features. Everything recorded
    at resolution (resolution, CSAT, dispute, reopens, escalation, SLA, handling minutes,
    credits, practices) counts only for complaints resolved before the cutoff (an export
    with no resolution times at all, such as the CFPB's, counts it from the opening).
    Features of columns the history does not record are left out. Statistics
    reach back at most 365 days: "days since the last complaint" is empty for a client with
    no complaint in that year.

    Examples
    --------
    >>> from analytics.io import load_history
    >>> rows = snapshots(load_history("data/sample"), ["2024-07-01", "2025-01-01"])
    >>> bool(rows["complaints_90"].sum() > 0 and not rows["censored"].any())
    True
    """
    dates = resolve_cutoffs(history, cutoffs)
    horizon = pd.Timedelta(horizon)
    con = connect(engine)
    cut = ibis.memtable(pd.DataFrame({"k": range(len(dates)), "cutoff": pd.array(dates, dtype="datetime64[us, UTC]")}))
    complaints = _complaints_table(history)
    interactions = ibis.memtable(
        history.interactions[["client_id", "at", "tone"]].astype({"client_id": "string", "tone": "string"}),
    ).cast({"client_id": "string", "at": "timestamp('UTC')", "tone": "string"})
    features = _complaint_features(complaints, cut, timed=history.has("resolved_at"))
    contacts = _contact_features(interactions, cut)
    grid = _client_grid(history, cut, horizon, data_end(history))
    rows = grid.left_join(features, ["client_id", "k"]).drop("client_id_right", "k_right")
    rows = rows.left_join(contacts, ["client_id", "k"]).drop("client_id_right", "k_right")
    counts = [c for c in rows.columns if c.startswith(("complaints_", "repeats_", "open_complaints", "angry_", "abusive_", "trend_"))]
    rows = rows.mutate(**{c: rows[c].fill_null(0).cast("int64") for c in counts})
    result = con.to_pandas(rows.drop("k").order_by(["cutoff", "client_id"]))
    return _tidy(result, history)


def _complaints_table(history: History):
    frame = history.complaints.reindex(columns=list(COMPLAINT_COLUMNS))  # absent columns come as nulls
    table = ibis.memtable(frame).cast(COMPLAINT_COLUMNS)
    # a repeat: the same client raised the same trigger within REPEAT_DAYS before (openings only)
    earlier = ibis.window(group_by=[table.client_id, table.trigger], order_by=table.opened_at)
    previous = table.opened_at.lag().over(earlier)
    return table.mutate(
        is_repeat=table.trigger.notnull() & (previous >= table.opened_at - ibis.interval(days=REPEAT_DAYS)).fill_null(False)
    )


# Numbers are cast to float64 before arithmetic: Spark reads 1.0 and 3600.0 as decimals
# and would round the results.
def _hours(later, earlier):
    return (later.epoch_seconds() - earlier.epoch_seconds()).cast("float64") / 3600


def _share(flag, where):
    """Mean of a nullable boolean over the rows in ``where`` that recorded it."""
    return ibis.ifelse(flag, 1, 0).cast("float64").mean(where=where & flag.notnull())


def _complaint_features(complaints, cut, timed: bool):
    """``timed``: the history records when complaints were resolved. Without that, what an
    export records about a complaint is taken as known once it was opened."""
    j = complaints.join(
        cut,
        [complaints.opened_at < cut.cutoff, complaints.opened_at >= cut.cutoff - ibis.interval(days=LONGEST)],
    )
    known = j.resolved_at.notnull() & (j.resolved_at < j.cutoff) if timed else j.opened_at.notnull()
    responded = j.first_response_at.notnull() & (j.first_response_at < j.cutoff)
    metrics = {
        "open_complaints": (~known).sum(),
        "last_complaint_at": j.opened_at.max(),
        "csat_latest": j.csat.argmax(j.resolved_at, where=known & j.csat.notnull()),
        "trend_90": (j.opened_at >= j.cutoff - ibis.interval(days=90)).sum()
        - ((j.opened_at >= j.cutoff - ibis.interval(days=180)) & (j.opened_at < j.cutoff - ibis.interval(days=90))).sum(),
    }
    response_hours = _hours(j.first_response_at, j.opened_at)
    resolution_hours = _hours(j.resolved_at, j.opened_at)
    for days in WINDOWS:
        inside = j.opened_at >= j.cutoff - ibis.interval(days=days)
        done = inside & known
        metrics[f"complaints_{days}"] = inside.sum()
        metrics[f"repeats_{days}"] = (inside & j.is_repeat).sum()
        for trigger in TRIGGERS:
            metrics[f"complaints_{days}_{trigger}"] = (inside & (j.trigger == trigger)).sum()
        for severity in (1, 2, 3, 4):
            metrics[f"complaints_{days}_severity_{severity}"] = (inside & (j.severity == severity)).sum()
        metrics[f"first_response_hours_median_{days}"] = response_hours.quantile(0.5, where=inside & responded)
        metrics[f"first_response_hours_p90_{days}"] = response_hours.quantile(0.9, where=inside & responded)
        metrics[f"resolution_hours_median_{days}"] = resolution_hours.quantile(0.5, where=done)
        metrics[f"resolution_hours_p90_{days}"] = resolution_hours.quantile(0.9, where=done)
        metrics[f"reopen_rate_{days}"] = _share(j.reopen_count > 0, done)
        metrics[f"escalation_rate_{days}"] = _share(j.escalated, done)
        # not _share(~sla_met): Ibis writes NOT (x) IS NOT NULL for DuckDB, which binds wrongly
        metrics[f"sla_breach_rate_{days}"] = 1 - _share(j.sla_met, done)
        metrics[f"dispute_rate_{days}"] = _share(j.disputed, done)
        metrics[f"csat_mean_{days}"] = j.csat.cast("float64").mean(where=done)
        metrics[f"handling_minutes_{days}"] = j.handling_minutes.sum(where=done)
        metrics[f"credits_{days}"] = j.credit_amount.sum(where=done)
        for practice in PRACTICES:
            metrics[f"{practice}_share_{days}"] = _share(j[practice], done)
    return j.group_by(["client_id", "k"]).aggregate(**metrics)


def _contact_features(interactions, cut):
    j = interactions.join(
        cut, [interactions.at < cut.cutoff, interactions.at >= cut.cutoff - ibis.interval(days=LONGEST)]
    )
    metrics = {}
    for days in WINDOWS:
        inside = j.at >= j.cutoff - ibis.interval(days=days)
        metrics[f"angry_contacts_{days}"] = (inside & (j.tone == "angry")).sum()
        metrics[f"abusive_contacts_{days}"] = (inside & (j.tone == "abusive")).sum()
    return j.group_by(["client_id", "k"]).aggregate(**metrics)


def _client_grid(history: History, cut, horizon: pd.Timedelta, end: pd.Timestamp):
    """Every client active at each cutoff, with its attributes and the labels."""
    frame = history.clients.drop(columns=["name"], errors="ignore").copy()
    frame["client_id"] = frame["client_id"].astype("string")
    clients = ibis.memtable(frame).cast({"contract_start": "timestamp('UTC')", "ended_at": "timestamp('UTC')", "status": "string"})
    grid = clients.cross_join(cut)
    started = grid.contract_start.isnull() | (grid.contract_start < grid.cutoff)
    still_there = grid.ended_at.isnull() | (grid.ended_at >= grid.cutoff)
    grid = grid.filter(started & still_there)
    within = grid.ended_at.notnull() & (grid.ended_at < grid.cutoff + ibis.interval(seconds=int(horizon.total_seconds())))
    days_in = ((grid.cutoff.epoch_seconds() - grid.contract_start.epoch_seconds()) / 86400).floor()
    grid = grid.mutate(
        churned=within & (grid.status == "churned"),
        ended_by_us=within & (grid.status == "ended_by_us"),
        censored=ibis.literal(end) < grid.cutoff + ibis.interval(seconds=int(horizon.total_seconds())),
        tenure_days=days_in,
        days_to_renewal=365 - days_in % 365,
    )
    return grid.drop(*[c for c in OUTCOME_COLUMNS if c in grid.columns])


#: feature name prefix -> the column it is computed from (features of unrecorded columns are dropped)
SOURCES = {
    "first_response_hours": ("complaints", "first_response_at"),
    "resolution_hours": ("complaints", "resolved_at"),
    "open_complaints": ("complaints", "resolved_at"),
    "reopen_rate": ("complaints", "reopen_count"),
    "escalation_rate": ("complaints", "escalated"),
    "sla_breach_rate": ("complaints", "sla_met"),
    "dispute_rate": ("complaints", "disputed"),
    "csat": ("complaints", "csat"),
    "handling_minutes": ("complaints", "handling_minutes"),
    "credits": ("complaints", "credit_amount"),
    "repeats": ("complaints", "trigger"),
    "angry_contacts": ("interactions", "tone"),
    "abusive_contacts": ("interactions", "tone"),
    **{f"{p}_share": ("complaints", p) for p in PRACTICES},
    **{f"complaints_{d}_{t}": ("complaints", "trigger") for d in WINDOWS for t in TRIGGERS},
    **{f"complaints_{d}_severity": ("complaints", "severity") for d in WINDOWS},
}
SUMS = ("handling_minutes_", "credits_")


def _tidy(result: pd.DataFrame, history: History) -> pd.DataFrame:
    unrecorded = [
        column for column in result.columns
        for prefix, (table, source) in SOURCES.items()
        if column.startswith(prefix) and not history.has(source, table=table)
    ]
    result = result.drop(columns=unrecorded)
    unrecorded = [c for c in history.clients.columns if c in result.columns and not history.has(c, table="clients")]
    if not history.has("contract_start", table="clients"):
        unrecorded += ["tenure_days", "days_to_renewal"]
    result = result.drop(columns=unrecorded)
    sums = [c for c in result.columns if c.startswith(SUMS)]
    result[sums] = result[sums].fillna(0.0)  # no complaint resolved in the window costs nothing
    result["cutoff"] = pd.to_datetime(result["cutoff"], utc=True)
    result["days_since_last_complaint"] = (result["cutoff"] - pd.to_datetime(result.pop("last_complaint_at"), utc=True)).dt.total_seconds() / 86400
    if {"days_to_renewal", "notice_days"} <= set(result.columns):
        result["in_notice_window"] = result["days_to_renewal"] <= result["notice_days"]
    for label in ("churned", "ended_by_us", "censored"):
        result[label] = result[label].astype(bool)
    first = ["client_id", "cutoff"]
    labels = ["churned", "ended_by_us", "censored"]
    return result[first + [c for c in result.columns if c not in first + labels] + labels].reset_index(drop=True)
