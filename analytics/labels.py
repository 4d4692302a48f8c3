"""Plain words for what a report shows: one map for taxonomy values, column names and
booleans, used by every table (:func:`analytics.tables.styled`) and chart, and the
snapshot features in words for the reasons behind a score (:func:`describe`,
:func:`feature_label`).

A manager reads "technical failure", "mid-market" and "repeat rate", never
``technical_failure``, ``mid_market`` or ``repeat_rate``.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from analytics.schemas import PRACTICES
from analytics.taxonomy import TAXONOMY_OF_COLUMN, Practice

__all__ = ["column_label", "describe", "feature_label", "group_label", "plain", "value_label"]

#: values whose words are not simply the name with spaces
VALUE_WORDS = {
    "mid_market": "mid-market",
    "smb": "small business",
    "social_public": "public social media",
    "in_person": "in person",
    "no_action": "no action",
    "ended_by_us": "ended by us",
    "at_risk": "at risk",
    "consider_exit": "consider exit",
    "listened_validated": "listened and validated",
    "root_cause_fixed": "root cause fixed",
    "set_expectations": "set expectations",
    "moved_private": "moved to a private channel",
    "csat": "CSAT",
}
#: column names whose words are not simply the name with spaces
COLUMN_WORDS = {
    "client_id": "client",
    "complaint_id": "complaint",
    "interaction_id": "contact",
    "category_raw": "category as exported",
    "trigger_raw": "trigger as exported",
    "rows_read": "rows read",
    "rows_loaded": "rows loaded",
    "rows_quarantined": "rows set aside",
    "cells_quarantined": "values emptied",
    "exact_duplicates": "exact duplicates",
    "csat_satisfied": "CSAT 4 or 5",
    "cumulative_share": "cumulative share",
    "churned_value": "annual value of clients who left",
    "repeat_rate": "repeat rate",
    "repeat_known": "complaints with a complete 90-day window",
    "dispute_rate": "dispute rate",
    "effect_pts": "effect (pts)",
    "naive_pts": "naive difference (pts)",
    "low_pts": "low (pts)",
    "high_pts": "high (pts)",
    "rate_with": "rate with the practice",
    "rate_without": "rate without it",
    "mean_probability": "mean probability",
    "inferred_trigger": "inferred trigger",
    "annual_value": "annual value",
    "value_at_risk": "value at risk",
}
#: every taxonomy value and practice name: the values a table cell may hold raw
TAXONOMY_VALUES = {member.value for enum in TAXONOMY_OF_COLUMN.values() for member in enum} | {p.value for p in Practice}
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
#: interval bounds named after their estimate: ``<name>_low``, ``<name>_high``
_BOUND = re.compile(r"^(?:(?P<stem>.+)_)?(?P<side>low|high)(?:_(?P<level>\d+))?$")


def value_label(value):
    """A cell's value in words: taxonomy values and snake_case names spelt out, booleans as
    yes and no; anything else (numbers, names, free text) unchanged.

    >>> value_label("technical_failure"), value_label("mid_market"), value_label(True)
    ('technical failure', 'mid-market', 'yes')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, str):
        return value
    if value in VALUE_WORDS:
        return VALUE_WORDS[value]
    if value in TAXONOMY_VALUES or value.lower() in ("true", "false"):
        return {"true": "yes", "false": "no"}.get(value.lower(), value.replace("_", " "))
    return value


def column_label(name) -> str:
    """A column's name in words: ``repeat_rate`` → "repeat rate", ``dispute_rate_low`` →
    "dispute rate, low", ``rate_high_90`` → "rate, high (90% interval)"; a name already in
    words is unchanged.

    Examples
    --------
    >>> from analytics.labels import column_label
    >>> column_label("repeat_rate"), column_label("dispute_rate_low")
    ('repeat rate', 'dispute rate, low')
    >>> column_label("rate_high_90"), column_label("low_95")
    ('rate, high (90% interval)', 'low (95% interval)')
    """
    name = str(name)
    if name in COLUMN_WORDS:
        return COLUMN_WORDS[name]
    bound = _BOUND.match(name)
    if bound and (_SNAKE.match(name) or name in ("low", "high")):
        level = f" ({bound['level']}% interval)" if bound["level"] else ""
        return f"{column_label(bound['stem'])}, {bound['side']}{level}" if bound["stem"] else f"{bound['side']}{level}"
    if _SNAKE.match(name):
        return VALUE_WORDS.get(name, name.replace("_", " "))
    return name


def plain(frame: pd.DataFrame, columns=None) -> pd.DataFrame:
    """``frame`` with its column names in words and, in its text and boolean ``columns``
    (default: all), taxonomy values and booleans in words.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.labels import plain
    >>> plain(pd.DataFrame({"trigger": ["technical_failure"], "root_cause_fixed": [True]})).to_dict("records")
    [{'trigger': 'technical failure', 'root cause fixed': 'yes'}]
    """
    frame = frame.copy()
    for column in frame.columns if columns is None else columns:
        values = frame[column]
        if values.dtype == bool or pd.api.types.is_bool_dtype(values) or values.dtype == object or pd.api.types.is_string_dtype(values):
            frame[column] = values.astype(object).map(value_label, na_action="ignore")
    return frame.rename(columns=column_label)


def group_label(by: str, value) -> str:
    """A chart's name for the group ``value`` of column ``by``: "root cause fixed: yes"
    for a flag, "technical failure" for a taxonomy value.

    Examples
    --------
    >>> from analytics.labels import group_label
    >>> group_label("root_cause_fixed", True), group_label("trigger", "unmet_expectations")
    ('root cause fixed: yes', 'unmet expectations')
    """
    shown = value_label(value.item() if hasattr(value, "item") else value)
    if shown in ("yes", "no") or str(value).lower() in ("true", "false"):
        return f"{column_label(by)}: {value_label(str(value))}"
    return str(shown)


# ---------------------------------------------------------------- features in words

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


def feature_label(feature: str) -> str:
    """A feature's name in words, without a value.

    >>> feature_label("complaints_90_technical_failure")
    'technical failure complaints (last 90 days)'
    >>> feature_label("followed_up_share_365")
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
