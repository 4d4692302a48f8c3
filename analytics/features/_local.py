"""The snapshots' sums and quantiles on this machine (DuckDB in-process): the engine hands
over one small row per complaint, in client order, and numpy places each among the cutoffs
and sums per cell. Where the data already lies beside the driver this beats a query per
cutoff index (:class:`~analytics.features._aggregate.Sums`, for a cluster)."""

from __future__ import annotations

import functools
import operator

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from analytics.features._aggregate import HOUR_MS, Quantiles, floats
from analytics.features._measures import Equals, Recorded, Repeat, condition, repeated
from analytics.features._rolling import Cells


@ibis.udf.scalar.builtin(name="hash")
def duckdb_hash(value: dt.string) -> dt.uint64:
    """DuckDB's 64-bit hash of a string."""


def local_index(micros: np.ndarray, dates: list[pd.Timestamp], days: int = 0) -> np.ndarray:
    """:func:`~analytics.features._aggregate.cutoff_index` in numpy, on microseconds since 1970."""
    index = np.zeros(len(micros), dtype=np.int16)
    for date in dates:  # a pass per cutoff: several times faster than a binary search per row
        index += micros >= (date - pd.Timedelta(days=days)).value // 1000
    return index


NEVER = np.iinfo(np.int64).max


@ibis.udf.scalar.builtin
def epoch_us(moment: dt.Timestamp(timezone="UTC")) -> dt.int64:
    """DuckDB's microseconds since 1970."""


def _micros(moment):
    """A moment as exact microseconds since 1970, null as the largest integer (never): made by
    the engine as it reads, so that the rows arrive ready for numpy."""
    return epoch_us(moment).fill_null(NEVER)


class LocalSums:
    """:class:`~analytics.features._aggregate.Sums` for an engine on this machine (DuckDB in-process): the engine hands over
    one row per complaint with only the wanted measures and moments, in small types; numpy
    places each moment among the cutoffs and sums per cell. Where the data already lies
    beside the driver this beats a query per index. The moments in ``reached`` (name ->
    expression) come in the same fetch, for :func:`local_quantiles`.

    Counts (:class:`Equals`, :class:`Recorded`, :class:`Repeat`) are laid side by side in
    doubles, so that one weighted bincount counts several of them per cell: no cell holds
    more rows than its client has, so each count fits in ``bits`` bits, and counts side by
    side within a double's 53-bit mantissa add up exactly. The engine lays them as it reads."""

    def __init__(self, con, table, moment, dates: list[pd.Timestamp], measures: dict, cells: Cells, maxima: dict | None = None,
                 known=(), reached: dict | None = None):
        self.cells, self.dates = cells, dates
        roles = {"moment": moment} | {f"known_{i}": m for i, m in enumerate(known)} | {f"reached_{n}": m for n, m in (reached or {}).items()}
        moments = {}  # each moment fetched once, whatever roles it has
        for m in roles.values():
            moments.setdefault(m.op(), f"moment_{len(moments)}")
        repeats = {name: m for name, m in measures.items() if isinstance(m, Repeat)}
        counted = {name: condition(m) for name, m in measures.items() if isinstance(m, Equals | Recorded)}
        sums = {name: m for name, m in measures.items() if name not in counted and name not in repeats}
        most = con.execute(table.group_by("code").aggregate(rows=table.count()).rows.max()) if counted or repeats else 0
        self.bits = max(1, int(most or 0).bit_length())
        per_pack = 52 // self.bits
        self._fields = {name: (i // per_pack, self.bits * (i % per_pack)) for i, name in enumerate([*counted, *repeats])}
        packs = {}
        for name, holds in counted.items():
            pack, shift = self._fields[name]
            packs.setdefault(f"pack_{pack}", []).append(ibis.ifelse(holds, 1 << shift, 0).cast("float64"))  # cast: a bare 2.0 would be a decimal
        selected = table.select(
            code=table.code, **{name: _micros(op.to_expr()) for op, name in moments.items()},
            **{name: functools.reduce(operator.add, terms) for name, terms in packs.items()},
            # a repeat's group by its hash (null where it has none): sorting and fetching strings takes
            # longer; two groups of a client would mix only if their 64-bit hashes were equal
            **{f"group_{name}": ibis.ifelse(m.group.isnull(), ibis.null("uint64"), duckdb_hash(m.group)) for name, m in repeats.items()},
            **sums, **(maxima or {}),
        )
        # in client order, each cutoff's sums are written in order: bincount runs several times faster;
        # a repeat's group and time next, so that a row's previous one of the group lies just before it
        groups = [selected[f"group_{name}"] for name in repeats]
        order = [selected.code, *groups, selected[moments[moment.op()]]] if groups else [selected.code]
        fetched = con.to_pyarrow(selected.order_by(order))
        micros = {name: fetched[name].to_numpy() for name in moments.values()}
        self.rows = {role: micros[moments[m.op()]] for role, m in roles.items()}
        self.rows |= {name: fetched[name].to_numpy(zero_copy_only=False) for name in sums}
        self.rows |= {name: floats(fetched[name]) for name in maxima or {}}
        code = fetched["code"].to_numpy(zero_copy_only=False)
        self._packs = [floats(fetched[f"pack_{i}"]) if f"pack_{i}" in packs else np.zeros(len(code)) for i in range(-(-len(self._fields) // per_pack))]
        for name, m in repeats.items():
            pack, shift = self._fields[name]
            self._packs[pack] = self._packs[pack] + repeated(code, fetched[f"group_{name}"], self.rows["moment"], m.days) * 2.0**shift
        del fetched
        self.code = code.astype(np.int64)
        self.known = [self.rows.pop(f"known_{i}") for i in range(len(known))]
        self.reached = {name: self.rows.pop(f"reached_{name}") for name in reached or {}}
        self._index, self._cell, self._packed = {}, {}, {}

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
        if measure not in self._fields:
            return self.cells.sums(self.cell(index), self.rows[measure])
        pack, shift = self._fields[measure]
        if (index, pack) not in self._packed:  # kept until each of its counts is taken
            counts = self.cells.sums(self.cell(index), self._packs[pack]).astype(np.int64)
            self._packed[index, pack] = counts, {name for name, (p, _) in self._fields.items() if p == pack}
        counts, waiting = self._packed[index, pack]
        waiting.discard(measure)
        if not waiting:
            del self._packed[index, pack]
        return (counts >> shift) & ((1 << self.bits) - 1)

    def latest(self, index: str, measure: str) -> np.ndarray:
        return self.cells.latest(self.cell(index), self.rows[measure])


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
