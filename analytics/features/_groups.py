"""A history as the engine reads it, and complaint groups summed there: counts, cost,
repeats and churned value per value of a complaint column, so that only the groups' totals
come back, however many complaints there are."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis import _

from analytics._time import utc
from analytics.features._aggregate import cutoff_index
from analytics.features._repeats import repeats
from analytics.features._source import Source, data_end
from analytics.features._stored import StoredHistory
from analytics.io import History

#: the interactions' flags: every other column an analysis reads from them is text
CONTACT_FLAGS = {"tone_read": pa.bool_(), "practices_read": pa.bool_()}


class Tables:
    """A History in memory, its ``columns`` of the complaints handed to the engine as Arrow
    (without a copy) with, given ``within``, each complaint's days to a repeat of its trigger
    (computed once per history for every analysis); or a saved history's folder, whose
    Parquet files the engine reads itself, finding the repeats with a join. ``end``: where
    the data ends; ``has``: whether a column is recorded. ``numbered``: each complaint's
    place in the history (``_row``, from 1), to give results in its order.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import Tables, connection
    >>> with connection() as con:
    ...     tables = Tables(load_sample(), con, ["client_id", "opened_at"])
    ...     int(con.execute(tables.complaints.count())), tables.has("trigger")
    (13119, True)
    """

    def __init__(self, history: History | StoredHistory | str | Path, con, columns: list[str], within: pd.Timedelta | None = None,
                 numbered: bool = False):
        self.con, self._history = con, history
        if isinstance(history, History):
            c = history.complaints
            self.has, self.clients, self.clients_derived = history.has, history.clients, history.clients_derived
            arrays = {name: pa.array(c[name], from_pandas=True) for name in dict.fromkeys(columns) if name in c}
            arrays |= {"_row": pa.array(np.arange(1, len(c) + 1))} if numbered else {}
            if within is not None and history.has("resolved_at", "trigger"):
                days = repeats(history, within)["days_to_repeat"].to_numpy(dtype="float64", na_value=np.nan)
                arrays["repeat_days"] = pa.array(days, from_pandas=True)  # NaN: none came back
            self.complaints = ibis.memtable(pa.table(arrays))
            return
        self._source = source = Source(history, con)
        self.has, self.clients = source.has, source.clients
        self.clients_derived = source.stored.clients_derived
        self.complaints = source.stored.complaints_table(con, numbered)

    @cached_property
    def end(self) -> pd.Timestamp:
        """Where the data ends (see :func:`data_end`)."""
        return data_end(self._history) if isinstance(self._history, History) else self._source.end

    @property
    def has_interactions(self) -> bool:
        if isinstance(self._history, History):
            return not self._history.interactions.empty
        return int(self.con.execute(self._source.stored.interactions_table(self.con).count())) > 0

    def interactions(self, *columns: str):
        """Each interaction's complaint and moment, and those of the ``columns`` it has (text,
        or flags such as ``tone_read``)."""
        kinds = {"complaint_id": pa.string(), "at": pa.timestamp("us", "UTC")} | {c: CONTACT_FLAGS.get(c, pa.string()) for c in columns}
        if isinstance(self._history, History):
            contacts = self._history.interactions
            return ibis.memtable(pa.table({name: pa.array(contacts[name], from_pandas=True, type=kind) for name, kind in kinds.items() if name in contacts}))
        table = self._source.stored.interactions_table(self.con)
        return table.select(**{name: table[name].cast("timestamp('UTC')" if name == "at" else ibis.dtype(kind)) for name, kind in kinds.items() if name in table.columns})

    def client_contacts(self, *columns: str):
        """The clients' contacts (inbound ones, or every one where the interactions record
        no direction), as :meth:`interactions` gives them."""
        contacts = self.interactions("direction", *columns)
        return contacts.filter(contacts.direction == "inbound") if "direction" in contacts.columns else contacts

    def abused(self):
        """The complaints with an abusive contact from the client, each once: ``complaint_id``."""
        contacts = self.client_contacts("tone")
        if "tone" not in contacts.columns:
            return contacts.filter(ibis.literal(False)).select("complaint_id")
        return contacts.filter(contacts.tone == "abusive").select("complaint_id").distinct()

    def came_back(self, done, within: pd.Timedelta):
        """The rows of ``done`` (complaints with a ``client_id``, ``trigger``, ``opened_at``
        and ``resolved_at``) whose client raised the same trigger again within ``within``
        after the resolution."""
        if "repeat_days" in done.columns:
            return done.filter(done.repeat_days <= within / pd.Timedelta(days=1))
        later, same = self._same_trigger_again(done, within)
        return done.semi_join(later, same)

    def first_repeat(self, done, within: pd.Timedelta):
        """``done`` (as :meth:`came_back` takes it; its rows distinct) with ``repeat_at``: when
        the client first raised the same trigger again within ``within`` after the resolution
        (null when it did not).

        Examples
        --------
        >>> import pandas as pd
        >>> from analytics.datasets import load_sample
        >>> from analytics.features import Tables, connection
        >>> with connection() as con:
        ...     tables = Tables(load_sample(), con, ["client_id", "trigger", "opened_at", "resolved_at"], numbered=True)
        ...     t = tables.complaints
        ...     done = t.filter(t.resolved_at.notnull()).select("_row", "client_id", "trigger", "resolved_at")
        ...     found = con.execute(tables.first_repeat(done, pd.Timedelta("90D")))
        >>> len(found), int(found["repeat_at"].notna().sum())
        (12773, 2291)
        """
        later, same = self._same_trigger_again(done, within)
        joined = done.left_join(later, same)
        return joined.group_by(done.columns).aggregate(repeat_at=joined.later_opened.min())

    def _same_trigger_again(self, done, within: pd.Timedelta):
        """The complaints as later ones, and the conditions that make one a repeat of a row of ``done``."""
        t = self.complaints
        later = t.select(later_client=t.client_id.cast("string"), later_trigger=t.trigger.cast("string"),
                         later_opened=t.opened_at.cast("timestamp('UTC')"))
        return later, [done.client_id.cast("string") == later.later_client, done.trigger.cast("string") == later.later_trigger,
                       later.later_opened > done.resolved_at.cast("timestamp('UTC')"),
                       later.later_opened <= done.resolved_at.cast("timestamp('UTC')") + interval(within)]


def period_index(con, moments, freq: str) -> tuple[list[pd.Period], object]:
    """The periods of pandas' ``freq`` ("M", "Q", "Y") from the first to the last of
    ``moments`` (UTC), and each moment's position among them as the engine finds it:
    compared with the periods' starts, so that the engine's time zone cannot move a moment
    into another period.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> from analytics.features import connection, period_index
    >>> moments = ibis.memtable({"at": pd.to_datetime(["2024-12-31 23:00", "2025-01-01 00:00", "2025-02-03 00:00"], utc=True)}).at
    >>> with connection() as con:
    ...     periods, index = period_index(con, moments, "Q")
    ...     [str(periods[k]) for k in con.execute(index)]
    ['2024Q4', '2025Q1', '2025Q1']
    """
    name = moments.get_name()
    first, last = con.execute(moments.as_table().aggregate(first=_[name].min(), last=_[name].max())).iloc[0]
    periods = [] if pd.isna(first) else list(pd.period_range(utc(first).tz_localize(None), utc(last).tz_localize(None), freq=freq))
    return periods, cutoff_index(moments, [p.start_time.tz_localize("UTC") for p in periods[1:]])


def interval(span: pd.Timedelta):
    """A span of time as the engine adds it to a moment, in whole seconds.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> from analytics.features import connection, interval
    >>> with connection() as con:
    ...     con.execute(ibis.literal(pd.Timestamp("2025-01-01", tz="UTC")) + interval(pd.Timedelta("90D")))
    Timestamp('2025-04-01 00:00:00+0000', tz='UTC')
    """
    return ibis.interval(seconds=int(span.total_seconds()))


class Groups:
    """The complaints of a history as the engine ``con`` reads them, each with its group (the
    value of ``by``, "not recorded" when missing) and, when it has triggers and resolutions,
    whether its repeat window (``within``) lies within the data.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import Groups, connection
    >>> with connection() as con:
    ...     table, lacking = Groups(load_sample(), con, "channel").totals(hourly_cost=60, churn_window=pd.Timedelta("180D"))
    >>> int(table["complaints"].sum()), table.columns.tolist(), lacking
    (13119, ['complaints', 'cost', 'repeat_known', 'repeats', 'churned_value'], {})
    """

    def __init__(self, history: History | str | Path, con, by: str, within: str | pd.Timedelta = "90D"):
        self.by, self.within = by, pd.Timedelta(within)
        self.tables = tables = Tables(history, con, [by, "client_id", "opened_at", "resolved_at", "trigger", "handling_minutes", "credit_amount"],
                                      self.within)
        raw = tables.complaints
        if by not in raw.columns:
            raise ValueError(f"the complaints have no column {by!r}")
        columns = {"group": raw[by].cast("string").fill_null("not recorded"), "client_id": raw.client_id.cast("string"),
                   "opened_at": raw.opened_at.cast("timestamp('UTC')")}
        columns |= {name: raw[name].cast("float64") for name in ("handling_minutes", "credit_amount") if tables.has(name)}
        if tables.has("resolved_at", "trigger"):  # a complete window lies within the data: only these give unbiased rates
            resolved = raw.resolved_at.cast("timestamp('UTC')")
            columns |= {"trigger": raw.trigger.cast("string"), "resolved_at": resolved,
                        "complete": raw.trigger.notnull() & resolved.notnull() & (resolved + interval(self.within) <= tables.end)}
            columns |= {"repeat_days": raw.repeat_days} if "repeat_days" in raw.columns else {}
        self.complaints = raw.select(**columns)
        self.has = tables.has

    @property
    def has_repeats(self) -> bool:
        return "complete" in self.complaints.columns

    def totals(self, hourly_cost: float, churn_window: pd.Timedelta) -> tuple[pd.DataFrame, dict[str, str]]:
        """Per group: complaints, cost, complete repeat windows and repeats, churned value;
        and for each measure the history cannot give, the sentence saying what it needs."""
        t, lacking = self.complaints, {}
        sums = {"complaints": t.count()}
        if "handling_minutes" in t.columns or "credit_amount" in t.columns:
            minutes = t.handling_minutes.fill_null(0) if "handling_minutes" in t.columns else 0.0
            credits = t.credit_amount.fill_null(0) if "credit_amount" in t.columns else 0.0
            sums["cost"] = (minutes / 60 * hourly_cost + credits).sum()
        else:
            lacking["cost"] = "Handling cost needs handling minutes or credits, which this history does not record."
        table = self._execute(t.group_by("group").aggregate(**sums))
        if self.has_repeats:
            table = table.join(self.repeat_counts()).fillna({"repeat_known": 0, "repeats": 0})
        else:
            lacking["repeat_rate"] = "Repeat rates need resolution times and triggers, which this history does not record."
        if self.has("status", "ended_at", "annual_value", table="clients") and not self.tables.clients_derived:
            table["churned_value"] = self._churned_value(churn_window)
        else:
            lacking["churned_value"] = "Churned value needs client status, end dates and annual value, which this history does not record."
        return table.astype({c: "int64" for c in ("complaints", "repeat_known", "repeats") if c in table}), lacking

    def repeat_counts(self) -> pd.DataFrame:
        """Per group with a complete repeat window: how many complaints have one
        (``repeat_known``) and how many of them came back (``repeats``)."""
        done = self.complaints.filter(self.complaints.complete)
        known = self._execute(done.group_by("group").aggregate(repeat_known=_.count()))
        known["repeats"] = self._execute(self.tables.came_back(done, self.within).group_by("group").aggregate(repeats=_.count()))["repeats"]
        return known.fillna({"repeats": 0}).astype("int64")

    def _churned_value(self, window: pd.Timedelta) -> pd.Series:
        """Annual value of the clients who churned within ``window`` after a complaint of the
        group, each client once per group."""
        clients = self.tables.clients
        clients = clients.loc[clients["status"] == "churned", ["client_id", "ended_at", "annual_value"]]
        clients = ibis.memtable(clients.astype({"client_id": "string", "annual_value": "float64"})).cast({"ended_at": "timestamp('UTC')"})
        t = self.complaints
        hit = t.join(clients, t.client_id == clients.client_id)
        hit = hit.filter((hit.ended_at > hit.opened_at) & (hit.ended_at <= hit.opened_at + interval(window)))
        once = hit.select("group", "client_id", "annual_value").distinct()
        return self._execute(once.group_by("group").aggregate(churned_value=once.annual_value.sum()))["churned_value"]

    def _execute(self, expression) -> pd.DataFrame:
        """A per-group result, indexed and ordered by group as pandas' groupby would be."""
        return self.tables.con.execute(expression).set_index("group").rename_axis(self.by).sort_index()
