"""Windows rolled forward over the cutoffs, on the driver, from sums per client and cutoff.

Each complaint adds its values at the cutoff index where it enters a window and takes
them away at the index where it leaves; a window's sum at cutoff k is then a cumulative
sum over a cutoffs x clients array. The work is the size of the output, not of the history.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

DAY = 86400  # seconds


class Cells:
    """The output rows as cells of a cutoffs x clients array. A cell is ``index * clients +
    client``; index ``cutoffs`` (past the last) collects "never"."""

    def __init__(self, clients: int, dates: list[pd.Timestamp], placed: Callable[[], tuple[np.ndarray, np.ndarray]]):
        self.clients, self.cutoffs = clients, len(dates)
        self.bounds = np.array([d.timestamp() for d in dates])
        self._placed = placed  # each output row's client and cutoff index, asked for when first needed
        self.start = self.bounds[0]  # seconds: the origin of recency weights
        self.since_start = (self.bounds - self.start) / DAY  # days, per cutoff

    @functools.cached_property
    def rows(self) -> np.ndarray:
        """Each output row's cell."""
        code, k = self._placed()
        return k * self.clients + code

    def row_at(self, cell: np.ndarray) -> np.ndarray:
        """The output row of each cell (-1 where the client was not active at that cutoff)."""
        if not hasattr(self, "_row"):  # filled before it is kept: another thread may be asking too
            row = np.full((self.cutoffs + 1) * self.clients, -1)
            row[self.rows] = np.arange(len(self.rows))
            self._row = row
        return self._row[cell]

    def sums(self, cell: np.ndarray, weights=None) -> np.ndarray:
        """Sum of ``weights`` (float) or a count (integer) per cell, as a cutoffs x clients array."""
        total = np.bincount(cell, weights, minlength=(self.cutoffs + 1) * self.clients)
        if weights is not None:  # with no rows, bincount gives integers even when weighted
            total = total.astype(np.float64, copy=False)
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
