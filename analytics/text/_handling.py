"""Practices and tone read into a History where its exports did not record them."""

from __future__ import annotations

import dataclasses

import pandas as pd

from analytics.schemas import PRACTICES, client_contacts
from analytics.text._practices import USED_FROM, practice_confidence
from analytics.text._tone import read_tone

#: marks on the rows whose practices or tone were read from text, not recorded
PRACTICES_READ = "practices_read"
TONE_READ = "tone_read"


def read_handling(history, replace: bool = False):
    """``history`` with the handling practices read from the complaints' ``replies`` (or,
    without them, the ``text`` of outbound contacts) and the tone of inbound contacts read
    from the interactions' ``text``, where the export records
    no practice (no tone), or always with ``replace=True``.

    Read practices fill the canonical practice columns; each complaint gets
    ``practices_read`` (True) and ``<practice>_confidence``; moving a complaint private is
    left missing for complaints not made in public. Read tones get ``tone_read``. Notes say
    what was read.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.text import read_handling
    >>> history = read_handling(load_sample(), replace=True)
    >>> bool(history.complaints["practices_read"].all()), "apologized_confidence" in history.complaints
    (True, True)
    """
    complaints, interactions, notes = read_into(history.complaints, history.interactions, replace)
    if not notes:
        return history
    report = history.report
    if report is not None:
        report = dataclasses.replace(report, notes=[*report.notes, *notes])
    return dataclasses.replace(history, complaints=complaints, interactions=interactions, report=report)


def read_into(complaints: pd.DataFrame, interactions: pd.DataFrame, replace: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The tables with practices and tone read where not recorded, and notes saying so.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.text import read_into
    >>> sample = load_sample()
    >>> complaints, interactions, notes = read_into(sample.complaints, sample.interactions, replace=True)
    >>> bool(complaints["practices_read"].all()), bool(interactions["tone_read"].notna().any())
    (True, True)
    >>> for note in notes:
    ...     print(note)
    Handling practices read from the agents' replies of 13,119 complaints (in place of what the export recorded, as asked); practice effects on them carry a band for the reader's errors.
    Tone read from the clients' words in 15,421 contacts (in place of what the export recorded, as asked).
    """
    notes = []
    recorded = any(p in complaints and complaints[p].notna().any() for p in PRACTICES)
    if not _has_text(complaints, "replies") and _has_text(interactions, "text") and "direction" in interactions and (replace or not recorded):
        # the agents' replies as contacts: joined per complaint, in order
        outbound = interactions.loc[interactions["direction"].astype("string").eq("outbound").fillna(False) & interactions["text"].notna()]
        if len(outbound):
            joined = outbound.sort_values("at").groupby(outbound["complaint_id"].astype("string"), observed=True)["text"].agg(lambda t: "\n\n".join(t.astype(str)))
            complaints = complaints.assign(replies=complaints["complaint_id"].astype("string").map(joined).astype("string"))
    if _has_text(complaints, "replies") and (replace or not recorded):
        complaints = complaints.copy()
        written = complaints["replies"].notna() & (complaints["replies"].astype("string").str.strip().str.len() > 0)
        confidence = practice_confidence(complaints.loc[written, "replies"])
        public = complaints["channel"].astype("string") == "social_public" if "channel" in complaints else pd.Series(True, index=complaints.index)
        for practice in PRACTICES:
            read = pd.Series(pd.NA, index=complaints.index, dtype="boolean")
            read[written] = (confidence[practice] >= USED_FROM).to_numpy()
            if practice == "moved_private":
                read = read.where(public.fillna(False).astype(bool))
            complaints[practice] = read
            complaints[f"{practice}_confidence"] = confidence[practice].reindex(complaints.index).astype("float64")
        complaints[PRACTICES_READ] = written.astype("boolean")
        notes.append(f"Handling practices read from the agents' replies of {int(written.sum()):,} complaints ({_why(recorded)}); "
                     "practice effects on them carry a band for the reader's errors.")
    tone_recorded = "tone" in interactions and interactions["tone"].notna().any()
    if _has_text(interactions, "text") and (replace or not tone_recorded):
        interactions = interactions.copy()
        inbound = client_contacts(interactions) & interactions["text"].notna()
        tone = pd.Series(pd.NA, index=interactions.index, dtype="string")
        tone[inbound] = read_tone(interactions.loc[inbound, "text"])
        interactions["tone"] = tone.astype(interactions["tone"].dtype if "tone" in interactions else "string")
        interactions[TONE_READ] = inbound.astype("boolean")
        notes.append(f"Tone read from the clients' words in {int(inbound.sum()):,} contacts ({_why(tone_recorded)}).")
    return complaints, interactions, notes


def _why(recorded: bool) -> str:
    return "in place of what the export recorded, as asked" if recorded else "not recorded in the export"


def _has_text(table: pd.DataFrame, column: str) -> bool:
    return column in table and table[column].notna().any()
