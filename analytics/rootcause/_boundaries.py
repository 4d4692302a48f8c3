"""Abuse and the people who take it: abusive contacts per team and agent, what happened
after them, and the handling time they cost."""

from __future__ import annotations

import pandas as pd

from analytics.io import History
from analytics.schemas import client_contacts


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
    i = history.interactions
    inbound = client_contacts(i)
    abusive = i.loc[inbound & i["tone"].astype("string").eq("abusive").fillna(False), "complaint_id"].astype("string")
    ids = history.complaints["complaint_id"].astype("string")
    return pd.Series(ids.isin(set(abusive)).to_numpy(bool), index=pd.Index(ids, name="complaint_id"), name="abused")


def abuse_by_client(history: History, since, until) -> pd.DataFrame:
    """Per client, over complaints opened in [``since``, ``until``): the complaints with an
    abusive contact, how many of them were escalated, and the handling hours they took.
    Clients without such a complaint are left out.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import abuse_by_client
    >>> abuse = abuse_by_client(load_sample(), since="2025-01-01", until="2026-01-01")
    >>> abuse.columns.tolist(), len(abuse)
    (['complaints_with_abuse', 'escalated_after_abuse', 'abuse_hours'], 27)
    """
    if not history.has("tone", table="interactions"):
        return pd.DataFrame(columns=["complaints_with_abuse", "escalated_after_abuse", "abuse_hours"]).rename_axis("client_id")
    c = history.complaints
    opened = pd.to_datetime(c["opened_at"], utc=True)
    window = ((opened >= since) & (opened < until)).to_numpy(bool) & abused_complaints(history).to_numpy()
    hit = pd.DataFrame({
        "client_id": c.loc[window, "client_id"].astype("string").to_numpy(),
        "escalated": c.loc[window, "escalated"].astype("boolean").fillna(False).astype(int).to_numpy() if "escalated" in c else 0,
        "minutes": c.loc[window, "handling_minutes"].astype(float).fillna(0).to_numpy() if "handling_minutes" in c else 0.0,
    })
    table = hit.groupby("client_id").agg(complaints_with_abuse=("client_id", "size"), escalated_after_abuse=("escalated", "sum"), abuse_minutes=("minutes", "sum"))
    return table.assign(abuse_hours=table.pop("abuse_minutes") / 60)


def abuse_load(history: History, by: str = "team") -> pd.DataFrame:
    """Per ``by`` (team or agent) of the complaints: the clients' contacts, how many were
    abusive and their share, the complaints with an abusive contact, the share of those
    escalated (the conversation handed up rather than carried on), and the handling
    minutes those complaints took, with their share of the group's minutes. Largest
    abusive count first.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import abuse_load
    >>> load = abuse_load(load_sample(), by="team")
    >>> load.columns.tolist()
    ['team', 'client_contacts', 'abusive_contacts', 'abusive_share', 'complaints_with_abuse', 'escalated_after_abuse', 'minutes_on_abuse', 'share_of_minutes']
    """
    if not history.has("tone", table="interactions"):
        raise ValueError("abuse per team needs the tone of clients' contacts (or their words), which this history does not record")
    if not history.has(by):
        raise ValueError(f"abuse per {by} needs the complaints' {by}, which this history does not record")
    i = history.interactions
    c = history.complaints.set_index("complaint_id")
    inbound = client_contacts(i)
    contacts = pd.DataFrame({
        "complaint_id": i.loc[inbound, "complaint_id"].astype("string"),
        "abusive": i.loc[inbound, "tone"].astype("string").eq("abusive").fillna(False).to_numpy(bool),
    })
    contacts[by] = contacts["complaint_id"].map(c[by].astype("string")).fillna("not recorded").to_numpy()
    complaints = pd.DataFrame({by: c[by].astype("string").fillna("not recorded"), "abused": abused_complaints(history).to_numpy()})
    complaints["escalated"] = c["escalated"].astype("boolean") if "escalated" in c else pd.NA
    complaints["minutes"] = c["handling_minutes"].astype(float) if "handling_minutes" in c else float("nan")
    table = contacts.groupby(by, observed=True).agg(client_contacts=("abusive", "size"), abusive_contacts=("abusive", "sum"))
    hit = complaints.loc[complaints["abused"]]
    table["complaints_with_abuse"] = hit.groupby(by).size().reindex(table.index).fillna(0).astype(int)
    table["escalated_after_abuse"] = hit.groupby(by)["escalated"].mean().reindex(table.index).astype(float)
    table["minutes_on_abuse"] = hit.groupby(by)["minutes"].sum().reindex(table.index).fillna(0.0)
    table["abusive_share"] = table["abusive_contacts"] / table["client_contacts"]
    table["share_of_minutes"] = table["minutes_on_abuse"] / complaints.groupby(by)["minutes"].sum().reindex(table.index)
    columns = ["client_contacts", "abusive_contacts", "abusive_share", "complaints_with_abuse", "escalated_after_abuse", "minutes_on_abuse", "share_of_minutes"]
    return table[columns].sort_values(["abusive_contacts", "client_contacts"], ascending=False).reset_index()
