"""Complaint-handling and retention KPIs per period, optionally per segment, team or trigger.

Every KPI runs on whatever the history records; one it cannot compute is left out, and
``KPITable.notes`` says which and why in one sentence each.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics._time import naive_utc
from analytics.features import data_end, repeats
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


def complaint_kpis(history: History, period: str = "quarter", by: str | None = None) -> KPITable:
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
    client column (``segment``).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> kpis = complaint_kpis(load_sample(), "quarter", by="segment")
    >>> bool(kpis.table["volume"].sum() > 0)
    True
    """
    complaints = _with_group(history, by)
    notes: list[str] = []
    complaints = complaints.assign(period=_period(complaints["opened_at"], period))
    keys = ["period"] + ([by] if by else [])
    resolved = complaints["resolved_at"].notna()
    columns = {"volume": complaints.groupby(keys).size()}

    def share(name, flag, where, needs):
        if not all(history.has(n) for n in needs):
            notes.append(f"{name} needs the column(s) {', '.join(needs)}, which this history does not record.")
            return
        values = flag.where(where).astype("float64")
        grouped = values.groupby([complaints[k] for k in keys])
        columns[name], columns[f"{name}_n"] = grouped.mean(), grouped.count()  # a rate with what it is out of

    share("reopen_rate", complaints["reopen_count"] > 0, resolved, ["reopen_count", "resolved_at"])
    share("escalation_rate", complaints["escalated"].astype("boolean"), complaints["escalated"].notna(), ["escalated"])
    share("sla_met", complaints["sla_met"].astype("boolean"), complaints["sla_met"].notna(), ["sla_met"])
    share("csat_satisfied", complaints["csat"] >= 4, complaints["csat"].notna(), ["csat"])
    share("dispute_rate", complaints["disputed"].astype("boolean"), complaints["disputed"].notna(), ["disputed"])
    if history.has("resolved_at", "reopen_count"):
        if history.interactions.empty:
            notes.append("first_contact_resolution counts reopens only: the history has no interactions to see further contact.")
            contact_after = pd.Series(False, index=complaints.index)
        else:
            contact_after = _contact_within(history, complaints, pd.Timedelta("7D"))
        first_contact = (complaints["reopen_count"].fillna(0) == 0) & ~contact_after
        grouped = first_contact.where(resolved).astype("float64").groupby([complaints[k] for k in keys])
        columns["first_contact_resolution"], columns["first_contact_resolution_n"] = grouped.mean(), grouped.count()
    else:
        notes.append("first_contact_resolution needs resolved_at and reopen_count, which this history does not record.")
    for name, start, end in (("first_response_hours", "opened_at", "first_response_at"), ("resolution_hours", "opened_at", "resolved_at")):
        if not history.has(end):
            notes.append(f"{name} needs {end}, which this history does not record.")
            continue
        hours = (complaints[end] - complaints[start]).dt.total_seconds() / 3600
        grouped = hours.groupby([complaints[k] for k in keys])
        columns[f"{name}_median"] = grouped.median()
        columns[f"{name}_p90"] = grouped.quantile(0.9)
    if history.has("resolved_at", "trigger"):
        # one pass at the longest window: the first repeat within it tells the shorter ones too
        flags = repeats(history, "90D").set_axis(complaints.index)  # row for row: the join kept the complaints' order
        applicable, end, groups = flags["repeated"].notna().to_numpy(), data_end(history), [complaints[k] for k in keys]
        for days in (30, 90):
            window = pd.Timedelta(days=days)
            complete = applicable & (flags["resolved_at"] + window <= end).to_numpy()
            flag = pd.Series(np.where(complete, (flags["days_to_repeat"] <= days).to_numpy(), np.nan), index=complaints.index)
            coverage = pd.Series(np.where(applicable, complete, np.nan), index=complaints.index).groupby(groups).mean()
            columns[f"repeat_rate_{days}"] = flag.groupby(groups).mean().where(coverage >= MIN_COVERAGE)
            columns[f"repeat_rate_{days}_n"] = flag.groupby(groups).count().where(coverage >= MIN_COVERAGE)
    else:
        notes.append("repeat rates need resolved_at and trigger, which this history does not record.")
    table = pd.DataFrame(columns).reset_index()
    table["period"] = table["period"].astype(str)
    return KPITable(table, notes)


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


def _period(moments: pd.Series, period: str) -> pd.Series:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)}, not {period!r}")
    return naive_utc(moments).dt.to_period(PERIODS[period])


def _with_group(history: History, by: str | None) -> pd.DataFrame:
    """The complaints, with the client column ``by`` joined on when it is one."""
    complaints = history.complaints
    if by and by not in complaints:
        if by not in history.clients:
            raise ValueError(f"cannot group by {by!r}: neither complaints nor clients have that column")
        complaints = complaints.merge(history.clients[["client_id", by]], on="client_id", how="left")
    return complaints


def _contact_within(history: History, complaints: pd.DataFrame, window: pd.Timedelta) -> pd.Series:
    """Whether any interaction of the complaint came after its resolution, within ``window``."""
    contacts = history.interactions[["complaint_id", "at"]].merge(complaints[["complaint_id", "resolved_at"]], on="complaint_id")
    after = contacts.loc[(contacts["at"] > contacts["resolved_at"]) & (contacts["at"] <= contacts["resolved_at"] + window), "complaint_id"]
    return complaints["complaint_id"].isin(set(after))
