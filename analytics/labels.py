"""Plain words for what a report shows: one map for taxonomy values, column names and
booleans, used by every table (:func:`analytics.tables.styled`) and chart.

A manager reads "technical failure", "mid-market" and "repeat rate", never
``technical_failure``, ``mid_market`` or ``repeat_rate``.
"""

from __future__ import annotations

import re

import pandas as pd

from analytics.taxonomy import TAXONOMY_OF_COLUMN, Practice

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
_BOUND = re.compile(r"^(?P<stem>.+)_(?P<side>low|high)$")


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
    "dispute rate, low"; a name already in words is unchanged."""
    name = str(name)
    if name in COLUMN_WORDS:
        return COLUMN_WORDS[name]
    bound = _BOUND.match(name)
    if bound and _SNAKE.match(name):
        return f"{column_label(bound['stem'])}, {bound['side']}"
    if _SNAKE.match(name):
        return VALUE_WORDS.get(name, name.replace("_", " "))
    return name


def plain(frame: pd.DataFrame, columns=None) -> pd.DataFrame:
    """``frame`` with its column names in words and, in its text and boolean ``columns``
    (default: all), taxonomy values and booleans in words."""
    frame = frame.copy()
    for column in frame.columns if columns is None else columns:
        values = frame[column]
        if values.dtype == bool or pd.api.types.is_bool_dtype(values) or values.dtype == object or pd.api.types.is_string_dtype(values):
            frame[column] = values.astype(object).map(value_label, na_action="ignore")
    return frame.rename(columns=column_label)


def group_label(by: str, value) -> str:
    """A chart's name for the group ``value`` of column ``by``: "root cause fixed: yes"
    for a flag, "technical failure" for a taxonomy value."""
    shown = value_label(value.item() if hasattr(value, "item") else value)
    if shown in ("yes", "no") or str(value).lower() in ("true", "false"):
        return f"{column_label(by)}: {value_label(str(value))}"
    return str(shown)
