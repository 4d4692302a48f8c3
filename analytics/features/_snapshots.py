"""Point-in-time snapshots: what was known about each client at each cutoff, and what followed.

The engine (DuckDB in-process by default, or Spark) sums the complaints per client and
cutoff where they enter and leave each window (:mod:`~analytics.features._aggregate`);
the windows are rolled forward over a cutoffs x clients array in numpy
(:mod:`~analytics.features._rolling`), so the driver's work and memory follow the output,
not the number of complaints. This module holds the formulas; the feature names live in
``_catalogue``, the reading in ``_source``, the rows and labels in ``_grid``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from analytics.features._aggregate import Sums, milliseconds, quantiles
from analytics.features._catalogue import (
    CONTACTS,
    COUNTS,
    DURATIONS,
    FEATURES,
    LABELS,
    PARTS,
    RATES,
    REPEAT_DAYS,
    SEVERITIES,
    TRIGGERS,
    UNBOUNDED,
    WINDOWS,
    Wanted,
)
from analytics.features._grid import client_grid
from analytics.features._local import LocalSums, local_quantiles
from analytics.features._measures import Equals, Recorded, Repeat
from analytics.features._rolling import DAY, Cells
from analytics.features._source import Source, cutoff_dates, reading
from analytics.io import History


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
        None: the history's own engine (``history.engine``), else DuckDB in process.
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
    wanted = Wanted(features)
    with reading(history, engine) as (con, readable), ThreadPoolExecutor(1) as beside:
        source = Source(readable, con)
        wanted.recorded_in(source)
        dates = cutoff_dates(source.span, cutoffs)
        # the rows are laid out while the engine reads the complaints
        gridded = beside.submit(client_grid, source.clients, dates, pd.Timedelta(horizon), source.end)
        cells = Cells(len(source.clients), dates, lambda: gridded.result()[1:])
        client_codes = ibis.memtable(pd.DataFrame({"client_id": source.clients["client_id"].astype("string"), "code": np.arange(len(source.clients), dtype=np.int32)}))
        found = {}
        if any(not name.startswith(CONTACTS) for name in wanted.names):
            complaints = _complaints_before(source.complaints.join(client_codes, "client_id"), dates, wanted)
            durations = _duration_windows(wanted, source)
            found |= _complaint_features(con, complaints, dates, cells, wanted, timed=source.has("resolved_at"), durations=durations)
        if wanted.any(*CONTACTS, prefix=True):
            found |= _contact_features(con, source.interactions.join(client_codes, "client_id"), dates, cells)
        return _tidy(gridded.result()[0], found, source, wanted)


LOAD_HALF_LIFE = 90  # days


def _complaints_before(t, dates: list[pd.Timestamp], wanted: Wanted):
    """The complaints the wanted features can see: opened before the last cutoff, and within
    the longest window of the first unless a feature looks back without limit, or repeats
    are counted (the previous complaint of a trigger may be older than any window)."""
    last = t.opened_at < dates[-1]
    if wanted.any(*UNBOUNDED) or wanted.any("repeats_", prefix=True):
        return t.filter(last)
    return t.filter(last & (t.opened_at >= dates[0] - pd.Timedelta(days=max(WINDOWS))))


def _on_this_machine(con) -> bool:
    """Whether the engine runs in this process: its complaints already lie beside the driver."""
    return con.name == "duckdb"


def _sums(con) -> type[Sums]:
    """Sums in the engine for a cluster (the driver receives per-client sums only); for an
    in-process engine, per-complaint measures summed by numpy, which is faster there."""
    return LocalSums if _on_this_machine(con) else Sums


def _complaint_features(con, t, dates: list[pd.Timestamp], cells: Cells, wanted: Wanted, timed: bool,
                        durations: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """Every feature that is a sum, a rate, a mean or a latest value. The engine sums per
    client and cutoff index where each complaint enters and leaves a window; the windows
    are rolled forward here. Then the ``durations``' medians and 90th percentiles."""
    origin = ibis.literal(dates[0])
    known = (t.opened_at, t.resolved_at) if timed else (t.opened_at,)

    # what is known at the opening, from the opening's cutoff until the window's end
    counted = set(wanted.windows("complaints_{}"))
    counted |= {365} if wanted("open_complaints") or wanted("complaint_rate_vs_segment") else set()
    counted |= {90, 180} if wanted("trend_90") else set()
    opening = {"n": Recorded(t.opened_at)}
    if wanted.windows("repeats_{}"):
        opening["repeat"] = Repeat(t.trigger, REPEAT_DAYS)
    for trigger in TRIGGERS:
        if wanted.windows(f"complaints_{{}}_{trigger}"):
            opening[f"trigger_{trigger}"] = Equals(t.trigger, trigger)
    for severity in SEVERITIES:
        if wanted.windows(f"complaints_{{}}_severity_{severity}"):
            opening[f"severity_{severity}"] = Equals(t.severity, severity)
    if wanted("severity_load"):  # every severity so far, weighted by 2^(age from the first cutoff / half-life)
        days = milliseconds(con, t.opened_at, origin).cast("float64") / (DAY * 1000)
        opening["severity_weight"] = t.severity.fill_null(0).cast("float64") * (days * (np.log(2) / LOAD_HALF_LIFE)).exp()
    opened_latest = {"last_opened": t.opened_at} if wanted("days_since_last_complaint") else {}

    # what is recorded at the resolution, from the resolution's cutoff until the window's end
    closing = {}
    for rate, flag in RATES.items():
        if wanted.windows(rate + "_{}"):
            value = t.reopen_count > 0 if flag == "reopened" else t[flag]
            closing[f"{flag}_yes"], closing[f"{flag}_recorded"] = Equals(value, True), Recorded(value)
    if wanted.windows("csat_mean_{}"):
        closing["rated"], closing["csat_sum"] = Recorded(t.csat), t.csat.fill_null(0).cast("float64")
    for name, column in {"handling_minutes": "handling_minutes", "credits": "credit_amount"}.items():
        if wanted.windows(name + "_{}"):
            closing[column] = (t[column].cast("float64").fill_null(0) * PARTS).round().cast("float64")
    if wanted.windows("unresolved_{}"):
        closing["unresolved"] = Equals(t.resolution, "unresolved")
    known_latest = {}
    if wanted("csat_latest"):  # milliseconds x 8 + score: the largest is the latest score
        rated_at = t.resolved_at if timed else t.opened_at
        key = milliseconds(con, rated_at, origin) * 8 + t.csat
        known_latest["csat_key"] = key.cast("float64")
    if _on_this_machine(con):
        # one fetch for both, the durations' moments with it: sums by the opening's cutoffs add up over the resolution's
        reached = {name: t[DURATIONS[name]] for name in durations}
        at = LocalSums(con, t, t.opened_at, dates, opening | closing, cells, opened_latest | known_latest, known=known, reached=reached)
        # numpy works on one core: the quantiles (which read the fetched rows only) sort on the other
        with ThreadPoolExecutor(1) as beside:
            quantiles_found = beside.submit(_duration_features, con, at, t, dates, cells, durations)
            return _summed(at, at, cells, wanted, counted) | quantiles_found.result()
    # each cutoff index sums only the measures asked of it: the driver receives half as many columns
    at = Sums(con, t, t.opened_at, dates, opening, cells, opened_latest)
    known_at = Sums(con, t, t.opened_at, dates, closing | {"n": opening["n"]}, cells, known_latest, known=known)
    return _summed(at, known_at, cells, wanted, counted) | _duration_features(con, at, t, dates, cells, durations)


def _summed(at: Sums | LocalSums, known_at: Sums | LocalSums, cells: Cells, wanted: Wanted, counted: set[int]) -> dict[str, np.ndarray]:
    """The features made of sums, means and latest values: ``at`` sums what is known at the
    opening, ``known_at`` what is recorded at the resolution."""

    def per_window(sums: Sums, windows, measure: str, entered: str = "opened", leaving: str = "leaves_{}") -> dict[int, np.ndarray]:
        """Per window, the sum of ``measure`` over the complaints in it."""
        if not windows:
            return {}
        came = sums(entered, measure)  # the same for every window
        return {days: cells.window(came, sums(leaving.format(days), measure)) for days in windows}

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


def _duration_windows(wanted: Wanted, source: Source) -> dict[str, list[int]]:
    """The windows of each duration with a wanted median or 90th percentile, of the durations recorded."""
    windows = {name: sorted({d for stat in ("median", "p90") for d in wanted.windows(f"{name}_{stat}_{{}}")}) for name in DURATIONS}
    return {name: days for name, days in windows.items() if days and source.has(DURATIONS[name])}


def _duration_features(con, sums: Sums | LocalSums, t, dates: list[pd.Timestamp], cells: Cells, durations: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """Medians and 90th percentiles of time to first response and to resolution, of the
    complaints in each window that had got that far before the cutoff: computed by the
    engine per client and cutoff (they are not sums, so they cannot be rolled forward), or
    here from the rows the sums fetched."""
    if not durations:
        return {}
    if isinstance(sums, LocalSums):
        found = local_quantiles(sums, durations, cells, dates)
    else:
        found = quantiles(con, t, t.opened_at, {name: t[DURATIONS[name]] for name in durations}, durations, cells, dates)
    features = {}
    for name, per_window in found.items():
        for days, (median, p90) in per_window.items():
            features[f"{name}_median_{days}"], features[f"{name}_p90_{days}"] = median, p90
    return features


def _contact_features(con, interactions, dates, cells: Cells) -> dict[str, np.ndarray]:
    """Angry and abusive contacts per window, rolled forward like the complaint sums."""
    t = interactions.filter(interactions.tone.isin(["angry", "abusive"]) & (interactions.at < dates[-1]))
    at = _sums(con)(con, t, t.at, dates, {tone: Equals(t.tone, tone) for tone in ("angry", "abusive")}, cells)
    return {f"{tone}_contacts_{days}": cells.window(at("opened", tone), at(f"leaves_{days}", tone)) for tone in ("angry", "abusive") for days in WINDOWS}


def _against_peers(complaints_365: np.ndarray, grid: dict, history: History | Source) -> np.ndarray:
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


def _tidy(grid: dict, features: dict[str, np.ndarray], history: History | Source, wanted: Wanted) -> pd.DataFrame:
    """One table: client and cutoff, the wanted features of recorded columns, attributes, labels.
    Built once from its columns, without copying them into blocks."""
    if "complaints_to_date" in features and history.has("contract_start", table="clients"):
        # the client's lifetime complaint rate; the first quarter counts as a full quarter
        tenure = grid["tenure_days"].astype(float)
        features["complaint_rate_per_year"] = features["complaints_to_date"] / np.maximum(tenure, 91) * 365
    if "complaints_365" in features and wanted("complaint_rate_vs_segment"):
        features["complaint_rate_vs_segment"] = _against_peers(features["complaints_365"], grid, history)
    recorded = {name: features[name] for name in FEATURES if name in features and wanted(name)}
    recorded = {name: values.astype(np.int64, copy=False) if name.startswith(COUNTS) else values for name, values in recorded.items()}
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
