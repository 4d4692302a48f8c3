"""What failed a check, collected while a table is validated, and the quarantine it becomes.

A failure is a boolean mask over the table's rows with its column, check and reason. A
failed value in an optional column costs the cell (it becomes missing, the row loads); any
other failure costs the row. Every failure becomes one quarantine entry holding the row as
the export wrote it, so that nothing is lost.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

QUARANTINE_COLUMNS = ["table", "source", "row", "column", "value", "check", "level", "reason", "record"]

#: checks of a single value: in an optional column they cost the cell, not the row
CELL_CHECKS = (
    "unparseable",
    "out_of_range",
    "implausible_date",
    "future_date",
    "order",
    "nonexistent_time",
    "ambiguous_time",
)


class Problems:
    """Failures found so far, as boolean masks over the table's rows. A failure of a value in
    one of ``optional`` columns is a cell problem (the cell becomes missing, the row is
    loaded); any other failure quarantines the row."""

    def __init__(self, n: int, optional: frozenset = frozenset()):
        self.n = n
        self.optional = optional
        self.items: list[tuple[np.ndarray, str, str, str]] = []  # row problems: (mask, column, check, reason)
        self.cells: list[tuple[np.ndarray, str, str, str]] = []  # cell problems, the same
        self.any = np.zeros(n, dtype=bool)

    def add(self, mask: np.ndarray, column: str, check: str, reason) -> None:
        """``reason`` is one text for all rows, or an array with a text for every row."""
        if not mask.any():
            return
        if column in self.optional and check in CELL_CHECKS:
            self.cells.append((mask, column, check, reason))
        else:
            self.items.append((mask, column, check, reason))
            self.any |= mask

    def set_cells_aside(self, frame: pd.DataFrame) -> int:
        """Empty every cell with a bad value (its row stays); how many cells of loaded rows that was."""
        for mask, column, _, _ in self.cells:
            frame[column] = frame[column].mask(mask)
        return sum(int((mask & ~self.any).sum()) for mask, _, _, _ in self.cells)

    def quarantine(self, original: pd.DataFrame, table: str, source: str, headers: dict[str, str], events: Events | None = None) -> pd.DataFrame:
        """One quarantine entry per failure, with the row as ``original`` (the export) has
        it; a failed row that stands for several export rows (an event log's ticket, with
        its ``events``) gives an entry for each of them."""
        if not self.items and not self.cells:
            return empty_quarantine()
        parts = []
        for level, items in (("row", self.items), ("cell", self.cells)):
            for mask, column, check, reason in items:
                header = headers.get(column, column)
                label = column if header == column else f"{column} ({header})"
                reasons = reason[mask] if isinstance(reason, np.ndarray) else reason
                if events is not None and level == "row":
                    rows, reasons = events.rows_of(mask, reasons)
                elif events is not None and column in events.sources:  # a bad value of a ticket: where it was written
                    rows = events.value_rows(column, mask)
                else:
                    rows = original.loc[mask]
                parts.append(quarantine_rows(rows, table, source, column, check, reasons, label, level))
        return pd.concat(parts, ignore_index=True).sort_values(["row", "column"], kind="stable", ignore_index=True)


class Events:
    """The export rows behind each row of a folded event log: ``export`` holds every event
    row as written, indexed by its ``_row``; folded row ``i`` stands for the export rows
    ``members[first[i]:first[i] + counts[i]]``."""

    def __init__(self, export: pd.DataFrame, members: np.ndarray, first: np.ndarray, counts: np.ndarray, sources: dict | None = None):
        self.export, self.members, self.first, self.counts = export, members, np.asarray(first), np.asarray(counts)
        self.sources = sources or {}  # column -> the export row each folded row's value came from

    def rows_of(self, mask: np.ndarray, reasons=None):
        """The export rows behind the folded rows in ``mask``, and a reason for each."""
        first, counts = self.first[np.asarray(mask, bool)], self.counts[np.asarray(mask, bool)]
        starts = np.cumsum(counts) - counts
        numbers = self.members[np.repeat(first - starts, counts) + np.arange(counts.sum())]
        return self.export.loc[numbers], np.repeat(np.asarray(reasons, dtype=object), counts) if isinstance(reasons, np.ndarray) else reasons

    def kept(self, keep: np.ndarray) -> Events:
        """The same for the folded rows in ``keep``."""
        keep = np.asarray(keep, bool)
        return Events(self.export, self.members, self.first[keep], self.counts[keep], {c: rows[keep] for c, rows in self.sources.items()})

    def value_rows(self, column: str, mask: np.ndarray) -> pd.DataFrame:
        """The export rows that gave the folded rows in ``mask`` their value of ``column``."""
        return self.export.loc[self.sources[column][np.asarray(mask, bool)]]


def quarantine_rows(
    rows: pd.DataFrame,
    table: str,
    source: str,
    column: str,
    check: str,
    reason,
    label: str | None = None,
    level: str = "row",
) -> pd.DataFrame:
    """One quarantine entry per row of ``rows`` (which carry ``_row``), failing ``check`` on
    ``column``, its ``value`` as written (empty where missing); ``level`` says what was set
    aside: the ``row``, or only the ``cell``."""
    values = rows[column].astype(str).where(rows[column].notna(), "") if column in rows else pd.Series("", index=rows.index)
    return pd.DataFrame(
        {
            "table": table,
            "source": source,
            "row": rows["_row"].astype("int64").to_numpy(),
            "column": label or column,
            "value": values.to_numpy(),
            "check": check,
            "level": level,
            "reason": reason,
            "record": _records(rows),
        }
    )


def _records(rows: pd.DataFrame) -> list[str]:
    """Each quarantined row as the export had it (JSON), so that nothing is lost."""
    data = rows.drop(columns="_row").astype(str).replace({"<NA>": None, "NaT": None})
    return [json.dumps(r, ensure_ascii=False) for r in data.to_dict(orient="records")]


def malformed_rows(malformed: list[tuple[int, str, str]], table: str, source: str) -> pd.DataFrame:
    """Quarantine entries for lines the reader could not split into the header's columns."""
    return pd.DataFrame(
        {
            "table": table,
            "source": source,
            "row": [r for r, _, _ in malformed],
            "column": "(whole row)",
            "value": [text for _, text, _ in malformed],
            "check": "malformed_row",
            "level": "row",
            "reason": [reason for _, _, reason in malformed],
            "record": [json.dumps({"text": text}) for _, text, _ in malformed],
        }
    )


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "row" else "object") for c in QUARANTINE_COLUMNS})
