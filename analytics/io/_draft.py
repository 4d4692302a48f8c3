"""Drafting a profile for an export nobody has described yet: recognise a shipped profile
by its headers, the date format and missing-value markers by the values, and an event log
by repeated ticket ids with a status. Every guess is a line for a person to check."""

from __future__ import annotations

import difflib
import re

import pandas as pd

from analytics.io._profile import available_profiles, load_profile, snake_case
from analytics.schemas import column_rules

# Words exports use for canonical columns, tried when drafting a profile.
SYNONYMS = {
    "client_id": ["customer", "account", "company", "organization", "organisation", "client", "caller", "requester"],
    "complaint_id": ["ticket id", "case id", "case number", "ticket", "complaint id", "incident", "number", "id"],
    "opened_at": ["created", "created at", "date received", "opened", "submitted", "reported", "opened at", "create date"],
    "first_response_at": ["first reply", "first response", "first reply time"],
    "resolved_at": ["solved", "solved at", "resolved", "resolution date", "resolved at"],
    "closed_at": ["closed", "closed at", "close date"],
    "channel": ["via", "source", "submitted via", "medium", "contact type", "origin"],
    "trigger": ["reason", "issue", "type", "cause"],
    "category_raw": ["category", "product", "topic"],
    "severity": ["priority", "urgency", "impact"],
    "text": ["description", "narrative", "body", "comment", "subject", "short description"],
    "replies": ["agent replies", "public replies", "responses", "agent responses", "work notes", "comments public"],
    "resolution": ["company response to consumer", "resolution code", "outcome", "close code"],
    "csat": ["satisfaction", "satisfaction score", "rating"],
    "disputed": ["consumer disputed", "disputed"],
    "sla_met": ["timely response", "sla", "within sla", "made sla"],
    "team": ["group", "queue", "department", "assignment group"],
    "agent": ["assignee", "owner", "handled by", "assigned to"],
    "reopen_count": ["reopens", "reopened", "reopen count"],
    "handling_minutes": ["time spent", "handle time", "minutes"],
}
#: formats tried on a date column's values, most specific first
DATE_FORMATS = ["ISO8601", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y", "%m/%d/%Y",
                "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%m-%d-%Y %H:%M:%S", "%m-%d-%Y %H:%M", "%m-%d-%Y",
                "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d"]
#: whole-cell words exports write for "no value"
NULL_WORDS = ["?", "N/A", "n/a", "NULL", "null", "None", "none", "-", "(empty)", "#N/A"]
EVENT_TIME = ["event time", "updated", "updated at", "sys updated on", "changed at", "timestamp", "event at", "modified"]
STATUS = ["status", "state", "incident state", "ticket status"]


def draft_profile(export, table: str = "complaints") -> str:
    """A profile TOML drafted for ``export`` (a DataFrame of the export's text values, or
    just its headers). Starts from the shipped profile whose headers it shares most, if any;
    otherwise matches headers to canonical names. Every line is a guess to check.

    Examples
    --------
    >>> from analytics.io import draft_profile
    >>> print(draft_profile(["Ticket ID", "Customer", "Created", "Category", "CSAT"]))
    # Drafted by `client-health profile init`: check every line before using it.
    name = "draft"
    <BLANKLINE>
    [complaints]
    files = ["complaints.*"]
    <BLANKLINE>
    [complaints.columns]  # canonical name = header in the export
    complaint_id = "Ticket ID"
    client_id = "Customer"
    opened_at = "Created"
    category_raw = "Category"
    csat = "CSAT"
    <BLANKLINE>
    [complaints.dates]
    format = "ISO8601"  # no dates seen to check
    timezone = "UTC"  # the zone of times written without an offset: check it
    <BLANKLINE>
    """
    frame = export.drop(columns="_row", errors="ignore") if isinstance(export, pd.DataFrame) else pd.DataFrame(columns=list(export))
    headers = list(frame.columns)
    base, renames = _closest_shipped(headers, table)
    lines = ["# Drafted by `client-health profile init`: check every line before using it.", 'name = "draft"']
    if base:
        lines += [f'extends = "{base}"  # its headers match this export best; the lines below change what differs', ""]
        taken = {canonical: header for canonical, header in _shipped_columns(base, table).items() if header in headers} | renames
    else:
        lines.append("")
        taken = _matched(headers, table)
    missing_markers = [word for word in NULL_WORDS if _share_of(frame, word) >= 0.001]
    if missing_markers:
        lines += ["[format]", f"null_values = {_toml_list(missing_markers)}  # cells holding only these mean no value", ""]
    lines += [f"[{table}]"] + ([] if base else [f'files = ["{table}.*"]'])
    event = _event_log(frame, taken, table)
    if "complaint_id" not in taken and table == "complaints" and not base:
        lines.append('id_from = "row"  # no id column found: ids are made from file and row')
    shown = renames if base else taken
    if event:
        shown = {**shown, event["at"]: event["at_header"], event["status"]: event["status_header"]}
    if shown:
        lines += ["", f"[{table}.columns]  # canonical name = header in the export"]
        lines += [f'{canonical} = "{header}"' + ("  # renamed from the shipped profile's header" if base else "")
                  for canonical, header in shown.items()]
    rules = column_rules(table)
    missing = [c for c, r in rules.items() if r.required and c not in taken and not (event and c == "opened_at")]
    if missing and not (missing == ["complaint_id"] and table == "complaints"):
        lines.append(f"# REQUIRED and not found: {', '.join(missing)}")
    rest = [h for h in headers if h not in taken.values() and not (event and h in (event["at_header"], event["status_header"]))]
    if rest:
        lines.append(f"# kept as extra columns: {', '.join(rest)}")
    dated = [taken[c] for c, r in rules.items() if r.kind == "timestamp" and c in taken] + ([event["at_header"]] if event else [])
    format_line = _date_format(frame, dated, missing_markers)
    if format_line:
        lines += ["", f"[{table}.dates]", format_line, 'timezone = "UTC"  # the zone of times written without an offset: check it']
    for column, header in taken.items():
        guesses = _value_map(column, frame[header]) if header in frame and not frame.empty else {}
        if guesses:
            lines += ["", f"[{table}.values.{column}]  # guessed from the values: check each"]
            lines += [f"{_toml_string(value)} = \"{target}\"" for value, target in guesses.items()]
    if event:
        lines += ["", f"[{table}.events]  # one row per status change: folded into one row per ticket",
                  'ticket = "complaint_id"', f'at = "{event["at"]}"', f'status = "{event["status"]}"',
                  f"first_response = {_toml_list(event['first_response'])}", f"resolved = {_toml_list(event['resolved'])}",
                  f"closed = {_toml_list(event['closed'])}", f"# statuses seen: {', '.join(event['statuses'])}"]
    return "\n".join(lines) + "\n"


def _matched(headers: list[str], table: str) -> dict[str, str]:
    keys = {snake_case(h): h for h in headers}
    taken: dict[str, str] = {}
    for canonical in column_rules(table):
        for word in [canonical, *SYNONYMS.get(canonical, [])]:
            match = difflib.get_close_matches(snake_case(word), [k for k in keys if keys[k] not in taken.values()], n=1, cutoff=0.85)
            if match:
                taken[canonical] = keys[match[0]]
                break
    return taken


def _shipped_columns(name: str, table: str) -> dict[str, str]:
    spec = load_profile(name).table(table)
    return {**spec.optional_columns, **spec.columns}


def _closest_shipped(headers: list[str], table: str) -> tuple[str | None, dict[str, str]]:
    """The shipped profile whose headers the export has (at least half as they are, the rest
    under close names), with the renames that map them onto the export's headers."""
    best, best_share, best_renames = None, 0.5, {}
    for name in available_profiles():
        required = load_profile(name).table(table).columns
        if not required:
            continue
        present = [h for h in required.values() if h in headers]
        renames = {}
        for canonical, header in required.items():
            if header not in headers:
                near = difflib.get_close_matches(snake_case(header), [snake_case(h) for h in headers], n=1, cutoff=0.6)
                if near:
                    renames[canonical] = next(h for h in headers if snake_case(h) == near[0])
        if len(present) + len(renames) < len(required):
            continue  # a header it needs has no counterpart here: its profile would not load this export
        share = (len(present) + 0.5 * len(renames)) / len(required)
        if len(present) and share > best_share:
            best, best_share, best_renames = name, share, renames
    return best, best_renames


def _share_of(frame: pd.DataFrame, word: str) -> float:
    if frame.empty:
        return 0.0
    return float(sum((frame[c].astype("string").str.strip() == word).sum() for c in frame.columns) / frame.size)


def _date_format(frame: pd.DataFrame, columns: list[str], missing: list[str]) -> str | None:
    """The format line for the export's date columns: the first format that reads every
    value of all of them; day/month ambiguity is said, not guessed."""
    values = pd.concat([frame[c] for c in columns if c in frame], ignore_index=True).dropna().astype(str).str.strip() if columns else pd.Series(dtype=str)
    values = values[~values.isin(["", *missing])].head(5000)
    if values.empty:
        return 'format = "ISO8601"  # no dates seen to check'
    fitting = [f for f in DATE_FORMATS if pd.to_datetime(values, format=f, errors="coerce").notna().all()]
    if not fitting:
        return f'format = "mixed"  # no single format reads every value, e.g. {values.iloc[0]!r}: check the dates'
    chosen = fitting[0]
    swapped = re.sub(r"%d(.)%m", r"%m\1%d", chosen) if "%d" in chosen and chosen.index("%d") < chosen.index("%m") else re.sub(r"%m(.)%d", r"%d\1%m", chosen)
    if swapped != chosen and swapped in fitting:
        return (f'format = "{chosen}"  # AMBIGUOUS: every value reads as "{swapped}" too (no day above 12 seen); '
                "check which the export writes")
    return f'format = "{chosen}"  # reads every value seen, e.g. {values.iloc[0]!r}'


def _event_log(frame: pd.DataFrame, taken: dict[str, str], table: str) -> dict | None:
    """An event log: ticket ids that repeat, a status column and an event time."""
    if table != "complaints" or "complaint_id" not in taken or frame.empty:
        return None
    ids = frame[taken["complaint_id"]]
    if ids.duplicated().mean() < 0.2:
        return None
    status = _header_like(frame.columns, STATUS)
    at = _header_like([c for c in frame.columns if c not in taken.values()], EVENT_TIME) or (
        taken.get("opened_at") if "opened_at" in taken else None)
    if status is None or at is None:
        return None
    statuses = [str(s) for s in frame[status].dropna().astype(str).str.strip().str.lower().value_counts().index[:15]]
    return {"at": "event_at", "at_header": at, "status": "status", "status_header": status, "statuses": statuses,
            "first_response": [s for s in statuses if re.search(r"pending|progress|awaiting|assigned|responded", s)],
            "resolved": [s for s in statuses if re.search(r"resolv|solved|fixed", s)],
            "closed": [s for s in statuses if re.search(r"closed|cancel", s)]}


def _header_like(headers, words: list[str]) -> str | None:
    keys = {snake_case(h): h for h in headers}
    for word in words:
        match = difflib.get_close_matches(snake_case(word), list(keys), n=1, cutoff=0.85)
        if match:
            return keys[match[0]]
    return None


#: words that say which taxonomy value an export's value means
VALUE_WORDS = {
    # words first: "1 - Critical" is the most severe (4 here), whatever its leading digit says
    "severity": [(r"critical|urgent|blocker", "4"), (r"high|major", "3"), (r"medium|moderate|normal", "2"),
                 (r"low|minor|trivial", "1"), (r"^\s*([1-4])\b", None)],
    "channel": [(r"phone|voice|call|tel", "phone"), (r"e-?mail|mail", "email"), (r"chat|messag", "chat"),
                (r"twitter|facebook|social|instagram|linkedin", "social_public"), (r"walk|in.person|visit|counter", "in_person"),
                (r"web|portal|self.service|form|online", "web")],
}


def _value_map(column: str, values: pd.Series) -> dict[str, str]:
    """Export values of a taxonomy or severity column mapped by the words in them (or, for
    triggers and resolutions, by the closest canonical name); only when every value maps."""
    distinct = [v for v in values.dropna().astype(str).str.strip().unique() if v][:30]
    rules = column_rules("complaints")
    if not distinct or column not in rules:
        return {}
    allowed = rules[column].allowed
    if allowed and all(v.lower() in allowed for v in distinct):
        return {}  # already canonical
    guesses = {}
    for value in distinct:
        target = None
        for pattern, canonical in VALUE_WORDS.get(column, []):
            found = re.search(pattern, value, re.IGNORECASE)
            if found:
                target = canonical or found.group(1)
                break
        if target is None and allowed and column not in VALUE_WORDS:
            near = difflib.get_close_matches(snake_case(value), [a for a in allowed if a != "other"], n=1, cutoff=0.6)
            target = near[0] if near else None
        if target is None and column in VALUE_WORDS and column != "severity":
            target = "other"
        if target is None:
            return {}
        guesses[value] = target
    return guesses


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(map(_toml_string, values)) + "]"
