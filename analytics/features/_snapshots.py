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
from analytics.features._aggregate import Sums, at_least, cutoff_index, quantiles
from analytics.features._engine import connection
from analytics.features._rolling import DAY, Cells
from analytics.io import History
from analytics.schemas import PRACTICES
from analytics.taxonomy import Trigger

WINDOWS = (30, 90, 365)
REPEAT_DAYS = 90  # a complaint repeats its trigger if the client raised it within this many days before
TRIGGERS = [t.value for t in Trigger]
SEVERITIES = (1, 2, 3, 4)
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
        cells = Cells(len(source.clients), dates, codes, ks)
        client_codes = ibis.memtable(pd.DataFrame({"client_id": source.clients["client_id"].astype("string"), "code": np.arange(len(source.clients), dtype=np.int32)}))
        found = {}
        if any(not name.startswith(CONTACTS) for name in wanted.names):
            complaints = _complaints_before(source.complaints.join(client_codes, "client_id"), dates, wanted)
            found |= _complaint_features(con, complaints, dates, cells, wanted, timed=source.has("resolved_at"))
            found |= _duration_features(con, complaints, dates, cells, wanted, source)
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


LOAD_HALF_LIFE = 90  # days


def _complaints_before(t, dates: list[pd.Timestamp], wanted: _Wanted):
    """The complaints the wanted features can see: opened before the last cutoff, and within
    the longest window of the first unless a feature looks back without limit; with the
    repeat flag (the same trigger raised within ``REPEAT_DAYS`` before) where wanted."""
    last = t.opened_at < dates[-1]
    if wanted.any("repeats_", prefix=True):
        previous = t.opened_at.lag().over(ibis.window(group_by=[t.code, t.trigger], order_by=t.opened_at))
        recent = (previous >= t.opened_at - ibis.interval(days=REPEAT_DAYS)).fill_null(False)
        t = t.mutate(is_repeat=ibis.ifelse(t.trigger.notnull() & recent, 1, 0))
    if wanted.any(*UNBOUNDED):
        return t.filter(last)
    # the previous complaint may be older than any window: the lag above sees the whole history
    return t.filter(last & (t.opened_at >= dates[0] - pd.Timedelta(days=max(WINDOWS))))


def _flag(value):
    return ibis.ifelse(value, 1, 0)


def _complaint_features(con, t, dates: list[pd.Timestamp], cells: Cells, wanted: _Wanted, timed: bool) -> dict[str, np.ndarray]:
    """Every feature that is a sum, a rate, a mean or a latest value. The engine sums per
    client and cutoff index where each complaint enters and leaves a window; the windows
    are rolled forward here."""
    origin = ibis.literal(dates[0])
    opened = cutoff_index(t.opened_at, dates)
    known = at_least(opened, cutoff_index(t.resolved_at, dates)) if timed else opened

    # what is known at the opening, from the opening's cutoff until the window's end
    counted = set(wanted.windows("complaints_{}"))
    counted |= {365} if wanted("open_complaints") or wanted("complaint_rate_vs_segment") else set()
    counted |= {90, 180} if wanted("trend_90") else set()
    opening = {"n": _flag(t.opened_at.notnull())}
    windows = set(counted) | set(wanted.windows("repeats_{}"))
    if wanted.windows("repeats_{}"):
        opening["repeat"] = t.is_repeat
    for trigger in TRIGGERS:
        if wanted.windows(f"complaints_{{}}_{trigger}"):
            opening[f"trigger_{trigger}"] = _flag(t.trigger == trigger)
            windows |= set(wanted.windows(f"complaints_{{}}_{trigger}"))
    for severity in SEVERITIES:
        if wanted.windows(f"complaints_{{}}_severity_{severity}"):
            opening[f"severity_{severity}"] = _flag(t.severity == severity)
            windows |= set(wanted.windows(f"complaints_{{}}_severity_{severity}"))
    if wanted("severity_load"):  # every severity so far, weighted by 2^(age from the first cutoff / half-life)
        days = t.opened_at.delta(origin, unit="millisecond").cast("float64") / (DAY * 1000)
        opening["severity_weight"] = t.severity.fill_null(0).cast("float64") * (days * (np.log(2) / LOAD_HALF_LIFE)).exp()
    latest = {"opened": {"last_opened": t.opened_at}} if wanted("days_since_last_complaint") else {}
    at = Sums(con, t, {"opened": opened, **{f"leaves_{d}": cutoff_index(t.opened_at, dates, d) for d in sorted(windows)}},
              opening, cells, latest)

    # what is recorded at the resolution, from the resolution's cutoff until the window's end
    closing, windows = {}, {365} if wanted("open_complaints") else set()
    if windows:
        closing["n"] = _flag(t.opened_at.notnull())
    for rate, flag in RATES.items():
        if wanted.windows(rate + "_{}"):
            value = t.reopen_count > 0 if flag == "reopened" else t[flag]
            closing[f"{flag}_yes"], closing[f"{flag}_recorded"] = _flag(value.fill_null(False)), _flag(value.notnull())
            windows |= set(wanted.windows(rate + "_{}"))
    if wanted.windows("csat_mean_{}"):
        closing["rated"], closing["csat_sum"] = _flag(t.csat.notnull()), t.csat.fill_null(0).cast("float64")
        windows |= set(wanted.windows("csat_mean_{}"))
    for name, column in {"handling_minutes": "handling_minutes", "credits": "credit_amount"}.items():
        if wanted.windows(name + "_{}"):
            closing[column] = (t[column].cast("float64").fill_null(0) * PARTS).round().cast("float64")
            windows |= set(wanted.windows(name + "_{}"))
    if wanted.windows("unresolved_{}"):
        closing["unresolved"] = _flag((t.resolution == "unresolved").fill_null(False))
        windows |= set(wanted.windows("unresolved_{}"))
    latest = {}
    if wanted("csat_latest"):  # milliseconds x 8 + score: the largest is the latest score
        rated_at = t.resolved_at if timed else t.opened_at
        key = rated_at.delta(origin, unit="millisecond") * 8 + t.csat
        latest = {"known": {"csat_key": key.cast("float64")}}
    known_at = None
    if closing or latest:
        if not closing:
            closing["n"] = _flag(t.opened_at.notnull())
        known_at = Sums(con, t, {"known": known, **{f"known_leaves_{d}": at_least(known, cutoff_index(t.opened_at, dates, d)) for d in sorted(windows)}},
                        closing, cells, latest)

    def per_window(sums: Sums, windows, measure: str, entered: str = "opened", leaving: str = "leaves_{}") -> dict[int, np.ndarray]:
        """Per window, the sum of ``measure`` over the complaints in it."""
        return {days: cells.window(sums(entered, measure), sums(leaving.format(days), measure)) for days in windows}

    def known_window(windows, measure: str) -> dict[int, np.ndarray]:
        return per_window(known_at, windows, measure, "known", "known_leaves_{}")

    features = {}
    if wanted("days_since_last_complaint"):
        last = at.latest("opened", "last_opened")
        features["days_since_last_complaint"] = (cells.bounds[cells.rows // cells.clients] - last) / DAY
    if wanted("csat_latest"):
        features["csat_latest"] = np.mod(known_at.latest("known", "csat_key"), 8)
    counts = per_window(at, sorted(counted - {180}), "n")
    if wanted("open_complaints"):
        features["open_complaints"] = counts[365] - known_window([365], "n")[365]
    if wanted("trend_90"):
        before = cells.window(at("opened", "n"), at("leaves_180", "n"))
        features["trend_90"] = 2 * counts[90] - before
    if wanted("complaints_to_date") or wanted("complaint_rate_per_year"):
        features["complaints_to_date"] = cells.window(at("opened", "n"))
    if wanted("severity_load"):
        weighted = cells.window(at("opened", "severity_weight"))
        features["severity_load"] = weighted * 2.0 ** (-cells.since_start[cells.rows // cells.clients] / LOAD_HALF_LIFE)
    for days in wanted.windows("complaints_{}"):
        features[f"complaints_{days}"] = counts[days]
    for days, total in per_window(at, wanted.windows("repeats_{}"), "repeat").items():
        features[f"repeats_{days}"] = total
    for trigger in TRIGGERS:
        for days, total in per_window(at, wanted.windows(f"complaints_{{}}_{trigger}"), f"trigger_{trigger}").items():
            features[f"complaints_{days}_{trigger}"] = total
    for severity in SEVERITIES:
        for days, total in per_window(at, wanted.windows(f"complaints_{{}}_severity_{severity}"), f"severity_{severity}").items():
            features[f"complaints_{days}_severity_{severity}"] = total
    for rate, flag in RATES.items():
        windows = wanted.windows(rate + "_{}")
        if windows:
            yes, recorded = known_window(windows, f"{flag}_yes"), known_window(windows, f"{flag}_recorded")
            with np.errstate(invalid="ignore", divide="ignore"):
                shares = {days: yes[days] / recorded[days] for days in windows}
            features |= {f"{rate}_{days}": 1 - share if rate == "sla_breach_rate" else share for days, share in shares.items()}
    windows = wanted.windows("csat_mean_{}")
    if windows:
        total, rated = known_window(windows, "csat_sum"), known_window(windows, "rated")
        with np.errstate(invalid="ignore", divide="ignore"):
            features |= {f"csat_mean_{days}": total[days] / rated[days] for days in windows}
    for name, column in {"handling_minutes": "handling_minutes", "credits": "credit_amount"}.items():
        features |= {f"{name}_{days}": total / PARTS for days, total in known_window(wanted.windows(name + "_{}"), column).items()}
    for days, total in known_window(wanted.windows("unresolved_{}"), "unresolved").items():
        features[f"unresolved_{days}"] = total
    return features


def _duration_features(con, t, dates: list[pd.Timestamp], cells: Cells, wanted: _Wanted, source) -> dict[str, np.ndarray]:
    """Medians and 90th percentiles of time to first response and to resolution, of the
    complaints in each window that had got that far before the cutoff: computed by the
    engine per client and cutoff (they are not sums, so they cannot be rolled forward)."""
    opened = cutoff_index(t.opened_at, dates)
    features = {}
    for name, column in DURATIONS.items():
        windows = sorted({d for stat in ("median", "p90") for d in wanted.windows(f"{name}_{stat}_{{}}")})
        if not windows or not source.has(column):
            continue
        start = at_least(opened, cutoff_index(t[column], dates))
        milliseconds = t[column].delta(t.opened_at, unit="millisecond")
        for days in windows:
            leaves = cutoff_index(t.opened_at, dates, days)
            features[f"{name}_median_{days}"], features[f"{name}_p90_{days}"] = quantiles(con, t, start, leaves, milliseconds, cells)
    return features


def _contact_features(con, interactions, dates, cells: Cells) -> dict[str, np.ndarray]:
    """Angry and abusive contacts per window, rolled forward like the complaint sums."""
    t = interactions.filter(interactions.tone.isin(["angry", "abusive"]) & (interactions.at < dates[-1]))
    at = Sums(con, t, {"opened": cutoff_index(t.at, dates), **{f"leaves_{d}": cutoff_index(t.at, dates, d) for d in WINDOWS}},
              {"angry": _flag(t.tone == "angry"), "abusive": _flag(t.tone == "abusive")}, cells)
    return {f"{tone}_contacts_{days}": cells.window(at("opened", tone), at(f"leaves_{days}", tone)) for tone in ("angry", "abusive") for days in WINDOWS}



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
