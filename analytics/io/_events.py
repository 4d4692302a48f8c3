"""Folding an event log (one row per state change of a ticket) into one row per ticket.

Everything is found by position after one sort of the events by ticket, time and row: a
ticket's opening is its first position, its latest value of a column the last position
where that column is filled. The cost is a sort and a few passes over arrays, never a
Python function per ticket.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.io._problems import Problems
from analytics.io._profile import EventLog

#: the times a fold derives from the events; an export's own value of one of them wins
EVENT_TIMES = ("opened_at", "first_response_at", "resolved_at", "closed_at")


def fold_events(
    frame: pd.DataFrame, original: pd.DataFrame, log: EventLog, problems: Problems, provided: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, pd.DataFrame, Problems, np.ndarray, dict[str, np.ndarray]]:
    """One row per ticket from one row per state change.

    ``opened_at`` is the first event, ``first_response_at`` the first event in a
    first-response status, ``resolved_at`` / ``closed_at`` the last event in those
    statuses (``resolved_at`` stays empty when a later event reopened the ticket), and
    ``reopen_count`` counts moves out of a resolved status to anything but closed. A time
    the export itself provides (``provided``) wins over the one derived from the events.
    Other columns take the ticket's latest non-empty value. ``_rows`` counts the events a
    ticket stands for, so that every event row stays accounted for, and ``_first_event``
    where its export rows begin in the ``members`` returned (a ticket that fails a check is
    quarantined as its events); events that failed their own checks stay as events.
    ``sources``: per column, the export row each folded row's value came from (a ticket
    without one: its first event).
    """
    bad = problems.any
    folded = _EventOrder(frame, log, keep=~bad)

    rows = frame["_row"].to_numpy()
    first_rows = rows[folded.order[folded.starts]]
    # which event gave each ticket each value: a bad value is shown where it was written
    picked = {column: folded.last(np.asarray(frame[column].notna(), bool)[folded.order]) for column in frame.columns if column != log.ticket}
    tickets = {column: pd.Series(frame[column].array.take(positions, allow_fill=True)) for column, positions in picked.items()}
    tickets[log.ticket] = folded.tickets
    tickets["_row"] = first_rows
    at = frame[log.at].array
    derived = {
        "opened_at": folded.order[folded.starts],
        "first_response_at": folded.first(folded.in_status(log.first_response)),
        "resolved_at": np.where(
            folded.ends_in(log.resolved + log.closed), folded.last(folded.in_status(log.resolved)), -1
        ),
        "closed_at": folded.last(folded.in_status(log.closed)),
    }
    for column, positions in derived.items():
        times = pd.Series(at.take(positions, allow_fill=True)).astype(frame[column].dtype)
        tickets[column] = tickets[column].fillna(times) if column in provided else times
        picked[column] = np.where(picked[column] >= 0, picked[column], positions) if column in provided else positions
    tickets["reopen_count"] = pd.Series(folded.reopenings(log), dtype=frame["reopen_count"].dtype)
    tickets = pd.DataFrame({column: tickets[column] for column in frame.columns}).assign(
        _rows=folded.ends - folded.starts, _first_event=int(bad.sum()) + folded.starts
    )
    # the export rows behind each folded row: the events set aside one each, then each ticket's
    members = np.concatenate([rows[bad], rows[folded.order]])
    sources = {column: np.concatenate([rows[bad], np.where(positions >= 0, rows[np.maximum(positions, 0)], first_rows)])
               for column, positions in picked.items()}

    first_events = original.iloc[folded.order[folded.starts]].reset_index(drop=True)
    if bad.any():
        folded_frame = pd.concat([frame.loc[bad].assign(_rows=1, _first_event=np.arange(int(bad.sum()))), tickets], ignore_index=True)
        folded_original = pd.concat([original.loc[bad], first_events], ignore_index=True)
    else:
        folded_frame, folded_original = tickets, first_events
    kept = Problems(len(folded_frame), problems.optional)
    for mask, column, check, reason in problems.items:
        if isinstance(reason, np.ndarray):  # a reason per event row (an exact duplicate names its first)
            reason = np.concatenate([reason[bad], np.full(len(tickets), None, dtype=object)])
        kept.add(np.concatenate([mask[bad], np.zeros(len(tickets), bool)]), column, check, reason)
    return folded_frame, folded_original, kept, members, sources


class _EventOrder:
    """The events sorted by ticket, time and row, with each ticket's first and last position.

    Only the events in ``keep`` are sorted. Positions returned by its methods point into the
    events as given (``-1``: none), so a column is read with one ``take``.
    """

    def __init__(self, events: pd.DataFrame, log: EventLog, keep: np.ndarray):
        codes, tickets = pd.factorize(events[log.ticket].array, sort=True)
        at = pc.cast(pa.array(events[log.at].array), pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        order = np.lexsort((events["_row"].to_numpy(), at, codes))
        self.order = order[keep[order]]
        # tickets whose every event was set aside are not tickets: number the others 0, 1, ...
        present = np.unique(codes[self.order])
        self.tickets = tickets.take(present)
        self.group = np.searchsorted(present, codes[self.order])
        boundaries = np.flatnonzero(np.diff(self.group)) + 1
        self.starts = np.r_[0, boundaries] if len(self.group) else boundaries
        self.ends = np.r_[boundaries, len(self.group)] if len(self.group) else boundaries
        status_codes, statuses = pd.factorize(events[log.status].array)
        self._statuses = np.array([str(s).strip().lower() for s in statuses] + [""], dtype=object)  # code -1: no status
        self._status_codes = status_codes[self.order]

    def in_status(self, names: tuple[str, ...]) -> np.ndarray:
        """Whether each sorted event is in one of ``names`` (any case)."""
        return np.isin(self._statuses, [n.lower() for n in names])[self._status_codes]

    def first(self, sorted_mask: np.ndarray) -> np.ndarray:
        """Each ticket's earliest event where ``sorted_mask`` holds."""
        return self._pick(sorted_mask, earliest=True)

    def last(self, sorted_mask: np.ndarray) -> np.ndarray:
        """Each ticket's latest event where ``sorted_mask`` holds."""
        return self._pick(sorted_mask, earliest=False)

    def _pick(self, sorted_mask: np.ndarray, earliest: bool) -> np.ndarray:
        hits = np.flatnonzero(sorted_mask)
        group = self.group[hits]
        change = group[1:] != group[:-1]
        chosen = hits[np.r_[True, change] if earliest else np.r_[change, True]] if len(hits) else hits
        positions = np.full(len(self.starts), -1)
        positions[self.group[chosen]] = self.order[chosen]
        return positions

    def ends_in(self, names: tuple[str, ...]) -> np.ndarray:
        """Whether each ticket's last event is in one of ``names``."""
        return self.in_status(names)[self.ends - 1]

    def reopenings(self, log: EventLog) -> np.ndarray:
        """Moves out of a resolved status to anything but a closed one, per ticket."""
        resolved, closed = self.in_status(log.resolved), self.in_status(log.closed)
        # an event leaves a resolved state when the ticket's previous event was in one
        left = resolved[:-1] & (self.group[1:] == self.group[:-1]) & ~resolved[1:] & ~closed[1:]
        return np.bincount(self.group[1:][left], minlength=len(self.starts)).astype("int64")
