"""Complaint groups summed in the engine: counts, cost, repeats and churned value per value
of a complaint column, from a History in memory or a saved history's folder, so that only
the groups' totals come back, however many complaints there are."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
from ibis import _

from analytics.features._repeats import repeats
from analytics.features._source import Source
from analytics.io import History


class Groups:
    """The complaints of a history as the engine ``con`` reads them, each with its group (the
    value of ``by``, "not recorded" when missing) and, when it has triggers and resolutions,
    whether its repeat window (``within``) is complete: a History in memory brings its repeat
    flags (computed once for every analysis), a saved history's folder is read by the engine,
    which finds the repeats itself."""

    def __init__(self, history: History | str | Path, con, by: str, within: str | pd.Timedelta = "90D"):
        self.con, self.by, self.within = con, by, pd.Timedelta(within)
        if isinstance(history, History):
            c = history.complaints
            if by not in c:
                raise ValueError(f"the complaints have no column {by!r}")
            self.has, self.clients, self.clients_derived = history.has, history.clients, history.clients_derived
            read = [by, "client_id", "opened_at"] + [name for name in ("handling_minutes", "credit_amount") if history.has(name)]
            columns = {name: pa.array(c[name], from_pandas=True) for name in read}  # Arrow columns go over without a copy
            if history.has("resolved_at", "trigger"):
                flags = repeats(history, self.within)  # row for row
                columns |= {name: pa.array(flags[name].fillna(False).to_numpy(dtype=bool)) for name in ("complete", "repeated")}
            raw = ibis.memtable(pa.table(columns))
        else:
            source = Source(history, con)
            self.has, self.clients = source.has, source.clients
            self.clients_derived = json.loads((Path(history) / "history.json").read_text(encoding="utf-8"))["clients_derived"]
            raw = con.read_parquet(Path(history) / "complaints.parquet")
            if by not in raw.columns:
                raise ValueError(f"the complaints have no column {by!r}")
        columns = {"group": raw[by].cast("string").fill_null("not recorded"), "client_id": raw.client_id.cast("string"),
                   "opened_at": raw.opened_at.cast("timestamp('UTC')")}
        columns |= {name: raw[name].cast("float64") for name in ("handling_minutes", "credit_amount") if self.has(name)}
        if "repeated" in raw.columns:
            columns |= {"complete": raw.complete, "repeated": raw.repeated}
        elif self.has("resolved_at", "trigger"):  # a complete window lies within the data: only these give unbiased rates
            resolved = raw.resolved_at.cast("timestamp('UTC')")
            columns |= {"trigger": raw.trigger.cast("string"), "resolved_at": resolved,
                        "complete": raw.trigger.notnull() & resolved.notnull() & (resolved + self._window() <= source.end)}
        self.complaints = raw.select(**columns)

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
        if self.has("status", "ended_at", "annual_value", table="clients") and not self.clients_derived:
            table["churned_value"] = self._churned_value(churn_window)
        else:
            lacking["churned_value"] = "Churned value needs client status, end dates and annual value, which this history does not record."
        return table.astype({c: "int64" for c in ("complaints", "repeat_known", "repeats") if c in table}), lacking

    def repeat_counts(self) -> pd.DataFrame:
        """Per group with a complete repeat window: how many complaints have one
        (``repeat_known``) and how many of them came back (``repeats``)."""
        t = self.complaints
        known = self._execute(t.filter(t.complete).group_by("group").aggregate(repeat_known=_.count()))
        if "repeated" in t.columns:
            came_back = t.filter(t.complete & t.repeated)
        else:
            later = t.select(later_client=t.client_id, later_trigger=t.trigger, later_opened=t.opened_at)
            done = t.filter(t.complete)
            came_back = done.semi_join(later, [done.client_id == later.later_client, done.trigger == later.later_trigger,
                                               later.later_opened > done.resolved_at, later.later_opened <= done.resolved_at + self._window()])
        known["repeats"] = self._execute(came_back.group_by("group").aggregate(repeats=_.count()))["repeats"]
        return known.fillna({"repeats": 0}).astype("int64")

    def _churned_value(self, window: pd.Timedelta) -> pd.Series:
        """Annual value of the clients who churned within ``window`` after a complaint of the
        group, each client once per group."""
        clients = self.clients.loc[self.clients["status"] == "churned", ["client_id", "ended_at", "annual_value"]]
        clients = ibis.memtable(clients.astype({"client_id": "string", "annual_value": "float64"})).cast({"ended_at": "timestamp('UTC')"})
        t = self.complaints
        hit = t.join(clients, t.client_id == clients.client_id)
        hit = hit.filter((hit.ended_at > hit.opened_at) & (hit.ended_at <= hit.opened_at + ibis.interval(seconds=int(window.total_seconds()))))
        once = hit.select("group", "client_id", "annual_value").distinct()
        return self._execute(once.group_by("group").aggregate(churned_value=once.annual_value.sum()))["churned_value"]

    def _window(self):
        return ibis.interval(seconds=int(self.within.total_seconds()))

    def _execute(self, expression) -> pd.DataFrame:
        """A per-group result, indexed and ordered by group as pandas' groupby would be."""
        return self.con.execute(expression).set_index("group").rename_axis(self.by).sort_index()
