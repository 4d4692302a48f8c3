"""Abuse and the people who take it: abusive contacts per team and agent, what happened
after them, and the handling time they cost."""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
from ibis import _

from analytics._time import utc
from analytics.features import Tables, connection, reading
from analytics.io import History


def abused_complaints(history: History) -> pd.Series:
    """Per complaint id (every complaint): whether the client was abusive in any of its
    contacts (inbound contacts with a recorded or read tone).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import abused_complaints
    >>> abused = abused_complaints(load_sample())
    >>> len(abused), int(abused.sum())
    (13119, 133)
    """
    with connection() as con:
        abusive = con.execute(Tables(history, con, ["complaint_id"]).abused())["complaint_id"]
    ids = history.complaints["complaint_id"].astype("string")
    return pd.Series(ids.isin(set(abusive)).to_numpy(bool), index=pd.Index(ids, name="complaint_id"), name="abused")


def abuse_by_client(history: History | str | Path, since, until, engine=None) -> pd.DataFrame:
    """Per client, over complaints opened in [``since``, ``until``): the complaints with an
    abusive contact, how many of them were escalated, and the handling hours they took.
    Clients without such a complaint are left out. Counted in the engine (``engine``:
    the history's, else DuckDB; or Spark), which reads a saved history's folder itself.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import abuse_by_client
    >>> abuse = abuse_by_client(load_sample(), since="2025-01-01", until="2026-01-01")
    >>> abuse.columns.tolist(), len(abuse)
    (['complaints_with_abuse', 'escalated_after_abuse', 'abuse_hours'], 27)
    """
    with reading(history, engine) as (con, source):
        tables = Tables(source, con, ["complaint_id", "client_id", "opened_at", "escalated", "handling_minutes"])
        if not tables.has("tone", table="interactions"):
            return pd.DataFrame(columns=["complaints_with_abuse", "escalated_after_abuse", "abuse_hours"]).rename_axis("client_id")
        c, abused = tables.complaints, tables.abused()
        opened = c.opened_at.cast("timestamp('UTC')")
        hit = c.filter((opened >= utc(since)) & (opened < utc(until)))
        hit = hit.semi_join(abused, hit.complaint_id.cast("string") == abused.complaint_id)
        table = con.execute(hit.group_by(client_id=hit.client_id.cast("string")).aggregate(
            complaints_with_abuse=_.count(), escalated_after_abuse=_flag(hit, "escalated").sum(), abuse_minutes=_minutes(hit).sum()))
    table = table.set_index("client_id").sort_index().astype({"complaints_with_abuse": "int64", "escalated_after_abuse": "int64"})
    return table.assign(abuse_hours=table.pop("abuse_minutes") / 60)


def _flag(complaints, column: str):
    """A yes/no column of the complaints as 1 or 0, a missing answer (or column) as 0."""
    return complaints[column].cast("boolean").fill_null(False).cast("int64") if column in complaints.columns else ibis.literal(0)


def _minutes(complaints):
    """The complaints' handling minutes, a missing one (or column) as 0."""
    return complaints.handling_minutes.cast("float64").fill_null(0.0) if "handling_minutes" in complaints.columns else ibis.literal(0.0)


def abuse_load(history: History | str | Path, by: str = "team", engine=None) -> pd.DataFrame:
    """Per ``by`` (team or agent) of the complaints: the clients' contacts, how many were
    abusive and their share, the complaints with an abusive contact, the share of those
    escalated (the conversation handed up rather than carried on), and the handling
    minutes those complaints took, with their share of the group's minutes. Largest
    abusive count first. Counted in the engine (``engine``: the history's, else DuckDB; or Spark),
    which reads a saved history's folder itself.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import abuse_load
    >>> load = abuse_load(load_sample(), by="team")
    >>> load.columns.tolist()
    ['team', 'client_contacts', 'abusive_contacts', 'abusive_share', 'complaints_with_abuse', 'escalated_after_abuse', 'minutes_on_abuse', 'share_of_minutes']
    """
    with reading(history, engine) as (con, source):
        tables = Tables(source, con, ["complaint_id", by, "escalated", "handling_minutes"])
        if not tables.has("tone", table="interactions"):
            raise ValueError("abuse per team needs the tone of clients' contacts (or their words), which this history does not record")
        if not tables.has(by):
            raise ValueError(f"abuse per {by} needs the complaints' {by}, which this history does not record")
        raw, abused = tables.complaints, tables.abused().select(abused_id="complaint_id")
        c = raw.select(complaint_id=raw.complaint_id.cast("string"), group=raw[by].cast("string"),
                       escalated=raw.escalated.cast("boolean") if "escalated" in raw.columns else ibis.null("boolean"),
                       minutes=raw.handling_minutes.cast("float64") if "handling_minutes" in raw.columns else ibis.null("float64"))
        contacts = tables.client_contacts("tone")
        contacts = contacts.left_join(c.select("complaint_id", "group"), contacts.complaint_id == c.complaint_id)
        counted = con.execute(contacts.group_by(group=contacts.group.fill_null("not recorded")).aggregate(
            client_contacts=_.count(), abusive_contacts=(contacts.tone == "abusive").fill_null(False).cast("int64").sum()))
        c = c.left_join(abused, c.complaint_id == abused.abused_id)
        hit = c.abused_id.notnull()
        summed = con.execute(c.group_by(group=c.group.fill_null("not recorded")).aggregate(
            complaints_with_abuse=hit.cast("int64").sum(), escalated_after_abuse=c.escalated.cast("float64").mean(where=hit),
            minutes_on_abuse=c.minutes.sum(where=hit), minutes=c.minutes.sum()))
    table = counted.set_index("group").join(summed.set_index("group"))
    table["complaints_with_abuse"] = table["complaints_with_abuse"].fillna(0).astype("int64")
    table["minutes_on_abuse"] = table["minutes_on_abuse"].astype("float64").fillna(0.0)
    table["abusive_share"] = table["abusive_contacts"] / table["client_contacts"]
    table["share_of_minutes"] = table["minutes_on_abuse"] / table.pop("minutes").astype("float64").fillna(0.0)
    columns = ["client_contacts", "abusive_contacts", "abusive_share", "complaints_with_abuse", "escalated_after_abuse", "minutes_on_abuse", "share_of_minutes"]
    table = table.rename_axis(by).sort_index().astype({"client_contacts": "int64", "abusive_contacts": "int64"})
    return table[columns].sort_values(["abusive_contacts", "client_contacts"], ascending=False).reset_index()
