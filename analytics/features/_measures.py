"""The kinds of measure the snapshots sum besides plain expressions: a count of the rows
equal to a value, of the rows with a value, and of repeats. On a cluster each becomes an
expression the engine sums; on this machine the engine lays a row's counts side by side in a
double, which numpy sums per cell."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Equals:
    """A measure that counts the rows whose ``column`` equals ``value``."""

    column: object
    value: object


@dataclass(frozen=True)
class Recorded:
    """A measure that counts the rows where ``column`` has a value."""

    column: object


@dataclass(frozen=True)
class Repeat:
    """A measure that counts the rows whose client had a row of the same ``group`` within
    ``days`` before (at the sums' moment): a repeat. The engine looks back with a window
    over each client's rows; this machine reads the rows in client, group and time order."""

    group: object
    days: int


def condition(measure: Equals | Recorded):
    """Whether a row counts towards an :class:`Equals` or a :class:`Recorded`."""
    if isinstance(measure, Equals):
        return (measure.column == measure.value).fill_null(False)
    return measure.column.notnull()


def engine_measure(measure):
    """A measure as the expression the engine sums (a :class:`Repeat` is a column by then)."""
    if isinstance(measure, Equals | Recorded):
        return ibis.ifelse(condition(measure), 1, 0)
    return measure


def repeat_flag(table, moment, repeat: Repeat):
    """1 where the row's client had a row of the same group within ``repeat.days`` before."""
    previous = moment.lag().over(ibis.window(group_by=[table.code, repeat.group], order_by=moment))
    recent = (previous >= moment - ibis.interval(days=repeat.days)).fill_null(False)
    return ibis.ifelse(repeat.group.notnull() & recent, 1, 0)


def repeated(code: np.ndarray, group: pa.ChunkedArray, micros: np.ndarray, days: int) -> np.ndarray:
    """:class:`Repeat` on rows in client, group and time order: the row before is the
    previous one of the same client and group, when it is theirs."""
    group = group.combine_chunks()
    previous_same = (code[1:] == code[:-1]) & pc.equal(group[1:], group[:-1]).fill_null(False).to_numpy(zero_copy_only=False)
    flags = np.zeros(len(code), dtype=bool)  # the first row has none before it
    flags[1:] = previous_same & (micros[1:] - micros[:-1] <= days * 86_400_000_000)
    return flags
