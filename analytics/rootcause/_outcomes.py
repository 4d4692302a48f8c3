"""The outcomes a handling practice is judged on, one row per complaint: a repeat of the
same trigger within 90 days, a dispute, CSAT of 4 or 5, the client leaving within 180 days,
and hostility after the first response. Each is missing where it is not defined or not
yet known, so that a complaint too recent to judge counts neither way.
"""

from __future__ import annotations

import pandas as pd

from analytics.features import Tables, connection, data_end, prior_count, repeats
from analytics.io import History
from analytics.schemas import HOSTILE_TONES, PRACTICES

OUTCOMES = {
    "repeat": "same trigger again within 90 days",
    "dispute": "dispute",
    "csat": "CSAT 4 or 5",
    "churn": "client left within 180 days",
    "hostility": "client angry or abusive after the first response",
}


def complaint_outcomes(history: History, outcomes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """One row per complaint: practices, confounders and each outcome (null where it is
    not defined or not yet known).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import complaint_outcomes
    >>> frame, notes = complaint_outcomes(load_sample(), ["repeat", "churn"])
    >>> len(frame), int(frame["repeat"].notna().sum()), round(float(frame["churn"].mean()), 3), notes
    (13119, 10883, 0.228, [])
    """
    c = history.complaints
    notes = []
    frame = pd.DataFrame({"complaint_id": c["complaint_id"], "client_id": c["client_id"]})
    for column in ("severity", "trigger", "channel", "team"):
        if column in c:
            frame[column] = c[column].astype("string").fillna("not recorded")
    clients = history.clients.set_index("client_id")
    if "segment" in clients:
        frame["segment"] = c["client_id"].map(clients["segment"]).astype("string").fillna("not recorded")
    opened = pd.to_datetime(c["opened_at"], utc=True)
    frame["prior_complaints_365"] = prior_count(c["client_id"], opened, pd.Timedelta(days=365))
    for practice in PRACTICES:
        if practice in c:
            frame[practice] = c[practice].astype("boolean")
    if "practices_read" in c:
        frame["practices_read"] = c["practices_read"].astype("boolean")
    end = data_end(history)
    resolved = c["resolved_at"].notna()
    if "repeat" in outcomes:
        if history.has("resolved_at", "trigger"):
            flags = repeats(history, "90D").set_axis(c.index)  # row for row
            frame["repeat"] = pd.array(flags["repeated"].where(flags["complete"].fillna(False).astype(bool)).array, dtype="boolean")
        else:
            notes.append("Repeats need resolution times and triggers, which this history does not record.")
    if "dispute" in outcomes:
        if history.has("disputed"):
            frame["dispute"] = c["disputed"].astype("boolean").where(resolved | (not history.has("resolved_at")))
        else:
            notes.append("Disputes are not recorded in this history.")
    if "csat" in outcomes:
        if history.has("csat"):
            frame["csat"] = (c["csat"] >= 4).astype("boolean").where(c["csat"].notna())
        else:
            notes.append("CSAT is not recorded in this history.")
    if "churn" in outcomes:
        if history.has("status", "ended_at", table="clients") and not history.clients_derived:
            ended = pd.to_datetime(c["client_id"].map(clients["ended_at"]), utc=True)
            left = (c["client_id"].map(clients["status"]) == "churned").to_numpy() & (ended > opened) & (ended <= opened + pd.Timedelta(days=180))
            # only complaints followed for the full 180 days: counting the recent ones whose client
            # already left, but not those still here, would count only churners among them
            known = opened + pd.Timedelta(days=180) <= end
            frame["churn"] = pd.Series(left.to_numpy(), index=c.index, dtype="boolean").where(known)
        else:
            notes.append("Churn needs client status and end dates, which this history does not record.")
    if "hostility" in outcomes:
        if history.has("tone", table="interactions") and history.has("first_response_at"):
            frame["hostility"] = pd.array(hostility(history).reindex(c["complaint_id"]).array, dtype="boolean")
        else:
            notes.append("Hostility needs the tone of clients' contacts (or their words) and first response times, which this history does not record.")
    return frame, notes


def hostility(history: History) -> pd.Series:
    """Per complaint id: whether the client wrote angrily or abusively after the first
    response (inbound contacts with a recorded or read tone); missing where the client made
    no such contact. Found in the engine, which reads the interactions as Arrow.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import hostility
    >>> hostile = hostility(load_sample())
    >>> len(hostile), int(hostile.notna().sum()), round(float(hostile.mean()), 3)
    (2059, 2059, 0.055)
    """
    with connection() as con:
        tables = Tables(history, con, ["complaint_id", "first_response_at"])
        contacts, c = tables.client_contacts("tone"), tables.complaints
        c = c.select(responded_id=c.complaint_id.cast("string"), responded=c.first_response_at.cast("timestamp('UTC')"))
        later = contacts.join(c, contacts.complaint_id == c.responded_id).filter(lambda t: t.tone.notnull() & (t.at > t.responded))
        found = con.to_pyarrow(later.group_by("complaint_id").aggregate(hostility=later.tone.isin(HOSTILE_TONES).any()).order_by("complaint_id"))
    # from Arrow as it is: millions of ids as Python strings would cost more than finding them
    ids = pd.Index(found["complaint_id"].to_pandas(types_mapper=pd.ArrowDtype), name="complaint_id")
    return pd.Series(found["hostility"].to_pandas(types_mapper=pd.ArrowDtype).array, index=ids, name="hostility").astype("boolean")
