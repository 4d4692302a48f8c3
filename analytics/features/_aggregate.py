"""The engine's share of the snapshots: each complaint (or contact) is placed at the cutoff
where it enters a window and the one where it leaves, and the engine sums per client and
cutoff. The driver receives at most clients x (cutoffs + 1) rows per sum, however many
complaints there are, and rolls the windows forward (:class:`~analytics.features._rolling.Cells`).
Medians and 90th percentiles are computed by the engine too, exactly, per client and cutoff.
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
    shift = pd.Timedelta(days=days)
    index = sum(ibis.ifelse(moment >= date - shift, 1, 0) for date in dates)
    return ibis.ifelse(moment.isnull(), len(dates), index).cast("int32")


def at_least(first, second):
    """The later of two cutoff indexes."""
    return ibis.greatest(first, second)


class Sums:
    """Per index (a cutoff index per row of ``table``), the engine's sums of ``measures`` and
    maxima of ``maxima`` per client and cutoff index, each as a cutoffs x clients array."""

    def __init__(self, con, table, indexes: dict, measures: dict, cells: Cells, maxima: dict | None = None):
        self.cells, self.measures = cells, list(measures)
        self.grouped = {}
        for name, index in indexes.items():
            aggregates = {m: expr.sum() for m, expr in measures.items()}
            if name in (maxima or {}):
                aggregates |= {m: expr.max() for m, expr in maxima[name].items()}
            keyed = table.mutate(k=index)
            grouped = keyed.filter(keyed.k < cells.cutoffs).group_by(["code", "k"]).aggregate(**aggregates)
            self.grouped[name] = with_cells(_fetched(con, grouped), cells.clients)

    def __call__(self, index: str, measure: str) -> np.ndarray:
        """The sum of ``measure`` per cell at cutoff index ``index``, as a cutoffs x clients array."""
        grouped = self.grouped[index]
        return self.cells.sums(grouped["cell"], grouped[measure])

    def latest(self, index: str, measure: str) -> np.ndarray:
        """The largest value of ``measure`` that entered at or before each output row's cutoff (NaN if none)."""
        grouped = self.grouped[index]
        return self.cells.latest(grouped["cell"], grouped[measure])


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


def with_cells(fetched: dict[str, np.ndarray], clients: int) -> dict[str, np.ndarray]:
    """``fetched`` with each row's cell: cutoff index x clients + client."""
    fetched["cell"] = fetched["k"].astype(np.int64) * clients + fetched["code"].astype(np.int64)
    return fetched


def quantiles(con, table, start, leaves, duration, cells: Cells) -> tuple[np.ndarray, np.ndarray]:
    """Median and 90th percentile of ``duration`` (milliseconds) per output row, over the rows
    of ``table`` whose cutoff index ``start`` <= k < ``leaves``: each row is repeated for the
    cutoffs whose window holds it, and the engine groups by client and cutoff."""
    keyed = table.select(code=table.code, start=start, leaves=leaves, ms=duration.cast("float64"))
    keyed = keyed.filter(keyed.ms.notnull() & (keyed.start < keyed.leaves))
    ks = ibis.memtable(pd.DataFrame({"k": np.arange(cells.cutoffs, dtype=np.int32)}))
    spread = keyed.join(ks, [keyed.start <= ks.k, ks.k < keyed.leaves])
    grouped = spread.group_by(["code", "k"]).aggregate(median=spread.ms.quantile(0.5), p90=spread.ms.quantile(0.9))
    fetched = with_cells(_fetched(con, grouped), cells.clients)
    rows = cells.row_at(fetched["cell"])
    median, p90 = np.full(len(cells.rows), np.nan), np.full(len(cells.rows), np.nan)
    kept = rows >= 0
    median[rows[kept]] = fetched["median"][kept] / HOUR_MS
    p90[rows[kept]] = fetched["p90"][kept] / HOUR_MS
    return median, p90
