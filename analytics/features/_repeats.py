"""Repeat triggers: does the same client raise the same trigger again after a resolution?"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics._engine import connection
from analytics._time import naive_utc
from analytics.features._source import data_end
from analytics.io import History


def repeats(history: History, within: str = "90D", engine=None) -> pd.DataFrame:
    """For each resolved complaint: whether the same client raised the same trigger again
    within ``within`` after its resolution, and when. The self-join runs in ``engine``,
    DuckDB in this process unless given, whatever the history's own: the flags come back a
    row per complaint, beside the complaints this process holds already.

    Returns
    -------
    DataFrame
        One row per complaint, in the history's order: ``complaint_id``, ``client_id``, ``trigger``, ``resolved_at``,
        ``repeat_at`` (opening of the first such complaint), ``days_to_repeat``,
        ``repeated`` (null for complaints without a trigger or a resolution) and
        ``censored`` (no repeat seen, but the window runs past the end of the data) and
        ``complete`` (the whole window lies within the data: only these give unbiased
        repeat rates, since a repeat can be seen early in a window that is cut short).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> flags = repeats(load_sample())
    >>> bool(0 < flags["repeated"].mean() < 1)
    True
    """
    lacking = [column for column in ("trigger", "resolved_at") if not history.has(column)]
    if lacking:
        raise ValueError(f"repeats need {' and '.join(lacking)} on the complaints, which this history does not record")
    window, end = pd.Timedelta(within), data_end(history)
    # the same flags on every engine: one computation per history serves every analysis
    return history.remembered(("repeats", window, end), list(COLUMNS), lambda: _repeats(history.complaints[list(COLUMNS)], window, end, engine))


#: the complaint columns repeat flags are computed from
COLUMNS = {"complaint_id": "string", "client_id": "string", "trigger": "string", "opened_at": "timestamp('UTC')", "resolved_at": "timestamp('UTC')"}


def _repeats(frame: pd.DataFrame, window: pd.Timedelta, end: pd.Timestamp, engine) -> pd.DataFrame:
    # only a row number goes in beside the join's columns, and only it and the repeat come back
    numbered = pd.DataFrame({"row": np.arange(len(frame), dtype=np.int64)} | {c: frame[c] for c in COLUMNS if c != "complaint_id"}, copy=False)
    complaints = ibis.memtable(numbered).cast({"row": "int64"} | {c: kind for c, kind in COLUMNS.items() if c != "complaint_id"})
    later = complaints.select(later_client=complaints.client_id, later_trigger=complaints.trigger, later_opened=complaints.opened_at)
    limit = ibis.interval(seconds=int(window.total_seconds()))
    joined = complaints.left_join(
        later,
        [
            complaints.client_id == later.later_client,
            complaints.trigger == later.later_trigger,
            later.later_opened > complaints.resolved_at,
            later.later_opened <= complaints.resolved_at + limit,
        ],
    )
    first = joined.group_by("row").aggregate(repeat_at=joined.later_opened.min())
    with connection(engine) as con:
        found = con.to_pyarrow(first)
    repeat_at = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[us]")
    repeat_at[found["row"].to_numpy()] = found["repeat_at"].cast(pa.timestamp("us", "UTC")).to_numpy(zero_copy_only=False)
    result = pd.DataFrame({c: _text(frame[c]) for c in ("complaint_id", "client_id", "trigger")})
    result["resolved_at"] = pd.DatetimeIndex(naive_utc(frame["resolved_at"])).tz_localize("UTC")  # by position
    result["repeat_at"] = pd.to_datetime(repeat_at, utc=True)
    result["days_to_repeat"] = (result["repeat_at"] - result["resolved_at"]).dt.total_seconds() / 86400
    applicable = result["resolved_at"].notna() & result["trigger"].notna()
    result["repeated"] = pd.Series(result["repeat_at"].notna(), dtype="boolean").where(applicable)
    result["censored"] = applicable & ~result["repeat_at"].notna() & (result["resolved_at"] + window > end)
    result["complete"] = applicable & (result["resolved_at"] + window <= end)
    return result


def _text(values: pd.Series):
    """A text column by position, kept as it is when it already holds strings (pandas' or
    Arrow's: converting ten million Arrow strings costs seconds)."""
    arrow = values.dtype.pyarrow_dtype if isinstance(values.dtype, pd.ArrowDtype) else None
    kept = isinstance(values.dtype, pd.StringDtype) or (arrow is not None and (pa.types.is_string(arrow) or pa.types.is_large_string(arrow)))
    return values.array if kept else pd.array(values.to_numpy(), dtype="string")
