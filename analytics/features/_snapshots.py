"""Point-in-time snapshots: what was known about each client at each cutoff, and what followed.

The engine (DuckDB in-process by default, or Spark) reads the complaints once, as Ibis
expressions, and hands back compact columns; the windows are then rolled forward over a
cutoffs x clients array in numpy, so no complaint is read again for each cutoff.

Long because the feature catalogue, the engine's reading and the numpy rolling still
share one module; splitting them goes with moving the aggregation into the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analytics._time import naive_utc, utc
from analytics.features._engine import connection
from analytics.io import History
from analytics.schemas import PRACTICES
from analytics.taxonomy import Trigger

WINDOWS = (30, 90, 365)
REPEAT_DAYS = 90  # a complaint repeats its trigger if the client raised it within this many days before
TRIGGERS = [t.value for t in Trigger]
SEVERITIES = (1, 2, 3, 4)
DAY = 86400  # seconds
#: minutes and credits are summed in ten-thousandths: whole numbers add up exactly in any order,
#: so the result does not depend on the order an engine returns rows in
PARTS = 10_000
#: rates and shares of what is recorded at resolution: feature prefix -> flag column
RATES = {
    "reopen_rate": "reopened",
    "escalation_rate": "escalated",
    "sla_breach_rate": "sla_met",
    "dispute_rate": "disputed",
    **{f"{p}_share": p for p in PRACTICES},
}
DURATIONS = {"first_response_hours": "first_response_at", "resolution_hours": "resolved_at"}
#: features of what is known only once a complaint is resolved (by prefix)
RECORDED_AT_RESOLUTION = ("open_complaints", "csat_", *RATES, "handling_minutes_", "credits_", "unresolved_", "resolution_hours_")
CONTACTS = ("angry_contacts_", "abusive_contacts_")
#: features that look back without limit, so every complaint before the last cutoff is read
UNBOUNDED = ("csat_latest", "complaints_to_date", "complaint_rate_per_year", "severity_load", "days_since_last_complaint")


def _feature_names() -> tuple[str, ...]:
    names = ["open_complaints", "trend_90", *UNBOUNDED, "complaint_rate_vs_segment"]
    for days in WINDOWS:
        names += [f"complaints_{days}", f"repeats_{days}"]
        names += [f"complaints_{days}_{t}" for t in TRIGGERS] + [f"complaints_{days}_severity_{s}" for s in SEVERITIES]
        names += [f"{rate}_{days}" for rate in RATES]
        names += [f"{name}_{days}" for name in ("csat_mean", "handling_minutes", "credits", "unresolved")]
        names += [f"{d}_{stat}_{days}" for d in DURATIONS for stat in ("median", "p90")]
        names += [f"angry_contacts_{days}", f"abusive_contacts_{days}"]
    return tuple(names)


#: every complaint and contact feature ``snapshots`` can compute, in the order it returns them
FEATURES = _feature_names()
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
    """A list of dates, or a pandas frequency ("QE", "ME") over the history's span.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import resolve_cutoffs
    >>> [f"{cutoff:%Y-%m-%d}" for cutoff in resolve_cutoffs(load_sample(), "YE")]
    ['2024-01-01', '2025-01-01']
    >>> [f"{cutoff:%Y-%m-%d}" for cutoff in resolve_cutoffs(load_sample(), ["2025-06-30", "2025-01-01"])]
    ['2025-01-01', '2025-06-30']
    """
    return _cutoff_dates(history.span, cutoffs)


def _cutoff_dates(span, cutoffs) -> list[pd.Timestamp]:
    if isinstance(cutoffs, str):
        if span is None:
            raise ValueError("the history has no complaints, so a frequency gives no cutoffs; pass dates")
        first, last = span
        dates = pd.date_range(first.normalize(), last, freq=cutoffs, tz="UTC")
        if dates.empty:
            raise ValueError(f"no {cutoffs!r} period ends between the first and last complaint ({first:%Y-%m-%d} to {last:%Y-%m-%d}); "
                             "pass the cutoff dates instead")
        return [d + pd.Timedelta(days=1) if d.hour == 0 else d for d in dates]  # a period's end is inclusive
    dates = sorted(utc(c) for c in cutoffs)
    if not dates:
        raise ValueError("no cutoff given: pass at least one date or a frequency such as 'QE'")
    return dates


def data_end(history: History) -> pd.Timestamp:
    """The last moment the history has seen anything happen: an event log's last event,
    otherwise the latest date it holds.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import data_end
    >>> data_end(load_sample())
    Timestamp('2025-12-31 22:41:27+0000', tz='UTC')
    """
    if history.seen_until is not None:
        return utc(history.seen_until)
    moments = [history.complaints[c].max() for c in ("opened_at", "first_response_at", "resolved_at", "closed_at") if c in history.complaints]
    moments += [history.interactions["at"].max(), history.clients["ended_at"].max()]
    return max(utc(m) for m in moments if pd.notna(m))


def snapshots(history: History | str | Path, cutoffs="QE", horizon="90D", engine=None, features=None) -> pd.DataFrame:
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
    features : list of names from ``FEATURES``, optional
        Compute only these complaint and contact features (all by default). Client
        attributes and labels always come.

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
        tenure, the last year's complaint rate against the average of the client's
        segment, days since the last complaint, the 90-day trend, latest CSAT; tenure,
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

    Each complaint is read once. For each complaint the cutoff where it enters a window
    (the first after its opening, or after its resolution for what was recorded then) and
    the cutoff where it leaves (the first more than the window after its opening) are
    worked out; sums are then rolled forward over a cutoffs x clients array instead of
    recomputed for each cutoff. Medians and 90th percentiles sort, per cutoff, the
    durations of the complaints in its window. Durations are counted in milliseconds.
    "Latest CSAT" and "days since the last complaint" look back without limit.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> rows = snapshots(load_sample(), ["2024-07-01", "2025-01-01"])
    >>> bool(rows["complaints_90"].sum() > 0 and not rows["censored"].any())
    True
    """
    wanted = _Wanted(features)
    with connection(engine) as con:
        source = _Source(history, con)
        dates = _cutoff_dates(source.span, cutoffs)
        grid, codes, ks = _client_grid(source.clients, dates, pd.Timedelta(horizon), source.end)
        cells = _Cells(len(source.clients), dates, codes, ks)
        client_codes = ibis.memtable(pd.DataFrame({"client_id": source.clients["client_id"].astype("string"), "code": np.arange(len(source.clients), dtype=np.int32)}))
        found = {}
        if any(not name.startswith(CONTACTS) for name in wanted.names):
            complaints = _fetch(con, source.complaints.join(client_codes, "client_id"), dates, wanted, timed=source.has("resolved_at"))
            found |= _complaint_features(complaints, cells, wanted)
            found |= _duration_features(complaints, cells, wanted)
            del complaints
        if wanted.any(*CONTACTS, prefix=True):
            found |= _contact_features(con, source.interactions.join(client_codes, "client_id"), dates, cells)
        return _tidy(grid, found, source, wanted)


class _Wanted:
    """Which features to compute."""

    def __init__(self, features):
        self.names = set(FEATURES if features is None else features)
        unknown = sorted(self.names - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown snapshot features {unknown}: the names are listed in analytics.features.FEATURES")

    def __call__(self, name: str) -> bool:
        return name in self.names

    def any(self, *names: str, prefix: bool = False) -> bool:
        return any(n.startswith(names) if prefix else n in names for n in self.names)

    def windows(self, pattern: str) -> list[int]:
        """The windows for which a feature named ``pattern.format(days)`` is wanted."""
        return [days for days in WINDOWS if pattern.format(days) in self.names]


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
        c = self.complaints
        span = con.execute(c.aggregate(
            first=c.opened_at.min(), last=c.opened_at.max(), responded=c.first_response_at.max(), resolved=c.resolved_at.max(),
        )).iloc[0]
        self.span = None if pd.isna(span["first"]) else (utc(span["first"]), utc(span["last"]))
        moments = [span["last"], span["responded"], span["resolved"], con.execute(self.interactions.at.max()), self.clients["ended_at"].max()]
        if "closed_at" in complaints.columns:  # as data_end counts it
            moments.append(con.execute(complaints.closed_at.cast("timestamp('UTC')").max()))
        self.end = max(utc(m) for m in moments if pd.notna(m))
        meta = folder / "history.json"
        seen = json.loads(meta.read_text(encoding="utf-8")).get("seen_until") if meta.exists() else None
        if seen:  # an event log's last event, as data_end counts it
            self.end = utc(seen)

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


def _seconds(moment):
    # float64 before any arithmetic: Spark reads 1.0 and 3600.0 as decimals and would round
    return moment.epoch_seconds().cast("float64")


def _state(flag):
    """A flag as 0 (not recorded), 1 (no) or 2 (yes), so that one bincount counts all three."""
    return ibis.cases((flag.isnull(), 0), (flag, 2), else_=1).cast("int8")


def _fetch(con, t, dates: list[pd.Timestamp], wanted: _Wanted, timed: bool) -> dict[str, np.ndarray]:
    """The complaints opened before the last cutoff, as numpy arrays of only the columns the
    wanted features need, in small types and with nulls coded (NaN for numbers)."""
    columns = {"code": t.code, "opened_seconds": t.opened_at}
    if wanted.any("repeats_", prefix=True):
        opened = _seconds(t.opened_at)
        previous = opened.lag().over(ibis.window(group_by=[t.code, t.trigger], order_by=opened))
        columns["is_repeat"] = ibis.ifelse(t.trigger.notnull() & (previous >= opened - REPEAT_DAYS * DAY).fill_null(False), 1, 0).cast("int8")
    if timed and wanted.any(*RECORDED_AT_RESOLUTION, prefix=True):
        columns["resolved_seconds"] = t.resolved_at
    if wanted.any("first_response_hours_", prefix=True):
        columns["response_seconds"] = t.first_response_at
    if any(wanted.windows(f"complaints_{{}}_{trigger}") for trigger in TRIGGERS):
        columns["trigger"] = ibis.cases(*[(t.trigger == name, i) for i, name in enumerate(TRIGGERS)], else_=len(TRIGGERS)).cast("int8")
    if wanted("severity_load") or any(wanted.windows(f"complaints_{{}}_severity_{s}") for s in SEVERITIES):
        columns["severity"] = t.severity.fill_null(0).cast("int8")
    for rate, flag in RATES.items():
        if wanted.windows(rate + "_{}"):
            columns[flag] = _state(t.reopen_count > 0 if flag == "reopened" else t[flag])
    if wanted.windows("csat_mean_{}") or wanted("csat_latest"):
        columns["csat"] = t.csat.cast("float64")
    for name, column in {"handling_minutes": "handling_minutes", "credits": "credit_amount"}.items():
        if wanted.windows(name + "_{}"):
            columns[column] = (t[column].cast("float64").fill_null(0) * PARTS).round().cast("float64")
    if wanted.windows("unresolved_{}"):
        columns["unresolved"] = ibis.ifelse(t.resolution == "unresolved", 1, 0).cast("int8")
    last = t.opened_at < dates[-1]
    if wanted.any(*UNBOUNDED):
        table = t.filter(last).select(**columns)
    elif "is_repeat" in columns:  # the previous complaint may be older than any window: filter after the lag
        table = t.filter(last).select(**columns)
        table = table.filter(table.opened_seconds >= dates[0] - pd.Timedelta(days=max(WINDOWS)))
    else:  # on the timestamp, so that Parquet statistics can skip old row groups
        table = t.filter(last & (t.opened_at >= dates[0] - pd.Timedelta(days=max(WINDOWS)))).select(**columns)
    return _arrays(con, table)


def _arrays(con, table) -> dict[str, np.ndarray]:
    """A table's columns as numpy arrays; ``*_seconds`` columns, fetched as timestamps (cheaper
    to read than to convert in the engine), become seconds since 1970."""
    fetched = con.to_pyarrow(table)
    return {name: _as_seconds(values) if name.endswith("_seconds") else values.to_numpy() for name, values in zip(fetched.column_names, fetched.columns, strict=True)}


def _as_seconds(moments: pa.ChunkedArray) -> np.ndarray:
    """Timestamps as seconds since 1970 (NaN for null)."""
    micros = moments.cast(pa.timestamp("us", "UTC")).to_numpy().view(np.int64)
    seconds = micros / 1e6
    seconds[micros == np.iinfo(np.int64).min] = np.nan  # NaT
    return seconds


def _index(seconds: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """How many cutoffs fall at or before each moment, i.e. the index of the first cutoff
    after it; NaN (never) gives the number of cutoffs."""
    if len(bounds) > 60:
        return np.searchsorted(bounds, seconds, side="right")  # NaN sorts last
    index, reached = np.zeros(len(seconds), np.int8), np.empty(len(seconds), bool)
    for bound in bounds:  # a few comparisons beat a binary search per moment
        index += np.greater_equal(seconds, bound, out=reached)
    index[np.isnan(seconds)] = len(bounds)
    return index


class _Cells:
    """Sums per client and cutoff, rolled forward over the cutoffs.

    Each complaint adds its values at the cutoff index where it enters a window and takes
    them away at the index where it leaves; a window's sum at cutoff k is then a cumulative
    sum over a cutoffs x clients array. A cell is ``index * clients + client``; index
    ``cutoffs`` (past the last) collects "never".
    """

    def __init__(self, clients: int, dates: list[pd.Timestamp], code: np.ndarray, k: np.ndarray):
        self.clients, self.cutoffs = clients, len(dates)
        self.bounds = np.array([d.timestamp() for d in dates])
        self.rows = k * clients + code  # each output row's cell
        self.start = self.bounds[0]  # seconds: the origin of recency weights
        self.since_start = (self.bounds - self.start) / DAY  # days, per cutoff

    def row_of(self, k: int, code: np.ndarray) -> np.ndarray:
        """The output row of each client at cutoff index ``k`` (-1 where the client was not active)."""
        if not hasattr(self, "_row"):
            self._row = np.full(self.cutoffs * self.clients, -1)
            self._row[self.rows] = np.arange(len(self.rows))
        return self._row[k * self.clients + code]

    def sums(self, cell: np.ndarray, weights=None) -> np.ndarray:
        """Sum of ``weights`` (or a count) per cell, as a cutoffs x clients array."""
        total = np.bincount(cell, weights, minlength=(self.cutoffs + 1) * self.clients)
        return total.reshape(self.cutoffs + 1, self.clients)[: self.cutoffs]

    def window(self, entered: np.ndarray, left: np.ndarray | None = None) -> np.ndarray:
        """The window's sum at each output row: what entered at or before the cutoff minus
        what left; with no ``left``, everything so far."""
        rolled = np.subtract(entered, left, out=left) if left is not None else entered.copy()
        for k in range(1, self.cutoffs):  # row by row: numpy's cumsum over the first axis is ten times slower
            rolled[k] += rolled[k - 1]
        return rolled.ravel()[self.rows]

    def latest(self, cell: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The largest value that entered at or before each output row's cutoff (NaN if none)."""
        largest = np.full((self.cutoffs + 1) * self.clients, np.nan)
        np.fmax.at(largest, cell, values)
        return np.fmax.accumulate(largest.reshape(self.cutoffs + 1, -1)[: self.cutoffs], axis=0).ravel()[self.rows]


LOAD_HALF_LIFE = 90  # days


class _Moments:
    """The fetched complaints' cutoff indexes (each worked out once, when first asked for) and
    their sums per cell.

    Cells are worked out again for each sum, into buffers allocated once: on a large history
    touching fresh memory costs more than the arithmetic.
    """

    def __init__(self, c: dict[str, np.ndarray], cells: _Cells):
        self.c, self.cells = c, cells
        self._index: dict[str, np.ndarray] = {}
        self._cell = np.empty(len(c["code"]), np.int64)
        self._picked = np.empty(len(c["code"]), np.int64)
        self._weights = np.empty(len(c["code"]))

    def index(self, name: str) -> np.ndarray:
        """``opened``: first cutoff after the opening; ``known``: after the resolution, where
        everything recorded then counts from (from the opening in an export with no
        resolution times); ``responded``: after the first response; ``leaves_<days>``: first
        cutoff more than that many days after the opening; ``known_leaves_<days>``: what
        counts from the resolution leaves no earlier than it enters. The number of cutoffs means never."""
        if name not in self._index:
            c, bounds = self.c, self.cells.bounds
            if name == "opened":
                index = _index(c["opened_seconds"], bounds)
            elif name in ("known", "responded"):
                column = {"known": "resolved_seconds", "responded": "response_seconds"}[name]
                index = np.maximum(self.index("opened"), _index(c[column], bounds)) if column in c else self.index("opened")
            elif name.startswith("known_"):
                index = np.maximum(self.index("known"), self.index(name.removeprefix("known_")))
            else:  # opened + days >= cutoff, as opened >= cutoff - days
                index = _index(c["opened_seconds"], bounds - int(name.removeprefix("leaves_")) * DAY)
            self._index[name] = index
        return self._index[name]

    def cell(self, name: str) -> np.ndarray:
        """Each complaint's cell at the cutoff index ``name`` (valid until the next call)."""
        cell = np.multiply(self.index(name), self.cells.clients, out=self._cell, dtype=np.int64)
        cell += self.c["code"]
        return cell

    def sums(self, name: str, where=None, weights=None) -> np.ndarray:
        """Per cell at the index ``name``: how many complaints (or the sum of their ``weights``)
        ``where`` true."""
        cell = self.cell(name)
        if where is not None and not where.all():
            picked = np.count_nonzero(where)
            cell = np.compress(where, cell, out=self._picked[:picked])
            if weights is not None:
                weights = np.compress(where, weights, out=self._weights[:picked])
        return self.cells.sums(cell, weights)


def _complaint_features(c: dict[str, np.ndarray], cells: _Cells, wanted: _Wanted) -> dict[str, np.ndarray]:
    """Every feature that is a sum, a rate, a mean or a latest value, from the fetched complaints."""
    at = _Moments(c, cells)

    def per_window(windows, entered="opened", where=None, weights=None) -> dict[int, np.ndarray]:
        """Per window, the count (or the sum of ``weights``) of the complaints ``where`` true."""
        leaving = "known_leaves_{}" if entered == "known" else "leaves_{}"
        start = at.sums(entered, where, weights) if windows else None
        return {days: cells.window(start, at.sums(leaving.format(days), where, weights)) for days in windows}

    features = {}
    if wanted("days_since_last_complaint"):
        last = cells.latest(at.cell("opened"), c["opened_seconds"])
        features["days_since_last_complaint"] = (cells.bounds[cells.rows // cells.clients] - last) / DAY
    if wanted("csat_latest"):  # seconds * 1000 + score: the largest is the latest score
        rated = np.where(np.isnan(c["csat"]), np.nan, c.get("resolved_seconds", c["opened_seconds"]))
        features["csat_latest"] = cells.latest(at.cell("known"), rated * 1000 + np.nan_to_num(c["csat"])) % 1000
    counted = set(wanted.windows("complaints_{}"))
    counted |= {365} if wanted("open_complaints") or wanted("complaint_rate_vs_segment") else set()
    counted |= {90} if wanted("trend_90") else set()
    counts = per_window(sorted(counted))
    if wanted("open_complaints"):
        features["open_complaints"] = counts[365] - per_window([365], "known")[365]
    if wanted("trend_90"):
        before = cells.window(at.sums("opened"), at.sums("leaves_180"))
        features["trend_90"] = 2 * counts[90] - before
    if wanted("complaints_to_date") or wanted("complaint_rate_per_year"):
        features["complaints_to_date"] = cells.window(at.sums("opened"))
    if wanted("severity_load"):  # every severity so far, weighted by 2^(-age / half-life)
        weight = c["severity"] * 2.0 ** ((c["opened_seconds"] - cells.start) / (LOAD_HALF_LIFE * DAY))
        weighted = cells.window(at.sums("opened", weights=weight))
        features["severity_load"] = weighted * 2.0 ** (-cells.since_start[cells.rows // cells.clients] / LOAD_HALF_LIFE)
    for days, total in counts.items():
        features[f"complaints_{days}"] = total
    windows = wanted.windows("repeats_{}")
    for days, total in per_window(windows, where=c["is_repeat"] == 1 if windows else None).items():
        features[f"repeats_{days}"] = total
    for i, trigger in enumerate(TRIGGERS):
        windows = wanted.windows(f"complaints_{{}}_{trigger}")
        for days, total in per_window(windows, where=c["trigger"] == i if windows else None).items():
            features[f"complaints_{days}_{trigger}"] = total
    for severity in SEVERITIES:
        windows = wanted.windows(f"complaints_{{}}_severity_{severity}")
        for days, total in per_window(windows, where=c["severity"] == severity if windows else None).items():
            features[f"complaints_{days}_severity_{severity}"] = total
    known = per_window(sorted({d for rate in RATES for d in wanted.windows(rate + "_{}")}), "known")
    for rate, flag in RATES.items():
        windows = wanted.windows(rate + "_{}")
        if windows:  # flags are coded 0 (not recorded), 1 (no), 2 (yes); most are recorded
            yes = per_window(windows, "known", where=c[flag] == 2)
            unrecorded = per_window(windows, "known", where=c[flag] == 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                shares = {days: yes[days] / (known[days] - unrecorded[days]) for days in windows}
            features |= {f"{rate}_{days}": 1 - share if rate == "sla_breach_rate" else share for days, share in shares.items()}
    windows = wanted.windows("csat_mean_{}")
    if windows:
        rated = ~np.isnan(c["csat"])
        total = per_window(windows, "known", where=rated, weights=c["csat"])
        rated = per_window(windows, "known", where=rated)
        with np.errstate(invalid="ignore", divide="ignore"):
            features |= {f"csat_mean_{days}": total[days] / rated[days] for days in windows}
    for name, column in {"handling_minutes": "handling_minutes", "credits": "credit_amount"}.items():
        windows = wanted.windows(name + "_{}")
        if windows:
            features |= {f"{name}_{days}": total / PARTS for days, total in per_window(windows, "known", weights=c[column]).items()}
    windows = wanted.windows("unresolved_{}")
    for days, total in per_window(windows, "known", where=c["unresolved"] == 1 if windows else None).items():
        features[f"unresolved_{days}"] = total
    return features


def _duration_features(c: dict[str, np.ndarray], cells: _Cells, wanted: _Wanted) -> dict[str, np.ndarray]:
    """Medians and 90th percentiles of time to first response and to resolution, of the
    complaints in each window that had got that far before the cutoff.

    Not sums, so they cannot be rolled forward: for each cutoff, the client and the duration
    (in milliseconds) are packed into one integer, so that a single sort orders both and
    each client's durations lie side by side, in order.
    """
    at = _Moments(c, cells)
    features = {}
    for name, column in DURATIONS.items():
        windows = sorted({d for stat in ("median", "p90") for d in wanted.windows(f"{name}_{stat}_{{}}")})
        moment = {"resolved_at": "resolved_seconds", "first_response_at": "response_seconds"}[column]
        if not windows or moment not in c:
            continue
        milliseconds = np.subtract(c[moment], c["opened_seconds"])  # in place from here: these arrays are large
        milliseconds *= 1000
        np.round(milliseconds, out=milliseconds)
        timed = ~np.isnan(milliseconds)
        lowest = np.fmin.reduce(milliseconds, initial=np.inf) if timed.any() else 0.0  # fmin skips NaN
        span = int(np.fmax.reduce(milliseconds, initial=-np.inf) - lowest) + 1 if timed.any() else 1
        milliseconds -= lowest
        milliseconds[~timed] = 0
        ticks = milliseconds.astype(np.int64)
        del milliseconds
        start = at.index("responded" if column == "first_response_at" else "known")
        for days in windows:
            leaves = at.index(f"leaves_{days}")
            median, p90 = np.full(len(cells.rows), np.nan), np.full(len(cells.rows), np.nan)
            for k in range(cells.cutoffs):
                inside = timed & (start <= k) & (k < leaves)
                keys = np.sort(c["code"][inside].astype(np.int64) * span + ticks[inside])
                if len(keys) == 0:
                    continue
                client, value = np.divmod(keys, span)
                first = np.flatnonzero(np.r_[True, client[1:] != client[:-1]])
                size = np.diff(np.r_[first, len(keys)])
                rows = cells.row_of(k, client[first])
                for out, q in ((median, 0.5), (p90, 0.9)):
                    position = first + q * (size - 1)  # linear interpolation, as numpy, pandas and DuckDB
                    below = np.floor(position).astype(np.int64)
                    above = np.minimum(below + 1, first + size - 1)
                    hours = (value[below] + (position - below) * (value[above] - value[below]) + lowest) / 3_600_000
                    out[rows[rows >= 0]] = hours[rows >= 0]
            features[f"{name}_median_{days}"], features[f"{name}_p90_{days}"] = median, p90
    return features


def _contact_features(con, interactions, dates, cells: _Cells) -> dict[str, np.ndarray]:
    """Angry and abusive contacts per window, rolled forward like the complaint sums."""
    t = interactions.filter(interactions.tone.isin(["angry", "abusive"]) & (interactions.at < dates[-1]))
    c = _arrays(con, t.select("code", angry=ibis.ifelse(t.tone == "angry", 1, 0).cast("int8"), opened_seconds=t.at))
    at = _Moments(c, cells)
    features = {}
    for tone, where in {"angry": c["angry"] == 1, "abusive": c["angry"] == 0}.items():
        entered = at.sums("opened", where)
        for days in WINDOWS:
            features[f"{tone}_contacts_{days}"] = cells.window(entered, at.sums(f"leaves_{days}", where))
    return features


def _client_grid(clients: pd.DataFrame, dates: list[pd.Timestamp], horizon: pd.Timedelta, end: pd.Timestamp):
    """Every client active at each cutoff (ordered by cutoff, then client), with its
    attributes and the labels; and each row's client (its position in ``clients``) and cutoff index."""
    started = _moments(clients, "contract_start")
    ended = _moments(clients, "ended_at")
    status = clients["status"].astype("string").to_numpy(dtype=object, na_value=None) if "status" in clients else np.full(len(clients), None)
    by_id = np.argsort(clients["client_id"].astype("string").to_numpy(dtype=object, na_value=""), kind="stable")
    cuts = np.array([d.to_datetime64() for d in dates], dtype="datetime64[us]")
    codes, ks = [], []
    for k, cutoff in enumerate(cuts):
        active = ~(started >= cutoff) & ~(ended < cutoff)  # NaT compares false: no start or end means there
        codes.append(by_id[active[by_id]])
        ks.append(np.full(len(codes[-1]), k))
    code, k = np.concatenate(codes), np.concatenate(ks)
    cutoff = cuts[k]
    within = ended[code] < cutoff + horizon.to_timedelta64()
    days_in = np.floor((cutoff - started[code]) / np.timedelta64(1, "D"))
    attributes = clients.drop(columns=[c for c in OUTCOME_COLUMNS if c in clients.columns])
    # without pandas' metadata, Arrow types come back as numpy ones, as they would from an engine;
    # converted per client first, so that the rows share each client's values
    attributes = pa.Table.from_pandas(attributes, preserve_index=False).to_pandas(ignore_metadata=True)
    grid = {name: attributes[name].array.take(code) for name in attributes.columns}
    grid["cutoff"] = pd.DatetimeIndex(cutoff, tz="UTC")
    grid["churned"] = within & (status[code] == "churned")
    grid["ended_by_us"] = within & (status[code] == "ended_by_us")
    grid["censored"] = end.to_datetime64() < cutoff + horizon.to_timedelta64()
    if not np.isnan(days_in).any():
        days_in = days_in.astype(np.int64)
    grid["tenure_days"] = days_in
    # the start's anniversary, not the recorded contract end: that end is today's (a renewal
    # moves it, a churn sets it), so at an earlier cutoff it would tell the future
    days_to_renewal = np.floor((_next_anniversary(started[code], cutoff) - cutoff) / np.timedelta64(1, "D"))
    grid["days_to_renewal"] = days_to_renewal if np.isnan(days_to_renewal).any() else days_to_renewal.astype(np.int64)
    return grid, code, k


def _next_anniversary(dates: np.ndarray, cutoff: np.ndarray) -> np.ndarray:
    """The first yearly recurrence of each date after its cutoff, on the calendar: the same
    month and day (the month's last day where it is shorter, as for 29 February)."""
    month_of_year = dates.astype("datetime64[M]") - dates.astype("datetime64[Y]").astype("datetime64[M]")
    into_month = dates - dates.astype("datetime64[M]").astype(dates.dtype)

    def in_year(year: np.ndarray) -> np.ndarray:
        month = year.astype("datetime64[M]") + month_of_year
        return np.minimum(month.astype(dates.dtype) + into_month, (month + 1).astype(dates.dtype) - np.timedelta64(1, "D"))

    this_year = in_year(cutoff.astype("datetime64[Y]"))
    return np.where(this_year <= cutoff, in_year(cutoff.astype("datetime64[Y]") + 1), this_year)


def _moments(clients: pd.DataFrame, column: str) -> np.ndarray:
    """A client timestamp column as naive UTC datetime64 (NaT where missing or absent)."""
    if column not in clients:
        return np.full(len(clients), np.datetime64("NaT"), dtype="datetime64[us]")
    return naive_utc(clients[column]).to_numpy(dtype="datetime64[us]")


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


def _against_peers(complaints_365: np.ndarray, grid: dict, history: History | _Source) -> np.ndarray:
    """Each client's complaints a year over the last year (over its tenure if shorter, at
    least a quarter) against the average of the clients of its segment at the same cutoff
    (of all clients where no segment is recorded): complaint volume grows with a client's
    size, so it is its segment's that tells an unhappy client apart."""
    years = 1.0
    if history.has("contract_start", table="clients"):
        years = np.clip(grid["tenure_days"].astype(float), 91, 365) / 365
    rate = complaints_365 / years
    peers = pd.factorize(grid["cutoff"])[0]
    if history.has("segment", table="clients"):
        segment = pd.factorize(pd.Series(grid["segment"]).astype("string").fillna(""))[0]
        peers = peers * (segment.max() + 1) + segment
    counted = ~np.isnan(rate)
    average = np.bincount(peers[counted], rate[counted]) / np.bincount(peers[counted])
    with np.errstate(invalid="ignore", divide="ignore"):
        return rate / average[peers]


def _tidy(grid: dict, features: dict[str, np.ndarray], history: History | _Source, wanted: _Wanted) -> pd.DataFrame:
    """One table: client and cutoff, the wanted features of recorded columns, attributes, labels.
    Built once from its columns, without copying them into blocks."""
    if "complaints_to_date" in features and history.has("contract_start", table="clients"):
        # the client's lifetime complaint rate; the first quarter counts as a full quarter
        tenure = grid["tenure_days"].astype(float)
        features["complaint_rate_per_year"] = features["complaints_to_date"] / np.maximum(tenure, 91) * 365
    if "complaints_365" in features and wanted("complaint_rate_vs_segment"):
        features["complaint_rate_vs_segment"] = _against_peers(features["complaints_365"], grid, history)
    recorded = {
        name: features[name] for name in FEATURES
        if name in features and wanted(name)
        and all(history.has(source, table=table) for prefix, (table, source) in SOURCES.items() if name.startswith(prefix))
    }
    recorded = {name: values.astype(np.int64) if name.startswith(COUNTS) else values for name, values in recorded.items()}
    unrecorded = {c for c in history.clients.columns if not history.has(c, table="clients")}
    if not history.has("contract_start", table="clients"):
        unrecorded |= {"tenure_days", "days_to_renewal"}
    attributes = {name: values for name, values in grid.items() if name not in {"client_id", "cutoff", *LABELS, *unrecorded}}
    if {"days_to_renewal", "notice_days"} <= attributes.keys():
        notice = np.asarray(attributes["notice_days"])
        attributes["in_notice_window"] = attributes["days_to_renewal"] <= notice
        attributes["days_to_notice_window"] = np.clip(attributes["days_to_renewal"] - notice, 0, None)
    columns = {"client_id": grid["client_id"], "cutoff": grid["cutoff"], **recorded, **attributes, **{label: grid[label] for label in LABELS}}
    return pd.DataFrame(columns, copy=False)
