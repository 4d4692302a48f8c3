"""What the snapshots read: a History in memory, or a saved one that the engine reads
itself; the cutoffs, and where the data ends."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import ibis
import pandas as pd

from analytics._engine import connection, engine_of
from analytics._time import utc
from analytics.features._catalogue import COMPLAINT_COLUMNS, CONTACT_COLUMNS
from analytics.features._stored import StoredHistory
from analytics.io import History


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
    return cutoff_dates(history.span, cutoffs)


def cutoff_dates(span, cutoffs) -> list[pd.Timestamp]:
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
    if isinstance(history, StoredHistory):
        return history.end
    if history.seen_until is not None:
        return utc(history.seen_until)
    moments = [history.complaints[c].max() for c in ("opened_at", "first_response_at", "resolved_at", "closed_at") if c in history.complaints]
    moments += [history.interactions["at"].max(), history.clients["ended_at"].max()]
    return max(utc(m) for m in moments if pd.notna(m))


@contextlib.contextmanager
def staged(history: History | str | Path, con):
    """The history as the engine reads it: a History in memory goes to Spark in local mode
    as Parquet files in a scratch folder, which Spark reads itself (handed over as a table,
    millions of complaints would pass through the driver, and past Arrow's limits row by
    row). A cluster cannot read this machine's folders: give it a saved history's folder.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import connection, staged
    >>> with connection() as con, staged(load_sample(), con) as source:  # DuckDB reads it where it is
    ...     type(source).__name__
    'History'
    """
    if isinstance(history, History) and con.name == "pyspark" and con._session.sparkContext.master.startswith("local"):
        with tempfile.TemporaryDirectory(prefix="client-health-spark-") as scratch:
            yield history.save(Path(scratch) / "history")
    else:
        yield history


@contextlib.contextmanager
def reading(history: History | str | Path, engine=None):
    """The engine an analysis of ``history`` runs on (:func:`~analytics._engine.engine_of`),
    and the history as that engine reads it (:func:`staged`).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import reading
    >>> with reading(load_sample()) as (con, source):
    ...     con.name, len(source.complaints)
    ('duckdb', 13119)
    """
    with connection(engine_of(history, engine)) as con, staged(history, con) as source:
        yield con, source


class Source:
    """What the snapshots read: a History in memory, or a saved one that the engine reads
    itself (its folder or URL, or a :class:`StoredHistory`)."""

    def __init__(self, history: History | StoredHistory | str | Path, con):
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
        self.stored = stored = history if isinstance(history, StoredHistory) else StoredHistory(history, con)
        self.clients, self.has, self.span, self.end = stored.clients, stored.has, stored.span, stored.end
        complaints = stored.complaints_table(con)
        self.complaints = complaints.select(
            **{c: complaints[c].cast(kind) if c in complaints.columns else ibis.null(kind) for c, kind in COMPLAINT_COLUMNS.items()}
        )
        interactions = stored.interactions_table(con)
        self.interactions = interactions.select(**{c: interactions[c].cast(kind) for c, kind in CONTACT_COLUMNS.items()})
