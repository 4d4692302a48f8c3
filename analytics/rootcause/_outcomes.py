"""The outcomes a handling practice is judged on, one row per complaint: a repeat of the
same trigger within 90 days, a dispute, CSAT of 4 or 5, the client leaving within 180 days,
and hostility after the first response. Each is missing where it is not defined or not
yet known, so that a complaint too recent to judge counts neither way.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from analytics.features import StoredHistory, Tables, connection, engine_of, prior_count, staged
from analytics.io import History
from analytics.schemas import HOSTILE_TONES, PRACTICES

OUTCOMES = {
    "repeat": "same trigger again within 90 days",
    "dispute": "dispute",
    "csat": "CSAT 4 or 5",
    "churn": "client left within 180 days",
    "hostility": "client angry or abusive after the first response",
}


#: what the outcomes and their confounders are read from
READ = ("complaint_id", "client_id", "opened_at", "first_response_at", "resolved_at", "severity", "trigger", "channel", "team",
        "disputed", "csat", "practices_read", *PRACTICES)
#: a repeat of the same trigger counts within this long after a resolution
REPEAT_WINDOW = pd.Timedelta(days=90)


def complaint_outcomes(history: History | StoredHistory | str | Path, outcomes: list[str], engine=None) -> tuple[pd.DataFrame, list[str]]:
    """One row per complaint, in the history's order: practices, confounders and each
    outcome (null where it is not defined or not yet known). ``history``: in memory, or a
    saved history's folder. The engine finds the repeats and the contacts after each first
    response, and hands back only the columns read here (the year before each complaint is
    counted from them): ``engine`` when given, else DuckDB in this process, whatever a
    History's own, since the rows come back one per complaint anyway (as :func:`repeats`);
    a :class:`~analytics.features.StoredHistory` is read by its own.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import complaint_outcomes
    >>> frame, notes = complaint_outcomes(load_sample(), ["repeat", "churn"])
    >>> len(frame), int(frame["repeat"].notna().sum()), round(float(frame["churn"].mean()), 3), notes
    (13119, 10883, 0.228, [])
    """
    with connection(_engine(history, engine)) as con, staged(history, con) as source:
        tables = Tables(source, con, list(READ), within=REPEAT_WINDOW if "repeat" in outcomes else None, numbered=True)
        has, clients, end = tables.has, tables.clients.set_index("client_id"), tables.end
        repeat = "repeat" in outcomes and has("resolved_at", "trigger")
        c = _complaints(tables, repeat)
        c.index = history.complaints.index if isinstance(history, History) else c.index  # row for row with the history's
        hostile = _hostility(tables).reindex(c["complaint_id"]) if "hostility" in outcomes and has("tone", table="interactions") and has("first_response_at") else None
    notes = []
    frame = pd.DataFrame({"complaint_id": c["complaint_id"], "client_id": c["client_id"]})
    for column in ("severity", "trigger", "channel", "team"):
        if column in c:
            frame[column] = c[column].astype("string").fillna("not recorded")
    if "segment" in clients:
        frame["segment"] = c["client_id"].map(clients["segment"]).astype("string").fillna("not recorded")
    opened = pd.to_datetime(c["opened_at"], utc=True)
    frame["prior_complaints_365"] = prior_count(c["client_id"], opened, pd.Timedelta(days=365))
    for practice in PRACTICES:
        if practice in c:
            frame[practice] = c[practice].astype("boolean")
    if "practices_read" in c:
        frame["practices_read"] = c["practices_read"].astype("boolean")
    resolved = c["resolved_at"].notna() if "resolved_at" in c else pd.Series(False, index=c.index)
    if "repeat" in outcomes:
        if repeat:  # known where the whole window lies within the data
            complete = resolved & c["trigger"].notna() & (pd.to_datetime(c["resolved_at"], utc=True) + REPEAT_WINDOW <= end)
            frame["repeat"] = c["came_back"].astype("boolean").where(complete)
        else:
            notes.append("Repeats need resolution times and triggers, which this history does not record.")
    if "dispute" in outcomes:
        if has("disputed"):
            frame["dispute"] = c["disputed"].astype("boolean").where(resolved | (not has("resolved_at")))
        else:
            notes.append("Disputes are not recorded in this history.")
    if "csat" in outcomes:
        if has("csat"):
            frame["csat"] = (c["csat"] >= 4).astype("boolean").where(c["csat"].notna())
        else:
            notes.append("CSAT is not recorded in this history.")
    if "churn" in outcomes:
        if has("status", "ended_at", table="clients") and not tables.clients_derived:
            ended = pd.to_datetime(c["client_id"].map(clients["ended_at"]), utc=True)
            left = (c["client_id"].map(clients["status"]) == "churned").to_numpy() & (ended > opened) & (ended <= opened + pd.Timedelta(days=180))
            # only complaints followed for the full 180 days: counting the recent ones whose client
            # already left, but not those still here, would count only churners among them
            known = opened + pd.Timedelta(days=180) <= end
            frame["churn"] = pd.Series(left.to_numpy(), index=c.index, dtype="boolean").where(known)
        else:
            notes.append("Churn needs client status and end dates, which this history does not record.")
    if "hostility" in outcomes:
        if hostile is not None:
            frame["hostility"] = pd.array(hostile["hostility"].array, dtype="boolean")
            if "tone_read" in hostile:  # whether the tone it rests on was read from the client's words
                frame["tone_read"] = pd.array(hostile["tone_read"].array, dtype="boolean")
        else:
            notes.append("Hostility needs the tone of clients' contacts (or their words) and first response times, which this history does not record.")
    return frame, notes


def _engine(history, engine):
    """Where the rows are found: a History in memory is read in this process unless told
    otherwise; a stored one where its engine reads it."""
    return engine if isinstance(history, History) else engine_of(history, engine)


def _complaints(tables: Tables, repeat: bool) -> pd.DataFrame:
    """The columns of :data:`READ` the history has, in its order, with ``came_back`` (the
    same trigger again within the window) when ``repeat``."""
    t = tables.complaints
    read = t.select("_row", *(name for name in READ if name in t.columns))
    if repeat:
        done = t.select("_row", *(name for name in ("repeat_days",) if name in t.columns), client_id=t.client_id.cast("string"),
                        trigger=t.trigger.cast("string"), resolved_at=t.resolved_at.cast("timestamp('UTC')"))
        back = tables.came_back(done.filter(done.trigger.notnull() & done.resolved_at.notnull()), REPEAT_WINDOW)
        back = back.select(back_row=back["_row"], came_back=ibis.literal(True))
        read = read.left_join(back, read["_row"] == back.back_row).drop("back_row")
        read = read.mutate(came_back=read.came_back.fill_null(False))
    return _pandas(tables.con.to_pyarrow(read.order_by("_row").drop("_row")))


def hostility(history: History | StoredHistory | str | Path, engine=None) -> pd.Series:
    """Per complaint id: whether the client wrote angrily or abusively after the first
    response (inbound contacts with a recorded or read tone); missing where the client made
    no such contact. Found in the engine (as for :func:`complaint_outcomes`: ``engine`` when
    given, else DuckDB in this process).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import hostility
    >>> hostile = hostility(load_sample())
    >>> len(hostile), int(hostile.notna().sum()), round(float(hostile.mean()), 3)
    (2059, 2059, 0.055)
    """
    with connection(_engine(history, engine)) as con, staged(history, con) as source:
        return _hostility(Tables(source, con, ["complaint_id", "first_response_at"]))["hostility"].astype("boolean")


def _hostility(tables: Tables) -> pd.DataFrame:
    """Per complaint id with a client's contact after the first response: ``hostility``
    and, where the interactions say so, whether any such contact's tone was read from text
    (``tone_read``)."""
    contacts, c = tables.client_contacts("tone", "tone_read"), tables.complaints
    c = c.select(responded_id=c.complaint_id.cast("string"), responded=c.first_response_at.cast("timestamp('UTC')"))
    later = contacts.join(c, contacts.complaint_id == c.responded_id).filter(lambda t: t.tone.notnull() & (t.at > t.responded))
    sums = {"hostility": later.tone.isin(HOSTILE_TONES).any()}
    sums |= {"tone_read": later.tone_read.any()} if "tone_read" in later.columns else {}
    return _pandas(tables.con.to_pyarrow(later.group_by("complaint_id").aggregate(**sums).order_by("complaint_id"))).set_index("complaint_id")


def _pandas(found: pa.Table) -> pd.DataFrame:
    """Arrow as pandas with its nulls kept: text stays Arrow (millions of ids as Python
    strings would cost more than finding them), flags and whole numbers nullable."""
    def kind(arrow: pa.DataType):
        if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
            return pd.ArrowDtype(arrow)
        return pd.BooleanDtype() if pa.types.is_boolean(arrow) else pd.Int64Dtype() if pa.types.is_integer(arrow) else None

    return found.to_pandas(types_mapper=kind)
