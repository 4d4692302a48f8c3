"""Snapshot features in plain words, for the reasons behind a score."""

from __future__ import annotations

import math
import re

from analytics.schemas import PRACTICES

PRACTICE_WORDS = {
    "listened_validated": "listened and validated",
    "apologized": "apologised",
    "took_ownership": "took ownership",
    "offered_options": "offered options",
    "set_expectations": "set realistic expectations",
    "root_cause_fixed": "fixed the root cause",
    "followed_up": "followed up",
    "moved_private": "moved a public complaint private",
}
RATES = {
    "reopen_rate": "reopened",
    "escalation_rate": "escalated",
    "sla_breach_rate": "past their SLA",
    "dispute_rate": "disputed",
}
_WINDOWED = re.compile(r"^(?P<stem>.+?)_(?P<days>30|90|365)(?:_(?P<rest>.+))?$")


def _words(name: str) -> str:
    return name.replace("_", " ")


def _count(value: float, one: str, many: str | None = None) -> str:
    n = int(round(value))
    return f"{n} {one if n == 1 else (many or one + 's')}"


def describe(feature: str, value) -> str:
    """One plain sentence fragment for a feature's value.

    >>> describe("complaints_90_technical_failure", 3)
    '3 technical failure complaints in the last 90 days'
    >>> describe("dispute_rate_365", 0.4)
    '40% of complaints disputed in the last 365 days'
    >>> describe("in_notice_window", True)
    'in the notice period before renewal'
    """
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if feature in FIXED and not missing:
        return FIXED[feature](value)
    match = _WINDOWED.match(feature)
    if match is None:
        return f"{_words(feature)}: {'not recorded' if missing else _plain(value)}"
    stem, days, rest = match["stem"], match["days"], match["rest"]
    window = f"in the last {days} days"
    if stem == "complaints":
        if rest is None:
            return f"{_count(value, 'complaint')} {window}"
        if rest.startswith("severity_"):
            return f"{_count(value, f'severity-{rest[-1]} complaint')} {window}"
        return f"{_count(value, f'{_words(rest)} complaint')} {window}"
    if missing:  # a rate, mean or time with nothing to average
        return f"no first response {window}" if stem.startswith("first_response") else f"no complaint resolved {window}"
    if stem == "unresolved":
        return f"{_count(value, 'complaint')} closed unresolved {window}"
    if stem == "repeats":
        return f"{_count(value, 'complaint')} repeating a trigger {window}"
    if stem in RATES:
        return f"{value:.0%} of complaints {RATES[stem]} {window}"
    if stem.endswith("_share") and stem[: -len("_share")] in PRACTICES:
        return f"{PRACTICE_WORDS[stem[: -len('_share')]]} on {value:.0%} of complaints {window}"
    if stem.startswith(("first_response_hours", "resolution_hours")):
        what = "first response" if stem.startswith("first") else "resolution"
        which = "median" if stem.endswith("median") else "90th-percentile"
        return f"{which} time to {what} {value:,.0f} h {window}"
    if stem == "csat_mean":
        return f"average CSAT {value:.1f} {window}"
    if stem in ("angry_contacts", "abusive_contacts"):
        return f"{_count(value, stem.split('_')[0] + ' contact')} {window}"
    if stem == "handling_minutes":
        return f"{value:,.0f} handling minutes {window}"
    if stem == "credits":
        return f"{value:,.0f} in credits {window}"
    return f"{_words(stem)} {_plain(value)} {window}"


#: features without a window, for a recorded value
FIXED = {
    "open_complaints": lambda v: f"{_count(v, 'complaint')} still open",
    "complaints_to_date": lambda v: f"{_count(v, 'complaint')} since the relationship began",
    "complaint_rate_per_year": lambda v: f"{v:.1f} complaints a year over the relationship",
    "complaint_rate_vs_segment": lambda v: f"{v:.1f} times its segment's average complaint rate over the last year",
    "severity_load": lambda v: f"severity-weighted recent complaints {v:.1f} (half-life 90 days)",
    "trend_90": lambda v: f"{int(v):+d} complaints against the 90 days before",
    "days_since_last_complaint": lambda v: f"last complaint {v:,.0f} days ago",
    "csat_latest": lambda v: f"latest CSAT {v:.0f}",
    "tenure_days": lambda v: f"client for {v / 365.25:.1f} years",
    "days_to_renewal": lambda v: f"renewal in {v:,.0f} days",
    "in_notice_window": lambda v: "in the notice period before renewal" if v else "not in the notice period before renewal",
    "days_to_notice_window": lambda v: f"notice period before renewal opens in {v:,.0f} days" if v else "in the notice period before renewal",
    "notice_days": lambda v: f"{v:,.0f}-day notice period",
    "annual_value": lambda v: f"annual value {v:,.0f}",
}


def _plain(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


#: features without a window, by name
NAMES = {
    "open_complaints": "complaints still open",
    "complaints_to_date": "complaints since the relationship began",
    "complaint_rate_per_year": "complaints per year of the relationship",
    "complaint_rate_vs_segment": "last year's complaint rate against the segment's average",
    "severity_load": "severity-weighted complaint load",
    "trend_90": "complaints against the 90 days before",
    "days_since_last_complaint": "days since the last complaint",
    "csat_latest": "latest CSAT",
    "tenure_days": "tenure",
    "days_to_renewal": "days to renewal",
    "in_notice_window": "in the notice period before renewal",
    "days_to_notice_window": "days until the notice period opens",
    "notice_days": "notice period",
    "annual_value": "annual value",
}


def label(feature: str) -> str:
    """A feature's name in words, without a value.

    >>> label("complaints_90_technical_failure")
    'technical failure complaints (last 90 days)'
    >>> label("followed_up_share_365")
    'share of complaints followed up (last 365 days)'
    """
    if feature in NAMES:
        return NAMES[feature]
    match = _WINDOWED.match(feature)
    if match is None:
        return _words(feature)
    stem, rest, window = match["stem"], match["rest"], f"(last {match['days']} days)"
    if stem == "complaints":
        what = "complaints" if rest is None else f"severity-{rest[-1]} complaints" if rest.startswith("severity_") else f"{_words(rest)} complaints"
    elif stem == "repeats":
        what = "complaints repeating a trigger"
    elif stem == "unresolved":
        what = "complaints closed unresolved"
    elif stem in RATES:
        what = f"share of complaints {RATES[stem]}"
    elif stem.endswith("_share") and stem[: -len("_share")] in PRACTICES:
        what = f"share of complaints {PRACTICE_WORDS[stem[: -len('_share')]]}"
    elif stem.startswith(("first_response_hours", "resolution_hours")):
        which = "median" if stem.endswith("median") else "90th-percentile"
        what = f"{which} time to {'first response' if stem.startswith('first') else 'resolution'}"
    elif stem == "csat_mean":
        what = "average CSAT"
    else:
        what = _words(stem)
    return f"{what} {window}"
