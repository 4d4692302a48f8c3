"""The snapshots' sums and quantiles on this machine (DuckDB in-process): the engine hands
over one small row per complaint, in client order, and numpy places each among the cutoffs
and sums per cell. Where the data already lies beside the driver this beats a query per
cutoff index (:class:`~analytics.features._aggregate.Sums`, for a cluster)."""

from __future__ import annotations

import functools

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.features._aggregate import HOUR_MS, Quantiles, floats
from analytics.features._measures import Equals, Recorded, Repeat, repeated
from analytics.features._rolling import Cells


@ibis.udf.scalar.builtin(name="hash")
def duckdb_hash(value: dt.string) -> dt.uint64:
    """DuckDB's 64-bit hash of a string."""


def local_index(micros: np.ndarray, dates: list[pd.Timestamp], days: int = 0) -> np.ndarray:
    """:func:`~analytics.features._aggregate.cutoff_index` in numpy, on microseconds since 1970 (:func:`_micros`)."""
    index = np.zeros(len(micros), dtype=np.int16)
    for date in dates:  # a pass per cutoff: several times faster than a binary search per row
        index += micros >= (date - pd.Timedelta(days=days)).value // 1000
    return index


NEVER = np.iinfo(np.int64).max


def _micros(values: pa.ChunkedArray) -> np.ndarray:
    """Timestamps as exact microseconds since 1970; null as the largest integer (never)."""
    micros = values.cast(pa.timestamp("us", "UTC")).cast(pa.int64()).fill_null(NEVER)
    return micros.to_numpy()


def _category(column, values: list):
    """Each row's category of ``column``: 0 no value, 1 another value, 2 + i the i-th of ``values``."""
    return ibis.cases((column.isnull(), 0), *((column == value, 2 + i) for i, value in enumerate(values)), else_=1).cast("int8")


class LocalSums:
    """:class:`~analytics.features._aggregate.Sums` for an engine on this machine (DuckDB in-process): the engine hands over
    one row per complaint with only the wanted measures and moments, in small types; numpy
    places each moment among the cutoffs and sums per cell. Where the data already lies
    beside the driver this beats a query per index. The moments in ``reached`` (name ->
    expression) come in the same fetch, for :func:`local_quantiles`."""

    def __init__(self, con, table, moment, dates: list[pd.Timestamp], measures: dict, cells: Cells, maxima: dict | None = None,
                 known=(), reached: dict | None = None):
        self.cells, self.dates = cells, dates
        roles = {"moment": moment} | {f"known_{i}": m for i, m in enumerate(known)} | {f"reached_{n}": m for n, m in (reached or {}).items()}
        moments = {}  # each moment fetched once, whatever roles it has
        for m in roles.values():
            moments.setdefault(m.op(), f"moment_{len(moments)}")
        # Equals and Recorded of one column are counted together, from each row's category of the
        # column, given by the engine: 0 no value, 1 another value, 2 + i the i-th value asked about
        asked = {}  # column -> the values asked about
        for m in measures.values():
            if isinstance(m, Equals | Recorded):
                values = asked.setdefault(m.column.op(), [])
                if isinstance(m, Equals) and m.value not in values:
                    values.append(m.value)
        names = {op: f"category_{i}" for i, op in enumerate(asked)}
        self.counted = {  # measure -> (its column's category, the categories it counts: one, or a run of them)
            name: (names[m.column.op()], [2 + asked[m.column.op()].index(m.value)] if isinstance(m, Equals) else list(range(1, 2 + len(asked[m.column.op()]))))
            for name, m in measures.items() if isinstance(m, Equals | Recorded)
        }
        repeats = {name: m for name, m in measures.items() if isinstance(m, Repeat)}
        sums = {name: m for name, m in measures.items() if not isinstance(m, Equals | Recorded | Repeat)}
        selected = table.select(
            code=table.code, **{name: op.to_expr() for op, name in moments.items()},
            **{names[op]: _category(op.to_expr(), values) for op, values in asked.items()},
            **{f"group_{name}": m.group for name, m in repeats.items()}, **sums, **(maxima or {}),
        )
        # in client order, each cutoff's sums are written in order: bincount runs several times faster;
        # a repeat's group and time next, so that a row's previous one of the group lies just before it
        # (the group by its hash: sorting strings takes longer; two groups of a client would mix only if
        # their 64-bit hashes were equal)
        groups = [duckdb_hash(selected[f"group_{name}"]) for name in repeats]
        order = [selected.code, *groups, selected[moments[moment.op()]]] if groups else [selected.code]
        fetched = con.to_pyarrow(selected.order_by(order))
        micros = {name: _micros(fetched[name]) for name in moments.values()}
        self.rows = {role: micros[moments[m.op()]] for role, m in roles.items()}
        self.rows |= {name: fetched[name].to_numpy(zero_copy_only=False) for name in sums}
        self.rows |= {name: floats(fetched[name]) for name in maxima or {}}
        self.categories = {names[op]: (fetched[names[op]].to_numpy(zero_copy_only=False), 2 + len(values)) for op, values in asked.items()}
        code = fetched["code"].to_numpy(zero_copy_only=False)
        for name, m in repeats.items():
            self.rows[name] = repeated(code, fetched[f"group_{name}"], self.rows["moment"], m.days)
        del fetched
        self.code = code.astype(np.int64)
        self.known = [self.rows.pop(f"known_{i}") for i in range(len(known))]
        self.reached = {name: self.rows.pop(f"reached_{name}") for name in reached or {}}
        self._index, self._cell, self._counting, self._counts = {}, {}, {}, {}
        self._key = None  # one array for every category key: each new array of this size costs its page faults

    def index(self, name: str) -> np.ndarray:
        """Each complaint's cutoff index ``name`` (the number of cutoffs means never)."""
        if name not in self._index:
            if name == "known":
                index = functools.reduce(np.maximum, [self.index("opened") if m is self.rows["moment"] else local_index(m, self.dates) for m in self.known])
            elif name.startswith("known_"):
                index = np.maximum(self.index("known"), self.index(name.removeprefix("known_")))
            else:
                index = local_index(self.rows["moment"], self.dates, 0 if name == "opened" else int(name.removeprefix("leaves_")))
            self._index[name] = index
        return self._index[name]

    def cell(self, name: str) -> np.ndarray:
        """Each complaint's cell at cutoff index ``name``."""
        if name not in self._cell:
            cell = self.index(name).astype(np.int64)  # in place from here: each new array of this size costs its page faults
            cell *= self.cells.clients
            cell += self.code
            self._cell[name] = cell
        return self._cell[name]

    def __call__(self, index: str, measure: str) -> np.ndarray:
        if measure in self.counted:
            if (index, measure) not in self._counts:
                self._count_categories(index, self.counted[measure][0])
            return self._counts.pop((index, measure))  # each is asked for once; asked again, it is counted again
        values = self.rows[measure]
        if values.dtype.kind not in "iub" or values.max(initial=0) > 1:
            return self.cells.sums(self.cell(index), values)
        # a count of 0/1 flags: bincount the rows that count, unweighted
        if measure not in self._counting:
            self._counting[measure] = None if values.all() else values.astype(bool, copy=False)
        rows = self._counting[measure]
        return self.cells.sums(self.cell(index) if rows is None else self.cell(index)[rows])

    def latest(self, index: str, measure: str) -> np.ndarray:
        return self.cells.latest(self.cell(index), self.rows[measure])

    def _count_categories(self, index: str, column: str) -> None:
        """Every measure of ``column`` at cutoff index ``index`` from one bincount of the
        rows' categories; each category's counts lie in a block of their own."""
        (category, kinds), size = self.categories[column], (self.cells.cutoffs + 1) * self.cells.clients
        if self._key is None:
            self._key = np.empty(len(category), dtype=np.int64)
        key = np.multiply(category, size, out=self._key, dtype=np.int64)
        key += self.cell(index)
        counts = np.bincount(key, minlength=kinds * size).reshape(kinds, self.cells.cutoffs + 1, self.cells.clients)
        for name, (of, chosen) in self.counted.items():
            if of == column:
                self._counts[index, name] = counts[chosen[0], : self.cells.cutoffs] if len(chosen) == 1 else counts[chosen[0] : chosen[-1] + 1, : self.cells.cutoffs].sum(axis=0)


def local_quantiles(sums: LocalSums, windows: dict[str, list[int]], cells: Cells, dates: list[pd.Timestamp]) -> Quantiles:
    """:func:`~analytics.features._aggregate.quantiles` on this machine, from the rows :class:`LocalSums` fetched (in client
    order) with each duration's moment reached. For each duration the client and the
    milliseconds are packed into one integer and sorted (a stable sort, quick on rows
    already in client order), so that each client's durations lie side by side, in order,
    and stay so in any cutoff's selection; interpolated linearly, as DuckDB and Spark do."""
    opened = sums.rows["moment"]
    return {name: _local_quantiles(sums.code, opened, reached, windows[name], cells, dates) for name, reached in sums.reached.items()}


def _local_quantiles(code: np.ndarray, opened: np.ndarray, reached: np.ndarray, windows: list[int], cells: Cells, dates) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    found = {days: (np.full(len(cells.rows), np.nan), np.full(len(cells.rows), np.nan)) for days in windows}
    oldest = (dates[0] - pd.Timedelta(days=max(windows))).value // 1000
    kept = (reached != NEVER) & (opened >= oldest)
    if not kept.any():
        return found
    code, opened, reached = code[kept], opened[kept], reached[kept]
    ms = reached // 1000 - opened // 1000  # milliseconds begun between them, as the engines count
    lowest = int(ms.min())
    order = np.argsort(code * (int(ms.max()) - lowest + 1) + (ms - lowest), kind="stable")
    code, ms = code[order], ms[order].astype(np.float64)
    opened, reached = opened[order], reached[order]
    start = np.maximum(local_index(opened, dates), local_index(reached, dates))
    leaving = {days: local_index(opened, dates, days) for days in windows}
    longest = max(windows)
    for k in range(cells.cutoffs):
        held = np.flatnonzero((start <= k) & (k < leaving[longest]))
        for days, (median, p90) in found.items():
            inside = held if days == longest else held[k < leaving[days][held]]
            if len(inside) == 0:
                continue
            client, value = code[inside], ms[inside]
            first = np.flatnonzero(np.r_[True, client[1:] != client[:-1]])
            size = np.diff(np.r_[first, len(inside)])
            rows = cells.row_at(k * cells.clients + client[first])
            active = rows >= 0
            for out, q in ((median, 0.5), (p90, 0.9)):
                out[rows[active]] = _interpolated(value, first, size, q)[active] / HOUR_MS
    return found


def _interpolated(ordered: np.ndarray, first: np.ndarray, size: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile of each group of ``ordered`` (sorted within groups that start at
    ``first``), in Spark's arithmetic term for term, so that both engines give the same doubles."""
    position = q * (size - 1)
    below, above = np.floor(position), np.ceil(position)
    low, high = ordered[first + below.astype(np.int64)], ordered[first + above.astype(np.int64)]
    return np.where(below == above, low, (above - position) * low + (position - below) * high)
