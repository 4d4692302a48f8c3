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
    fixed = _fixed(feature, value, missing)
    if fixed is not None:
        return fixed
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


def _fixed(feature: str, value, missing: bool) -> str | None:
    """Features without a window."""
    if feature == "open_complaints":
        return f"{_count(value, 'complaint')} still open"
    if feature == "complaints_to_date":
        return f"{_count(value, 'complaint')} since the relationship began"
    if feature == "complaint_rate_per_year":
        return f"{value:.1f} complaints a year over the relationship"
    if feature == "severity_load":
        return f"severity-weighted complaint load {value:.1f} (weights halve every 90 days)"
    if feature == "trend_90":
        return f"{int(value):+d} complaints against the 90 days before"
    if missing:
        return None
    if feature == "days_since_last_complaint":
        return f"last complaint {value:,.0f} days ago"
    if feature == "csat_latest":
        return f"latest CSAT {value:.0f}"
    if feature == "tenure_days":
        return f"client for {value / 365.25:.1f} years"
    if feature == "days_to_renewal":
        return f"renewal in {value:,.0f} days"
    if feature == "in_notice_window":
        return "in the notice period before renewal" if value else "not in the notice period before renewal"
    if feature == "days_to_notice_window":
        return f"notice period before renewal opens in {value:,.0f} days" if value else "in the notice period before renewal"
    if feature == "notice_days":
        return f"{value:,.0f}-day notice period"
    if feature == "annual_value":
        return f"annual value {value:,.0f}"
    return None


def _plain(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)
