"""The engine's share of the snapshots. Each complaint (or contact) is placed at the cutoff
where it enters a window and the one where it leaves. On a cluster the engine sums per
client and cutoff and computes medians and 90th percentiles exactly, so the driver receives
at most clients x cutoffs rows per sum, however many complaints there are; on this machine
numpy does the same from one small row per complaint (:mod:`~analytics.features._local`).
Either way the driver rolls the windows forward (:class:`~analytics.features._rolling.Cells`).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.features._measures import Repeat, engine_measure, repeat_flag
from analytics.features._rolling import Cells

HOUR_MS = 3_600_000


@ibis.udf.scalar.builtin
def epoch_ms(moment: dt.Timestamp(timezone="UTC")) -> dt.int64:
    """DuckDB's milliseconds since 1970."""


@ibis.udf.scalar.builtin
def unix_millis(moment: dt.Timestamp(timezone="UTC")) -> dt.int64:
    """Spark's milliseconds since 1970."""


def milliseconds(con, later, earlier):
    """Milliseconds from ``earlier`` to ``later``, each counted whole since 1970 (as the
    engines count a date difference), with the engine's own function where it has one:
    DuckDB's date difference of zoned times is several times slower.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> from analytics.features import connect, interval, milliseconds
    >>> con = connect()
    >>> start = ibis.literal(pd.Timestamp("2025-01-01", tz="UTC"))
    >>> int(con.execute(milliseconds(con, start + interval(pd.Timedelta(hours=2)), start)))
    7200000
    >>> con.disconnect()
    """
    since = {"duckdb": epoch_ms, "pyspark": unix_millis}.get(con.name)
    if since is None:
        return later.delta(earlier, unit="millisecond")
    return since(later) - since(earlier)


def cutoff_index(moment, dates: list[pd.Timestamp], days: int = 0):
    """How many cutoffs fall at or before ``moment`` + ``days``: the index of the first
    cutoff whose window the moment has entered (``days`` 0) or left; null (never) gives the
    number of cutoffs.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> from analytics.features import connect, cutoff_index
    >>> con = connect()
    >>> moments = ibis.memtable({"at": pd.to_datetime(["2024-12-31", "2025-02-01", "2025-05-01"], utc=True)})
    >>> con.execute(cutoff_index(moments.at, [pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-04-01", tz="UTC")])).tolist()
    [0, 1, 2]
    >>> con.disconnect()
    """
    return _position(moment, [date - pd.Timedelta(days=days) for date in dates])


def at_least(first, second):
    """The later of two cutoff indexes."""
    return ibis.greatest(first, second)


def _latest_index(indexes: list):
    """The latest of cutoff indexes (None for none)."""
    latest = indexes[0] if indexes else None
    for index in indexes[1:]:
        latest = at_least(latest, index)
    return latest


def _position(moment, bounds: list[pd.Timestamp]):
    """How many of the sorted ``bounds`` fall at or before ``moment``; null gives ``len(bounds)``.
    A binary search written as nested conditions: each row is compared with log2(bounds) of them."""

    def search(low: int, high: int):  # bounds[:low] are at or before the moment, bounds[high:] after it
        if low == high:
            return ibis.literal(low, type="int32")
        middle = (low + high) // 2
        return ibis.ifelse(moment >= bounds[middle], search(middle + 1, high), search(low, middle))

    return ibis.ifelse(moment.isnull(), ibis.literal(len(bounds), type="int32"), search(0, len(bounds)))


class Sums:
    """Sums of ``measures`` (and maxima of ``maxima``) per client and cutoff index, made by the
    engine: one query per index asked for, each returning at most clients x cutoffs rows,
    however many complaints there are. The indexes are ``opened`` (the first cutoff after
    ``moment``), ``leaves_<days>`` (the first more than that many days after it), ``known``
    (the first after every moment in ``known``) and ``known_<index>`` (never before
    ``known``); each sum comes back as a cutoffs x clients array."""

    def __init__(self, con, table, moment, dates: list[pd.Timestamp], measures: dict, cells: Cells, maxima: dict | None = None,
                 known=()):
        repeats = {name: repeat_flag(table, moment, m) for name, m in measures.items() if isinstance(m, Repeat)}
        table = table.mutate(**repeats) if repeats else table  # a window cannot sit inside a sum
        measures = measures | {name: table[name] for name in repeats}
        self.con, self.table, self.moment, self.dates, self.cells = con, table, moment, dates, cells
        self.known = _latest_index([cutoff_index(m, dates) for m in known])
        self.aggregates = {m: engine_measure(measure).sum() for m, measure in measures.items()} | {m: expr.max() for m, expr in (maxima or {}).items()}
        self._grouped = {}

    def _index(self, name: str):
        if name == "known":
            return self.known
        if name.startswith("known_"):
            return at_least(self.known, self._index(name.removeprefix("known_")))
        return cutoff_index(self.moment, self.dates, 0 if name == "opened" else int(name.removeprefix("leaves_")))

    def _by(self, name: str) -> dict[str, np.ndarray]:
        if name not in self._grouped:
            keyed = self.table.mutate(k=self._index(name))
            grouped = _fetched(self.con, keyed.filter(keyed.k < self.cells.cutoffs).group_by(["code", "k"]).aggregate(**self.aggregates))
            grouped["cell"] = grouped.pop("k").astype(np.int64) * self.cells.clients + grouped.pop("code").astype(np.int64)
            self._grouped[name] = grouped
        return self._grouped[name]

    def __call__(self, index: str, measure: str) -> np.ndarray:
        """The sum of ``measure`` per cell at cutoff index ``index``, as a cutoffs x clients array."""
        grouped = self._by(index)
        return self.cells.sums(grouped["cell"], grouped[measure])

    def latest(self, index: str, measure: str) -> np.ndarray:
        """The largest value of ``measure`` that entered at or before each output row's cutoff (NaN if none)."""
        grouped = self._by(index)
        return self.cells.latest(grouped["cell"], grouped[measure])


def _fetched(con, grouped) -> dict[str, np.ndarray]:
    """The grouped rows' columns as numpy arrays: output-sized, whatever the engine summed over."""
    fetched = con.to_pyarrow(grouped)
    return {name: floats(values) for name, values in zip(fetched.column_names, fetched.columns, strict=True)}


def floats(values: pa.ChunkedArray) -> np.ndarray:
    """A column as float64 (NaN for null), timestamps as seconds since 1970."""
    if pa.types.is_timestamp(values.type):
        micros = values.cast(pa.timestamp("us", "UTC")).to_numpy(zero_copy_only=False).view(np.int64)
        seconds = micros / 1e6
        seconds[micros == np.iinfo(np.int64).min] = np.nan
        return seconds
    return values.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


Quantiles = dict[str, dict[int, tuple[np.ndarray, np.ndarray]]]


def quantiles(con, table, moment, reached: dict, windows: dict[str, list[int]], cells: Cells, dates: list[pd.Timestamp]) -> Quantiles:
    """Per duration (``reached``: name -> the moment reached) and window (days), the median
    and 90th percentile per output row of the time from ``moment`` to that one (counted in
    milliseconds), over the rows that had reached it before the cutoff and whose ``moment``
    lies within the window: each row is repeated for the cutoffs whose longest window holds
    it, and the engine groups by client and cutoff, one query per duration."""
    return {name: _quantiles(con, table, moment, reached[name], windows[name], cells, dates) for name in reached}


def _quantiles(con, table, moment, reached, windows: list[int], cells: Cells, dates: list[pd.Timestamp]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    longest = max(windows)
    duration = milliseconds(con, reached, moment)
    start = at_least(cutoff_index(moment, dates), cutoff_index(reached, dates))
    leaves = {days: cutoff_index(moment, dates, days) for days in windows}
    keyed = table.select(code=table.code, start=start, ms=duration.cast("float64"), **{f"leaves_{d}": index for d, index in leaves.items()})
    keyed = keyed.filter(keyed.ms.notnull() & (keyed.start < keyed[f"leaves_{longest}"]))
    ks = ibis.memtable(pd.DataFrame({"k": np.arange(cells.cutoffs, dtype=np.int32)}))
    spread = keyed.join(ks, [keyed.start <= ks.k, ks.k < keyed[f"leaves_{longest}"]])
    stats = {}
    for days in windows:
        inside = spread.k < spread[f"leaves_{days}"]
        stats |= {f"median_{days}": spread.ms.quantile(0.5, where=inside), f"p90_{days}": spread.ms.quantile(0.9, where=inside)}
    fetched = _fetched(con, spread.group_by(["code", "k"]).aggregate(**stats))
    rows = cells.row_at(fetched["k"].astype(np.int64) * cells.clients + fetched["code"].astype(np.int64))
    kept = rows >= 0
    found = {}
    for days in windows:
        median, p90 = np.full(len(cells.rows), np.nan), np.full(len(cells.rows), np.nan)
        median[rows[kept]] = fetched[f"median_{days}"][kept] / HOUR_MS
        p90[rows[kept]] = fetched[f"p90_{days}"][kept] / HOUR_MS
        found[days] = median, p90
    return found
