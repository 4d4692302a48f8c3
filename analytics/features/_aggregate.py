"""The engine's share of the snapshots. Each complaint (or contact) is placed at the cutoff
where it enters a window and the one where it leaves. On a cluster the engine sums per
client and cutoff and computes medians and 90th percentiles exactly, so the driver receives
at most clients x cutoffs rows per sum, however many complaints there are; on this machine
numpy does the same from one small row per complaint. Either way the driver rolls the
windows forward (:class:`~analytics.features._rolling.Cells`).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.features._rolling import Cells

HOUR_MS = 3_600_000


def cutoff_index(moment, dates: list[pd.Timestamp], days: int = 0):
    """How many cutoffs fall at or before ``moment`` + ``days``: the index of the first
    cutoff whose window the moment has entered (``days`` 0) or left; null (never) gives the
    number of cutoffs."""
    return _position(moment, [date - pd.Timedelta(days=days) for date in dates])


def at_least(first, second):
    """The later of two cutoff indexes."""
    return ibis.greatest(first, second)


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
    (given) and ``known_<index>`` (never before ``known``); each sum comes back as a cutoffs x
    clients array."""

    def __init__(self, con, table, moment, dates: list[pd.Timestamp], shifts, measures: dict, cells: Cells, maxima: dict | None = None,
                 known=None):
        self.con, self.table, self.moment, self.dates, self.known, self.cells = con, table, moment, dates, known, cells
        self.aggregates = {m: expr.sum() for m, expr in measures.items()} | {m: expr.max() for m, expr in (maxima or {}).items()}
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


def _nanoseconds(moments: list[pd.Timestamp]) -> np.ndarray:
    return np.array([moment.value for moment in moments], dtype=np.int64)


def _fetched(con, grouped) -> dict[str, np.ndarray]:
    """The grouped rows' columns as numpy arrays: output-sized, whatever the engine summed over."""
    fetched = con.to_pyarrow(grouped)
    return {name: _numbers(values) for name, values in zip(fetched.column_names, fetched.columns, strict=True)}


def _numbers(values: pa.ChunkedArray) -> np.ndarray:
    """A column as float64 (NaN for null), timestamps as seconds since 1970."""
    if pa.types.is_timestamp(values.type):
        micros = values.cast(pa.timestamp("us", "UTC")).to_numpy(zero_copy_only=False).view(np.int64)
        seconds = micros / 1e6
        seconds[micros == np.iinfo(np.int64).min] = np.nan
        return seconds
    return values.to_numpy(zero_copy_only=False).astype(np.float64)


def quantiles(con, table, start, leaves: dict[int, object], duration, cells: Cells) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per window (``leaves``: days -> the cutoff index where a row leaves it), the median and
    90th percentile of ``duration`` (milliseconds) per output row, over the rows with
    ``start`` <= k < leaves: each row is repeated for the cutoffs whose longest window holds
    it, and the engine groups by client and cutoff in one query."""
    longest = max(leaves)
    keyed = table.select(code=table.code, start=start, ms=duration.cast("float64"), **{f"leaves_{d}": index for d, index in leaves.items()})
    keyed = keyed.filter(keyed.ms.notnull() & (keyed.start < keyed[f"leaves_{longest}"]))
    ks = ibis.memtable(pd.DataFrame({"k": np.arange(cells.cutoffs, dtype=np.int32)}))
    spread = keyed.join(ks, [keyed.start <= ks.k, ks.k < keyed[f"leaves_{longest}"]])
    stats = {}
    for days in leaves:
        inside = spread.k < spread[f"leaves_{days}"]
        stats |= {f"median_{days}": spread.ms.quantile(0.5, where=inside), f"p90_{days}": spread.ms.quantile(0.9, where=inside)}
    fetched = _fetched(con, spread.group_by(["code", "k"]).aggregate(**stats))
    rows = cells.row_at(fetched["k"].astype(np.int64) * cells.clients + fetched["code"].astype(np.int64))
    kept = rows >= 0
    found = {}
    for days in leaves:
        median, p90 = np.full(len(cells.rows), np.nan), np.full(len(cells.rows), np.nan)
        median[rows[kept]] = fetched[f"median_{days}"][kept] / HOUR_MS
        p90[rows[kept]] = fetched[f"p90_{days}"][kept] / HOUR_MS
        found[days] = median, p90
    return found


class LocalSums:
    """:class:`Sums` for an engine on this machine (DuckDB in-process): the engine hands over
    one row per complaint with only the wanted measures, in small types, and numpy sums them
    per cell. Where the data already lies beside the driver this beats a query per index."""

    def __init__(self, con, table, moment, dates: list[pd.Timestamp], shifts, measures: dict, cells: Cells, maxima: dict | None = None,
                 known=None):
        self.cells = cells
        self.bounds = {days: _nanoseconds([date - pd.Timedelta(days=days) for date in dates]) / 1e9 for days in {0, *shifts}}
        columns = {"code": table.code, "moment": moment} | ({"known": known} if known is not None else {})
        fetched = con.to_pyarrow(table.select(**columns, **measures, **(maxima or {})))
        self.rows = {name: _numbers(values) if pa.types.is_timestamp(values.type) or name in (maxima or {}) else values.to_numpy(zero_copy_only=False)
                     for name, values in zip(fetched.column_names, fetched.columns, strict=True)}
        del fetched
        self.code = self.rows.pop("code").astype(np.int64)
        self._index, self._cell, self._counting = {}, {}, {}

    def index(self, name: str) -> np.ndarray:
        """Each complaint's cutoff index ``name`` (the number of cutoffs means never)."""
        if name not in self._index:
            if name == "known":
                index = self.rows["known"].astype(np.int64)
            elif name.startswith("known_"):
                index = np.maximum(self.index("known"), self.index(name.removeprefix("known_")))
            else:
                bounds = self.bounds[0 if name == "opened" else int(name.removeprefix("leaves_"))]
                index = np.searchsorted(bounds, self.rows["moment"], side="right")  # NaN sorts last: never
            self._index[name] = index
        return self._index[name]

    def cell(self, name: str) -> np.ndarray:
        """Each complaint's cell at cutoff index ``name``."""
        if name not in self._cell:
            self._cell[name] = self.index(name) * self.cells.clients + self.code
        return self._cell[name]

    def __call__(self, index: str, measure: str) -> np.ndarray:
        values = self.rows[measure]
        if values.dtype.kind not in "iub" or values.max(initial=0) > 1:
            return self.cells.sums(self.cell(index), values)
        # a count of 0/1 flags: bincount the rows that count, unweighted (most flags are rare)
        if measure not in self._counting:
            self._counting[measure] = None if (values == 1).all() else np.flatnonzero(values)
        rows = self._counting[measure]
        return self.cells.sums(self.cell(index) if rows is None else self.cell(index)[rows])

    def latest(self, index: str, measure: str) -> np.ndarray:
        return self.cells.latest(self.cell(index), self.rows[measure])


def local_quantiles(con, table, start, leaves: dict[int, object], duration, cells: Cells) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """:func:`quantiles` on this machine: for each cutoff, the client and the duration are
    packed into one integer, so that a single sort orders both and each client's durations
    lie side by side, in order; interpolated linearly, as DuckDB and Spark do."""
    fetched = con.to_pyarrow(table.filter(duration.notnull()).select(
        code=table.code, start=start, ms=duration, **{f"leaves_{d}": index for d, index in leaves.items()}))
    c = {name: values.to_numpy(zero_copy_only=False) for name, values in zip(fetched.column_names, fetched.columns, strict=True)}
    found = {}
    if not len(c["ms"]):
        return {days: (np.full(len(cells.rows), np.nan), np.full(len(cells.rows), np.nan)) for days in leaves}
    lowest = int(c["ms"].min())
    span = int(c["ms"].max()) - lowest + 1
    ticks = c["ms"].astype(np.int64) - lowest
    for days in leaves:
        median, p90 = np.full(len(cells.rows), np.nan), np.full(len(cells.rows), np.nan)
        for k in range(cells.cutoffs):
            inside = (c["start"] <= k) & (k < c[f"leaves_{days}"])
            keys = np.sort(c["code"][inside].astype(np.int64) * span + ticks[inside])
            if len(keys) == 0:
                continue
            client, value = np.divmod(keys, span)
            first = np.flatnonzero(np.r_[True, client[1:] != client[:-1]])
            size = np.diff(np.r_[first, len(keys)])
            rows = cells.row_at(k * cells.clients + client[first])
            ms = (value + lowest).astype(np.float64)
            for out, q in ((median, 0.5), (p90, 0.9)):
                # Spark's arithmetic, term for term, so that both engines give the same doubles
                position = q * (size - 1)
                below, above = np.floor(position), np.ceil(position)
                low, high = ms[first + below.astype(np.int64)], ms[first + above.astype(np.int64)]
                blended = np.where(below == above, low, (above - position) * low + (position - below) * high)
                out[rows[rows >= 0]] = blended[rows >= 0] / HOUR_MS
        found[days] = median, p90
    return found
