"""Complaint-handling and retention KPIs per period, optionally per segment, team or trigger.

Every KPI runs on whatever the history records; one it cannot compute is left out, and
``KPITable.notes`` says which and why in one sentence each.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis import _

from analytics.features import HOUR_MS, Tables, data_end, interval, milliseconds, period_index, reading
from analytics.io import History

__all__ = ["KPITable", "complaint_kpis", "retention_kpis"]

PERIODS = {"month": "M", "quarter": "Q"}
MIN_COVERAGE = 0.9  # share of a period's repeat windows that must be complete for its repeat rate


@dataclass
class KPITable:
    """KPIs per period (and group): ``table``, and ``notes`` on what could not be computed.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.kpis import complaint_kpis
    >>> kpis = complaint_kpis(load_sample(), by="segment")
    >>> kpis.table[["period", "segment"]].head(3).to_dict("list")
    {'period': ['2023Q1', '2023Q1', '2023Q1'], 'segment': ['enterprise', 'mid_market', 'smb']}
    >>> "<table" in kpis.to_html()
    True
    """

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_html(self) -> str:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return self.table.to_html(index=False, float_format=lambda x: f"{x:,.3f}") + (f"<ul>{notes}</ul>" if notes else "")

    _repr_html_ = to_html


def complaint_kpis(history: History | str | Path, period: str = "quarter", by: str | None = None, engine=None) -> KPITable:
    """Complaint-handling KPIs for complaints opened in each period.

    Formulas (each over the complaints opened in the period, and resolved where it says so):

    - ``volume``: number of complaints.
    - ``first_contact_resolution``: share of resolved complaints with no reopen and no
      further contact (interaction) within 7 days after the resolution.
    - ``reopen_rate``: share of resolved complaints reopened at least once.
    - ``escalation_rate``: share of complaints escalated.
    - ``first_response_hours_median`` / ``_p90``: hours from opening to first response.
    - ``resolution_hours_median`` / ``_p90``: hours from opening to resolution.
    - ``sla_met``: share of complaints whose first response met the SLA.
    - ``repeat_rate_30`` / ``_90``: share of resolved complaints whose client raised the same
      trigger again within 30 / 90 days after the resolution (windows running past the end
      of the data are left out, and a period is left blank until at least 90% of its
      windows are complete: the quickly resolved complaints alone would bias it).
    - ``csat_satisfied``: share of CSAT answers of 4 or 5.
    - ``dispute_rate``: share of resolved complaints the client disputed.

    Every rate has beside it ``<rate>_n``: how many complaints it is a share of.

    ``by`` groups further by a complaint column (``team``, ``trigger``, ``channel``) or a
    client column (``segment``). The engine (the history's, else DuckDB; or Spark) computes them,
    medians and 90th percentiles included, and reads a saved history's folder itself: only
    one row per period and group comes back.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> kpis = complaint_kpis(load_sample(), "quarter", by="segment")
    >>> bool(kpis.table["volume"].sum() > 0)
    True
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, not {period!r}")
    with reading(history, engine) as (con, source):
        tables = Tables(source, con, ["opened_at", *KPI_COLUMNS, *([by] if by else [])], REPEAT_WINDOW)
        return _complaint_kpis(tables, period, by)


#: the complaint columns the KPIs read, as the engine types them
KPI_COLUMNS = {"complaint_id": "string", "client_id": "string", "first_response_at": "timestamp('UTC')", "resolved_at": "timestamp('UTC')",
               "trigger": "string", "reopen_count": "int64", "escalated": "boolean", "sla_met": "boolean", "csat": "int64", "disputed": "boolean"}
REPEAT_WINDOW = pd.Timedelta("90D")  # the longest: the first repeat within it tells the shorter windows too


def _complaint_kpis(tables: Tables, period: str, by: str | None) -> KPITable:
    con, raw, has, notes = tables.con, tables.complaints, tables.has, []
    if by and by not in raw.columns:
        if by not in tables.clients:
            raise ValueError(f"cannot group by {by!r}: neither complaints nor clients have that column")
        people = tables.clients[["client_id", by]].rename(columns={"client_id": "people_id"})
        people = ibis.memtable(pa.Table.from_pandas(people.astype({"people_id": "string"}), preserve_index=False))
        raw = raw.left_join(people, raw.client_id.cast("string") == people.people_id)
    opened = raw.opened_at.cast("timestamp('UTC')")
    periods, index = period_index(con, opened, PERIODS[period])
    keys = {"k": index} | ({"g": raw[by]} if by else {})
    t = raw.select(**keys, opened=opened, **{c: raw[c].cast(kind) if c in raw.columns else ibis.null(kind) for c, kind in KPI_COLUMNS.items()},
                   **({"repeat_days": raw.repeat_days} if "repeat_days" in raw.columns else {}))
    if by:
        t = t.filter(t.g.notnull())  # as pandas groups: a complaint without a group is in none
    contacts = has("resolved_at", "reopen_count") and tables.has_interactions
    if contacts:  # each resolved complaint with an interaction within 7 days after its resolution
        interactions, resolutions = tables.interactions(), t.select(cid=t.complaint_id, done=t.resolved_at)
        after = interactions.join(resolutions, interactions.complaint_id == resolutions.cid)
        after = after.filter((after.at > after.done) & (after.at <= after.done + interval(pd.Timedelta("7D")))).select("cid").distinct()
        t = t.left_join(after, t.complaint_id == after.cid)
    resolved = t.resolved_at.notnull()
    sums = {"volume": t.count()}

    def share(name, flag, where, needs):
        if not all(has(n) for n in needs):
            notes.append(f"{name} needs the column(s) {', '.join(needs)}, which this history does not record.")
            return
        value = ibis.ifelse(where, flag.cast("float64"), ibis.null("float64"))
        sums[name], sums[f"{name}_n"] = value.mean(), value.count()  # a rate with what it is out of

    share("reopen_rate", t.reopen_count > 0, resolved, ["reopen_count", "resolved_at"])
    share("escalation_rate", t.escalated, t.escalated.notnull(), ["escalated"])
    share("sla_met", t.sla_met, t.sla_met.notnull(), ["sla_met"])
    share("csat_satisfied", t.csat >= 4, t.csat.notnull(), ["csat"])
    share("dispute_rate", t.disputed, t.disputed.notnull(), ["disputed"])
    if has("resolved_at", "reopen_count"):
        if contacts:
            contact_after = t.cid.notnull()
        else:
            notes.append("first_contact_resolution counts reopens only: the history has no interactions to see further contact.")
            contact_after = ibis.literal(False)
        share("first_contact_resolution", (t.reopen_count.fill_null(0) == 0) & ~contact_after, resolved, [])
    else:
        notes.append("first_contact_resolution needs resolved_at and reopen_count, which this history does not record.")
    for name, end in (("first_response_hours", "first_response_at"), ("resolution_hours", "resolved_at")):
        if not has(end):
            notes.append(f"{name} needs {end}, which this history does not record.")
            continue
        hours = milliseconds(con, t[end], t.opened).cast("float64") / HOUR_MS
        sums[f"{name}_median"], sums[f"{name}_p90"] = hours.quantile(0.5), hours.quantile(0.9)
    repeat_days = (30, 90)
    if has("resolved_at", "trigger"):
        applicable = t.trigger.notnull() & t.resolved_at.notnull()
        complete = {days: applicable & (t.resolved_at + interval(pd.Timedelta(days=days)) <= tables.end) for days in repeat_days}
        sums |= {"applicable": applicable.cast("int64").sum()} | {f"complete_{days}": complete[days].cast("int64").sum() for days in repeat_days}
    else:
        notes.append("repeat rates need resolved_at and trigger, which this history does not record.")
    names = ["k", *(["g"] if by else [])]
    table = con.execute(t.group_by(names).aggregate(**sums)).sort_values(names).set_index(names)
    if "applicable" in table:
        for days in repeat_days:
            came_back = tables.came_back(t.filter(complete[days]), pd.Timedelta(days=days))
            hits = con.execute(came_back.group_by(names).aggregate(hits=_.count())).set_index(names)["hits"]
            known = table.pop(f"complete_{days}")
            covered = (known / table["applicable"].where(table["applicable"] > 0)) >= MIN_COVERAGE
            rate = hits.reindex(table.index, fill_value=0) / known.where(known > 0)
            table[f"repeat_rate_{days}"], table[f"repeat_rate_{days}_n"] = rate.where(covered), known.astype("float64").where(covered)
        table = table.drop(columns="applicable")
    table = table.reset_index().rename(columns={"g": by})
    labels = np.array([str(p) for p in periods] or [""], dtype=object)
    return KPITable(pd.concat([pd.DataFrame({"period": labels[table.pop("k").to_numpy(dtype=np.int64)]}), table], axis=1), notes)


def retention_kpis(history: History, period: str = "quarter", by: str | None = None) -> KPITable:
    """Logo churn and revenue retention per period (and client group).

    - ``clients_at_start``: clients active at the start of the period.
    - ``logo_churn``: share of them that left (``churned``) during the period.
    - ``ended_by_us``: share whose relationship the business ended.
    - ``gross_revenue_retention``: 1 - annual value of the clients that left / annual value
      at the start.
    Net revenue retention needs each client's value over time (expansion, contraction);
    the clients table holds one annual value, so it is not computed and a note says so.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.kpis import retention_kpis
    >>> kpis = retention_kpis(load_sample())
    >>> kpis.table.columns.tolist()
    ['period', 'clients_at_start', 'logo_churn', 'ended_by_us', 'gross_revenue_retention']
    >>> kpis.table.loc[0, "period"], int(kpis.table.loc[0, "clients_at_start"])
    ('2023Q1', 2075)
    >>> kpis.notes
    ['net revenue retention needs client value over time; the clients table holds one annual value per client.']
    """
    clients = history.clients
    notes = ["net revenue retention needs client value over time; the clients table holds one annual value per client."]
    if not history.has("ended_at", "status", table="clients") or history.clients_derived:
        notes.insert(0, "logo churn and revenue retention need client status and end dates, which this history does not record.")
        return KPITable(pd.DataFrame(), notes)
    span = history.span
    # the last period counts once the data reaches its last day
    last = data_end(history).tz_convert(None) + pd.Timedelta(days=1)
    starts = pd.period_range(span[0], last, freq=PERIODS[period]).to_timestamp().tz_localize("UTC")
    rows = []
    groups = clients.groupby(by) if by else [(None, clients)]
    for key, group in groups:
        value = group["annual_value"].astype("float64") if history.has("annual_value", table="clients") else None
        for start, end in zip(starts[:-1], starts[1:], strict=True):
            began = group["contract_start"].isna() | (group["contract_start"] < start)
            active = began & ~(group["ended_at"] < start).fillna(False).astype(bool)
            left = active & (group["ended_at"] >= start).fillna(False).astype(bool) & (group["ended_at"] < end).fillna(False).astype(bool)
            churned = left & (group["status"] == "churned")
            row = {"period": str(start.tz_localize(None).to_period(PERIODS[period])), "clients_at_start": int(active.sum())}
            if by:
                row[by] = key
            n = max(int(active.sum()), 1)
            row["logo_churn"] = churned.sum() / n
            row["ended_by_us"] = (left & (group["status"] == "ended_by_us")).sum() / n
            if value is not None:
                base = value[active].sum()
                row["gross_revenue_retention"] = 1 - value[churned].sum() / base if base else np.nan
            rows.append(row)
    if not history.has("annual_value", table="clients"):
        notes.append("gross revenue retention needs annual_value, which this history does not record.")
    return KPITable(pd.DataFrame(rows), notes)
