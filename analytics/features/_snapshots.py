"""Point-in-time snapshots: what was known about each client at each cutoff, and what followed.

Written once as Ibis expressions; DuckDB runs them in-process by default and Spark runs
the same expressions when the data outgrows one machine.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analytics._time import utc
from analytics.features._engine import connect, materialised
from analytics.io import History
from analytics.schemas import PRACTICES
from analytics.taxonomy import Trigger

WINDOWS = (30, 90, 365)
REPEAT_DAYS = 90  # a complaint repeats its trigger if the client raised it within this many days before
TRIGGERS = [t.value for t in Trigger]
SEVERITIES = (1, 2, 3, 4)
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
    "resolution": "string",
    **{p: "boolean" for p in PRACTICES},
}
CONTACT_COLUMNS = {"client_id": "string", "at": "timestamp('UTC')", "tone": "string"}
#: client columns that are outcomes, not attributes: never passed to the features
OUTCOME_COLUMNS = ("status", "ended_at", "end_reason", "contract_end", "name")


def resolve_cutoffs(history: History, cutoffs) -> list[pd.Timestamp]:
    """A list of dates, or a pandas frequency ("QE", "ME") over the history's span."""
    return _cutoff_dates(history.span, cutoffs)


def _cutoff_dates(span, cutoffs) -> list[pd.Timestamp]:
    if isinstance(cutoffs, str):
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


def snapshots(history: History | str | Path, cutoffs="QE", horizon="90D", engine=None) -> pd.DataFrame:
    """One row per client active at each cutoff: features known strictly before the cutoff,
    labels from the ``horizon`` after it.

    Parameters
    ----------
    history : History, or the folder a History was saved to
        A folder is read by the engine itself, so complaints never pass through pandas.
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
        contacts, handling minutes, credits and complaints closed unresolved; complaints
        still open (opened in the last 365 days), the severity load (every complaint's
        severity, its weight halving every 90 days), complaints to date and per year of
        tenure, days since the last complaint, the 90-day trend, latest CSAT; tenure,
        annual value, days to the next renewal, notice days, whether the client is in
        the notice period before renewal and how many days until it opens, and every
        other client attribute; labels ``churned``, ``ended_by_us`` and ``censored``
        (the horizon runs past the end of the data).

    Notes
    -----
    Only what happened strictly before the cutoff enters the features. Everything recorded
    at resolution (resolution, CSAT, dispute, reopens, escalation, SLA, handling minutes,
    credits, practices) counts only for complaints resolved before the cutoff (an export
    with no resolution times at all, such as the CFPB's, counts it from the opening).
    Features of columns the history does not record are left out.

    Each complaint is read once. The engine works out the cutoff where it enters a window
    (the first after its opening, or after its resolution for what was recorded then) and
    the cutoff where it leaves (the first more than the window after its opening); sums
    are then rolled forward over a clients x cutoffs array instead of recomputed for each
    cutoff. Only the medians and 90th percentiles join complaints to the cutoffs of their
    year. "Latest CSAT" and "days since the last complaint" look back without limit.

    Examples
    --------
    >>> from analytics.io import load_history
    >>> rows = snapshots(load_history("data/sample"), ["2024-07-01", "2025-01-01"])
    >>> bool(rows["complaints_90"].sum() > 0 and not rows["censored"].any())
    True
    """
    con = connect(engine)
    source = _Source(history, con)
    dates = _cutoff_dates(source.span, cutoffs)
    cut = ibis.memtable(pd.DataFrame({"k": range(len(dates)), "cutoff": pd.array(dates, dtype="datetime64[us, UTC]")}))
    codes = ibis.memtable(pd.DataFrame({"client_id": source.clients["client_id"].astype("string"), "code": np.arange(len(source.clients))}))
    grid = con.to_pandas(_client_grid(source.clients, cut, pd.Timedelta(horizon), source.end).order_by(["cutoff", "client_id"]))
    cells = _Cells(len(source.clients), len(dates), grid.pop("code").to_numpy(), grid.pop("k").to_numpy(), dates)
    indexed = _indexed(source.complaints.join(codes, "client_id"), dates, timed=source.has("resolved_at"))
    with materialised(con, indexed) as complaints:
        features = _complaint_features(_fetch(con, complaints, cells), cells)
        features |= _quantile_features(con, complaints, cut, cells)
    features |= _contact_features(con, source.interactions.join(codes, "client_id"), dates, cells)
    return _tidy(grid, features, source)


class _Source:
    """What the snapshots read: a History in memory, or a saved one that the engine reads itself."""

    def __init__(self, history: History | str | Path, con):
        if isinstance(history, History):
            self.clients = history.clients
            frame = history.complaints.reindex(columns=list(COMPLAINT_COLUMNS))  # absent columns come as nulls
            self.complaints = ibis.memtable(frame).cast(COMPLAINT_COLUMNS)
            self.interactions = ibis.memtable(
                history.interactions[["client_id", "at", "tone"]].astype({"client_id": "string", "tone": "string"}),
            ).cast(CONTACT_COLUMNS)
            self.has = history.has
            self.span = history.span
            self.end = data_end(history)
            return
        folder = Path(history)
        self.clients = pd.read_parquet(folder / "clients.parquet", dtype_backend="pyarrow")
        self._recorded = {t: _recorded_columns(folder / f"{t}.parquet") for t in ("complaints", "interactions")}
        self._recorded["clients"] = {c for c in self.clients.columns if self.clients[c].notna().any()}
        complaints = con.read_parquet(folder / "complaints.parquet")
        self.complaints = complaints.select(
            **{c: complaints[c].cast(kind) if c in complaints.columns else ibis.null(kind) for c, kind in COMPLAINT_COLUMNS.items()}
        )
        interactions = con.read_parquet(folder / "interactions.parquet")
        self.interactions = interactions.select(**{c: interactions[c].cast(kind) for c, kind in CONTACT_COLUMNS.items()})
        opened = self.complaints.opened_at
        first, last = con.execute(self.complaints.aggregate(first=opened.min(), last=opened.max())).iloc[0]
        self.span = None if pd.isna(first) else (utc(first), utc(last))
        moments = [con.execute(self.complaints[c].max()) for c in ("opened_at", "first_response_at", "resolved_at")]
        moments += [con.execute(self.interactions.at.max()), self.clients["ended_at"].max()]
        self.end = max(utc(m) for m in moments if pd.notna(m))

    def has(self, *columns: str, table: str = "complaints") -> bool:
        return all(c in self._recorded[table] for c in columns)


def _recorded_columns(path: Path) -> set[str]:
    """Columns of a Parquet file with at least one value, from its statistics."""
    metadata = pq.ParquetFile(path).metadata
    recorded = set()
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            stats = column.statistics
            if stats is None or not stats.has_null_count or stats.null_count < group.num_rows:
                recorded.add(column.path_in_schema)
    return recorded


def _index(seconds, dates: list[pd.Timestamp]):
    """How many cutoffs fall at or before a moment (in seconds since 1970): the first cutoff
    after it, as an index. Null stays null. Plain numbers, because timestamp arithmetic with
    time zones is several times slower in the engines."""
    total = ibis.literal(0, "int32")  # not int16: DuckDB 2.0 overflows products of int16 sums cast wider
    for date in dates:
        total = total + (seconds >= date.timestamp()).cast("int32")
    return total


def _indexed(complaints, dates: list[pd.Timestamp], timed: bool):
    """Complaints opened before the last cutoff, with the cutoff indexes that bound their windows.

    ``opened``: first cutoff after the opening; ``known``: first cutoff after the resolution
    (everything recorded at resolution counts from there; ``timed`` false means the export
    has no resolution times, so it counts from the opening); ``responded``: likewise for
    the first response; ``leaves_<days>``: first cutoff more than ``days`` after opening.
    Indexes past the last cutoff mean never.
    """
    last, day = len(dates), 86400
    # float64 before any arithmetic: Spark reads 1.0 and 3600.0 as decimals and would round
    seconds = {c: complaints[c].epoch_seconds().cast("float64") for c in ("opened_at", "resolved_at", "first_response_at")}
    complaints = complaints.filter(complaints.opened_at < dates[-1])  # on the timestamp: cheaper than on the index
    t = complaints.mutate(
        opened_seconds=seconds["opened_at"],
        resolved_seconds=seconds["resolved_at"],
        response_seconds=seconds["first_response_at"],
        trigger=ibis.cases(*[(complaints.trigger == name, i) for i, name in enumerate(TRIGGERS)], else_=ibis.null("int8")).cast("int8"),
    )
    t = t.mutate(opened=_index(t.opened_seconds, dates))
    # a repeat: the same client raised the same trigger within REPEAT_DAYS before (openings only)
    previous = t.opened_seconds.lag().over(ibis.window(group_by=[t.code, t.trigger], order_by=t.opened_seconds))
    is_repeat = t.trigger.notnull() & (previous >= t.opened_seconds - REPEAT_DAYS * day).fill_null(False)
    known = ibis.greatest(t.opened, _index(t.resolved_seconds, dates).fill_null(last)) if timed else t.opened
    # only what the features need, in small types: this table is materialised
    return t.select(
        "code", "opened", "trigger", "severity", "escalated", "sla_met", "disputed", "csat", "handling_minutes", "credit_amount", *PRACTICES,
        "opened_seconds",
        unresolved=t.resolution == "unresolved",
        is_repeat=is_repeat,
        reopened=t.reopen_count > 0,
        known=known,
        responded=ibis.greatest(t.opened, _index(t.response_seconds, dates).fill_null(last)),
        **{f"leaves_{days}": _index(t.opened_seconds + days * day, dates) for days in (*WINDOWS, 2 * 90)},
        known_seconds=t.resolved_seconds if timed else t.opened_seconds,
        first_response_hours=(t.response_seconds - t.opened_seconds) / 3600,
        resolution_hours=(t.resolved_seconds - t.opened_seconds) / 3600,
    )


def _flag(flag):
    return ibis.ifelse(flag, 1, 0).cast("int64")


class _Cells:
    """Sums per client and cutoff, rolled forward over the cutoffs.

    Each complaint adds its values at the cutoff index where it enters a window and takes
    them away at the index where it leaves; a window's sum at cutoff k is then a cumulative
    sum over a cutoffs x clients array. A cell is ``index * clients + client``; index
    ``cutoffs`` (past the last) collects "never".
    """

    def __init__(self, clients: int, cutoffs: int, code: np.ndarray, k: np.ndarray, dates: list[pd.Timestamp]):
        self.clients, self.cutoffs = clients, cutoffs
        self.rows = k * clients + code  # each output row's cell
        self.start = dates[0].timestamp()  # seconds: the origin of recency weights
        self.since_start = np.array([(d - dates[0]).total_seconds() / 86400 for d in dates])  # days, per cutoff

    def cell(self, code, index):
        """The cell of a client and a cutoff index, as an engine expression."""
        return ibis.least(index, self.cutoffs).cast("int64") * ibis.literal(self.clients, "int64") + code

    def sums(self, cell: np.ndarray, weights=None, bucket=None, buckets: int = 1) -> np.ndarray:
        """Sum of ``weights`` (or a count) per cell, and per ``bucket`` when given."""
        if bucket is not None:
            cell = cell * buckets + bucket
        total = np.bincount(cell, weights, minlength=(self.cutoffs + 1) * self.clients * buckets)
        return total.reshape(self.cutoffs + 1, -1)[: self.cutoffs]

    def window(self, entered: np.ndarray, left: np.ndarray | None = None) -> np.ndarray:
        """The window's sum at each output row (one column per bucket when bucketed):
        what entered at or before the cutoff minus what left; with no ``left``, everything so far."""
        rolled = entered - left if left is not None else entered.copy()
        for k in range(1, self.cutoffs):  # row by row: numpy's cumsum over the first axis is ten times slower
            rolled[k] += rolled[k - 1]
        rolled = rolled.reshape(self.cutoffs * self.clients, -1)[self.rows]
        return rolled[:, 0] if rolled.shape[1] == 1 else rolled

    def latest(self, cell: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The largest value that entered at or before each output row's cutoff (NaN if none)."""
        largest = np.full((self.cutoffs + 1) * self.clients, np.nan)
        np.fmax.at(largest, cell, values)
        return np.fmax.accumulate(largest.reshape(self.cutoffs + 1, -1)[: self.cutoffs], axis=0).ravel()[self.rows]


#: minutes and credits are summed in ten-thousandths: whole numbers add up exactly in any order,
#: so the result does not depend on the order an engine returns rows in
PARTS = 10_000
LOAD_HALF_LIFE = 90  # days
FLAGS = {"reopen": "reopened", "escalation": "escalated", "sla_met": "sla_met", "dispute": "disputed", **{p: p for p in PRACTICES}}


def _fetch(con, t, cells: _Cells) -> dict[str, np.ndarray]:
    """The indexed complaints as numpy arrays of cells and values, coded so that bincount can
    sum them: a flag as 0 null / 1 no / 2 yes, a trigger or severity as a bucket, nulls to sum as 0."""
    cell = {"opened": cells.cell(t.code, t.opened), "known": cells.cell(t.code, t.known)}
    cell |= {f"left_{days}": cells.cell(t.code, t[f"leaves_{days}"]) for days in (*WINDOWS, 180)}
    cell |= {f"left_known_{days}": cells.cell(t.code, ibis.greatest(t.known, t[f"leaves_{days}"])) for days in WINDOWS}
    values = {
        "opened_seconds": t.opened_seconds,
        "rated_seconds": ibis.ifelse(t.csat.notnull(), t.known_seconds, ibis.null("float64")),
        "csat": t.csat.fill_null(0).cast("float64"),
        "csat_of": _flag(t.csat.notnull()).cast("float64"),
        "is_repeat": _flag(t.is_repeat).cast("float64"),
        "trigger": t.trigger.fill_null(len(TRIGGERS)).cast("int64"),
        "severity": t.severity.fill_null(0).cast("int64"),
        "handling_minutes": (t.handling_minutes.fill_null(0.0) * PARTS).round().cast("float64"),
        "credit_amount": (t.credit_amount.fill_null(0.0) * PARTS).round().cast("float64"),
        "unresolved": _flag(t.unresolved.fill_null(False)).cast("float64"),
        # severity weighted by recency: halves every LOAD_HALF_LIFE days from the first cutoff on
        "severity_weight": t.severity.fill_null(0).cast("float64") * (2 ** ((t.opened_seconds - cells.start) / (LOAD_HALF_LIFE * 86400))),
        **{column: ibis.cases((t[column].isnull(), 0), (t[column], 2), else_=1).cast("int64") for column in FLAGS.values()},
    }
    table = con.to_pyarrow(t.select(**cell, **values))
    return {name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names}


def _complaint_features(c: dict[str, np.ndarray], cells: _Cells) -> dict[str, np.ndarray]:
    """Every feature that is a sum, a rate, a mean or a latest value, from the fetched complaints."""
    left = {days: c[f"left_{days}"] for days in WINDOWS}
    left_known = {days: c[f"left_known_{days}"] for days in WINDOWS}

    def per_window(entered, leaving, **how) -> dict[int, np.ndarray]:
        start = cells.sums(entered, **how)
        return {days: cells.window(start, cells.sums(leaving[days], **how)) for days in WINDOWS}

    opened, known = c["opened"], c["known"]
    features = {
        "last_complaint_epoch": cells.latest(opened, c["opened_seconds"]),
        "csat_latest": cells.latest(known, c["rated_seconds"] * 1000 + c["csat"]) % 1000,  # seconds * 1000 + score: the latest score
    }
    counts = per_window(opened, left)
    known_counts = per_window(known, left_known)
    features["open_complaints"] = counts[365] - known_counts[365]
    opened_counts = cells.sums(opened)
    features["trend_90"] = 2 * counts[90] - cells.window(opened_counts, cells.sums(c["left_180"]))
    features["complaints_to_date"] = cells.window(opened_counts)
    repeats = per_window(opened, left, weights=c["is_repeat"])
    triggers = per_window(opened, left, bucket=c["trigger"], buckets=len(TRIGGERS) + 1)  # the last bucket: no trigger
    severities = per_window(opened, left, bucket=c["severity"], buckets=len(SEVERITIES) + 1)  # 0: none
    flags = {name: per_window(known, left_known, bucket=c[column], buckets=3) for name, column in FLAGS.items()}
    csat_sum, csat_of = per_window(known, left_known, weights=c["csat"]), per_window(known, left_known, weights=c["csat_of"])
    minutes = per_window(known, left_known, weights=c["handling_minutes"])
    credits = per_window(known, left_known, weights=c["credit_amount"])
    unresolved = per_window(known, left_known, weights=c["unresolved"])
    # the load at each cutoff: every severity so far, weighted by 2^(-age / half-life)
    weighted = cells.window(cells.sums(opened, c["severity_weight"]))
    features["severity_load"] = weighted * 2.0 ** (-cells.since_start[cells.rows // cells.clients] / LOAD_HALF_LIFE)

    def share(states):  # columns: null, no, yes
        with np.errstate(invalid="ignore", divide="ignore"):
            return states[:, 2] / (states[:, 1] + states[:, 2])

    for days in WINDOWS:
        features[f"complaints_{days}"] = counts[days]
        features[f"repeats_{days}"] = repeats[days]
        features |= {f"complaints_{days}_{t}": triggers[days][:, i] for i, t in enumerate(TRIGGERS)}
        features |= {f"complaints_{days}_severity_{s}": severities[days][:, s] for s in SEVERITIES}
        shares = {name: share(states[days]) for name, states in flags.items()}
        features[f"reopen_rate_{days}"] = shares["reopen"]
        features[f"escalation_rate_{days}"] = shares["escalation"]
        features[f"sla_breach_rate_{days}"] = 1 - shares["sla_met"]
        features[f"dispute_rate_{days}"] = shares["dispute"]
        with np.errstate(invalid="ignore", divide="ignore"):
            features[f"csat_mean_{days}"] = csat_sum[days] / csat_of[days]
        features[f"handling_minutes_{days}"] = minutes[days] / PARTS
        features[f"credits_{days}"] = credits[days] / PARTS
        features[f"unresolved_{days}"] = unresolved[days]
        features |= {f"{p}_share_{days}": shares[p] for p in PRACTICES}
    return features


def _quantile_features(con, t, cut, cells: _Cells) -> dict[str, np.ndarray]:
    """Medians and 90th percentiles are not sums, so each complaint is joined to the cutoffs of its year."""
    j = t.join(cut, [cut.k >= t.opened, cut.k < t.leaves_365])
    hours = {"first_response_hours": j.first_response_hours, "resolution_hours": j.resolution_hours}
    counted = {"first_response_hours": j.k >= j.responded, "resolution_hours": j.k >= j.known}
    quantiles = {
        f"{name}_{days}": value.quantile([0.5, 0.9], where=counted[name] & value.notnull() & (j.k < j[f"leaves_{days}"]))
        for name, value in hours.items() for days in WINDOWS
    }
    table = con.to_pyarrow(j.group_by(["code", "k"]).aggregate(**quantiles))
    rows = np.full(cells.clients * cells.cutoffs, -1)
    rows[cells.rows] = np.arange(len(cells.rows))
    found = rows[table["k"].to_numpy().astype(np.int64) * cells.clients + table["code"].to_numpy()]
    features = {}
    for column in quantiles:
        name, days = column.rsplit("_", 1)
        values = table[column].combine_chunks()
        for i, stat in enumerate(("median", "p90")):
            feature = np.full(len(cells.rows), np.nan)
            quantile = pc.list_element(values, i).to_numpy(zero_copy_only=False)  # null lists give NaN
            feature[found[found >= 0]] = quantile[found >= 0]
            features[f"{name}_{stat}_{days}"] = feature
    return features


def _contact_features(con, interactions, dates, cells: _Cells) -> dict[str, np.ndarray]:
    """Angry and abusive contacts per window, rolled forward like the complaint sums."""
    t = interactions.filter(interactions.tone.isin(["angry", "abusive"]) & (interactions.at < dates[-1]))
    seconds = t.at.epoch_seconds().cast("float64")
    opened = _index(seconds, dates)
    t = con.to_pyarrow(t.select(
        angry=_flag(t.tone == "angry"), opened=cells.cell(t.code, opened),
        **{f"left_{days}": cells.cell(t.code, _index(seconds + days * 86400, dates)) for days in WINDOWS},
    ))
    angry = t["angry"].to_numpy()
    entered = cells.sums(t["opened"].to_numpy(), bucket=angry, buckets=2)
    features = {}
    for days in WINDOWS:
        contacts = cells.window(entered, cells.sums(t[f"left_{days}"].to_numpy(), bucket=angry, buckets=2))
        features[f"angry_contacts_{days}"], features[f"abusive_contacts_{days}"] = contacts[:, 1], contacts[:, 0]
    return features


def _client_grid(clients: pd.DataFrame, cut, horizon: pd.Timedelta, end: pd.Timestamp):
    """Every client active at each cutoff, with its attributes and the labels."""
    frame = clients.drop(columns=["name"], errors="ignore").copy()
    frame["client_id"] = frame["client_id"].astype("string")
    frame["code"] = np.arange(len(frame))  # the client's row in the arrays of _Rolled
    table = ibis.memtable(frame).cast({"contract_start": "timestamp('UTC')", "ended_at": "timestamp('UTC')", "status": "string"})
    grid = table.cross_join(cut)
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
    "unresolved": ("complaints", "resolution"),
    "severity_load": ("complaints", "severity"),
    "angry_contacts": ("interactions", "tone"),
    "abusive_contacts": ("interactions", "tone"),
    **{f"{p}_share": ("complaints", p) for p in PRACTICES},
    **{f"complaints_{d}_{t}": ("complaints", "trigger") for d in WINDOWS for t in TRIGGERS},
    **{f"complaints_{d}_severity": ("complaints", "severity") for d in WINDOWS},
}
LABELS = ["churned", "ended_by_us", "censored"]
COUNTS = ("complaints_", "repeats_", "unresolved_", "open_complaints", "angry_contacts_", "abusive_contacts_", "trend_")


def _tidy(grid: pd.DataFrame, features: dict[str, np.ndarray], history: History | _Source) -> pd.DataFrame:
    """One table: client and cutoff, the features of recorded columns, attributes, labels.
    The features stay numpy arrays until the end: one DataFrame is built, not edited."""
    recorded = {
        name: values for name, values in features.items()
        if all(history.has(source, table=table) for prefix, (table, source) in SOURCES.items() if name.startswith(prefix))
    }
    recorded = {name: values.astype(np.int64) if name.startswith(COUNTS) else values for name, values in recorded.items()}
    cutoff = pd.to_datetime(grid["cutoff"], utc=True)
    last = recorded.pop("last_complaint_epoch")
    recorded["days_since_last_complaint"] = cutoff.to_numpy("datetime64[us]").astype(np.int64) / 86400e6 - last / 86400
    if "tenure_days" in grid and history.has("contract_start", table="clients"):
        # the client's lifetime complaint rate; the first quarter counts as a full quarter
        tenure = pd.to_numeric(grid["tenure_days"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        recorded["complaint_rate_per_year"] = recorded["complaints_to_date"] / np.maximum(tenure, 91) * 365
    unrecorded = [c for c in history.clients.columns if c in grid.columns and not history.has(c, table="clients")]
    if not history.has("contract_start", table="clients"):
        unrecorded += ["tenure_days", "days_to_renewal"]
    attributes = grid.drop(columns=["client_id", "cutoff", *LABELS, *unrecorded])
    if {"days_to_renewal", "notice_days"} <= set(attributes.columns):
        attributes["in_notice_window"] = attributes["days_to_renewal"] <= attributes["notice_days"]
        attributes["days_to_notice_window"] = (attributes["days_to_renewal"] - attributes["notice_days"]).clip(lower=0)
    labels = {label: grid[label].astype(bool).to_numpy() for label in LABELS}
    parts = [pd.DataFrame({"client_id": grid["client_id"], "cutoff": cutoff}), pd.DataFrame(recorded), attributes, pd.DataFrame(labels)]
    return pd.concat([part.reset_index(drop=True) for part in parts], axis=1)
