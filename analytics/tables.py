"""Tables formatted for reading in a notebook or report: percentages, money, dates, and
text that is redacted and escaped so data can never inject markup."""

from __future__ import annotations

import csv

import pandas as pd
from pandas.io.formats.style import Styler

from analytics.labels import column_label, value_label
from analytics.redaction import PERSONAL_DETAILS, redact

__all__ = ["amount", "spreadsheet_safe", "styled", "write_csv"]


def styled(
    frame: pd.DataFrame, *, percent=(), money=(), points=(), dates=(), counts=(), decimals=(), signed=(),
    currency: str = "$", caption: str | None = None, interactive: bool = False,
) -> Styler:
    """``frame`` as a Styler: ``percent`` columns as 12.3%, ``money`` as $12,345,
    ``points`` as signed percentage points (+4.1 pts), ``dates`` as 2025-06-30, ``counts``
    as 1,234, ``decimals`` as 1.23, ``signed`` as +12. Every other column is text: e-mail addresses and phone
    numbers redacted, and HTML-escaped so that data shows as text and never runs. Column
    names, taxonomy values and booleans are shown in words (:mod:`analytics.labels`).
    ``interactive`` tables can be sorted, filtered and searched in a report.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.tables import styled
    >>> frame = pd.DataFrame({"trigger": ["billing"], "repeat_rate": [0.123], "cost": [12345.0], "contact": ["ann@example.com"]})
    >>> html = styled(frame, percent=["repeat_rate"], money=["cost"]).to_html()
    >>> [text in html for text in ("repeat rate", "12.3%", "$12,345", "ann@example.com")]
    [True, True, True, False]
    """
    words = {c: column_label(c) for c in frame.columns}
    frame = frame.reset_index(drop=True).rename(columns=words)
    percent, money, points, dates, counts, decimals, signed = ([words.get(c, c) for c in kind] for kind in (percent, money, points, dates, counts, decimals, signed))
    formatted = set(percent) | set(money) | set(points) | set(dates) | set(counts) | set(decimals) | set(signed)
    text = [c for c in frame.columns if c not in formatted]
    frame = frame.assign(**{c: frame[c].astype(object).map(lambda v: redact(value_label(v), kinds=PERSONAL_DETAILS), na_action="ignore")
                            for c in text if frame[c].dtype in (object, bool) or pd.api.types.is_string_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])})
    formats = {c: "{:.1%}" for c in percent} | {c: (lambda v: amount(v, currency)) for c in money} | {c: "{:+.1f} pts" for c in points}
    formats |= {c: "{:,.0f}" for c in counts} | {c: "{:,.2f}" for c in decimals} | {c: _date for c in dates} | {c: _signed for c in signed}
    style = frame.style.hide(axis="index").format(formats, na_rep="–").format(escape="html", subset=text, na_rep="–").format_index(escape="html", axis=1)
    style = style.set_table_styles([
        {"selector": "th", "props": "text-align: left; padding: 4px 8px; border-bottom: 1px solid #999;"},
        {"selector": "td", "props": "padding: 3px 8px; border-bottom: 1px solid #eee;"},
    ])
    style = style.set_properties(subset=[c for c in frame.columns if c in formatted], **{"text-align": "right"})
    style = style.set_properties(subset=text, **{"text-align": "left"})
    if interactive:
        style = style.set_table_attributes(f'class="{INTERACTIVE}"')
        # sentences get room; numbers and dates stay on one line; other text wraps at spaces when the page is narrow
        strings = {c: frame[c].astype("string") for c in text}
        wide = [c for c in text if (strings[c].str.len() > WIDE_TEXT).any()]  # an empty column is narrow
        dated = [c for c in text if strings[c].notna().any() and strings[c].dropna().str.fullmatch(ISO_DATE).all()]
        classes = pd.DataFrame("", index=frame.index, columns=frame.columns)
        classes[wide] = "wide"
        classes[[c for c in frame.columns if c in formatted or c in dated]] = "number"
        style = style.set_td_classes(classes)
    return style.set_caption(caption) if caption else style


#: the class of tables a report makes sortable, filterable and searchable
INTERACTIVE = "interactive-table"
WIDE_TEXT = 40  # characters from which a text column gets the room of a sentence
ISO_DATE = r"\d{4}-\d{2}-\d{2}"  # a date already written out, which must not break at its hyphens


def _signed(value) -> str:
    return "–" if pd.isna(value) else f"{round(value) + 0:+,.0f}"


def amount(value, currency: str = "$") -> str:
    """Money for reading: -$1,017, $25,105,609; a missing amount is a dash.

    Examples
    --------
    >>> from analytics.tables import amount
    >>> amount(-1016.6), amount(25105609, currency="€"), amount(None)
    ('-$1,017', '€25,105,609', '–')
    """
    return "–" if pd.isna(value) else f"{'-' if value < 0 else ''}{currency}{abs(value):,.0f}"


def count(value, signed: bool = False) -> str:
    """A count (or a change of one, ``signed``) for reading: 1,204, +0.5; a missing one is a dash.

    Examples
    --------
    >>> from analytics.tables import count
    >>> count(1204.0), count(0.46, signed=True), count(float("nan"))
    ('1,204', '+0.5', '–')
    """
    return "–" if pd.isna(value) else f"{value:+,.1f}" if signed else f"{value:,.0f}"


def _date(value) -> str:
    return "–" if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"


#: a cell starting with one of these is read as a formula by spreadsheet programs
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula (``=1+1``,
    ``@SUM(...)``, ``-2+3``) prefixed with ``'``, which spreadsheets show as text; plain
    numbers such as ``-12.5`` are left as they are.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.tables import spreadsheet_safe
    >>> spreadsheet_safe(pd.DataFrame({"note": ["=1+1", "-12.5", "@SUM(A1)", "fine"]}))["note"].tolist()
    ["'=1+1", '-12.5', "'@SUM(A1)", 'fine']
    """
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        text = values.astype("string")
        risky = text.str.startswith(FORMULA_STARTS).fillna(False) & ~text.str.fullmatch(PLAIN_NUMBER).fillna(False)
        if risky.any():
            safe[column] = values.astype(object).where(~risky, "'" + text.astype(object))
    return safe


def write_csv(frame: pd.DataFrame, path) -> None:
    """Write ``frame`` as CSV, safe to open in a spreadsheet (see :func:`spreadsheet_safe`);
    every text is quoted, so that a carriage return inside a value never splits a row.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> from analytics.tables import write_csv
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clients.csv"
    >>> write_csv(pd.DataFrame({"client": ["=HYPERLINK(1)"], "risk": [0.25]}), path)
    >>> print(path.read_text(), end="")
    "client","risk"
    "'=HYPERLINK(1)",0.25
    """
    spreadsheet_safe(frame).to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)
