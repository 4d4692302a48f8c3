"""Data quality at a glance: what was loaded, what was set aside, what is recorded."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown

from analytics.io import History
from analytics.tables import styled

__all__ = ["completeness", "completeness_table", "quarantine_table", "volume_plot"]


def completeness(history: History) -> pd.DataFrame:
    """Per table and column: the share of rows with a value, and how many rows that is.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.quality import completeness
    >>> share = completeness(load_sample())
    >>> share.columns.tolist()
    ['table', 'column', 'rows', 'recorded', 'share recorded']
    >>> share.loc[(share["table"] == "complaints") & (share["column"] == "csat"), "share recorded"].round(2).item()
    0.44
    """
    rows = []
    for table in ("clients", "complaints", "interactions"):
        frame = getattr(history, table)
        for column in frame.columns:
            recorded = int(frame[column].notna().sum())
            rows.append({"table": table, "column": column, "rows": len(frame), "recorded": recorded,
                         "share recorded": recorded / len(frame) if len(frame) else float("nan")})
    return pd.DataFrame(rows)


def completeness_table(history: History):
    """Columns recorded on less than every row, formatted; fully recorded ones are left out.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.quality import completeness_table
    >>> html = completeness_table(load_sample()).to_html()
    >>> "CSAT" in html or "csat" in html, "complaint_id" in html
    (True, False)
    """
    table = completeness(history)
    gaps = table[table["share recorded"] < 1].sort_values(["table", "share recorded"])
    if gaps.empty:
        return Markdown("Every column is recorded on every row.")
    return styled(gaps, counts=["rows", "recorded"], percent=["share recorded"])


def quarantine_table(history: History, top: int = 20):
    """The first ``top`` quarantined problems: source file, row, column, value and reason
    (the whole raw record is left out: it may hold complaint text).

    Examples
    --------
    >>> import tempfile
    >>> from analytics import load_history
    >>> from analytics.datasets import load_sample
    >>> from analytics.quality import quarantine_table
    >>> from analytics.sample import write_export
    >>> folder = tempfile.mkdtemp()
    >>> _ = write_export(load_sample(), folder, defects=0.01)
    >>> html = quarantine_table(load_history(folder), top=5).to_html()
    >>> "complaints.csv" in html, html.count("<tr>") <= 6
    (True, True)
    """
    if history.quarantine.empty:
        return Markdown("No problems found: every row read was loaded, every value kept.")
    shown = history.quarantine.head(top).drop(columns=["record"], errors="ignore")
    caption = (f"the first {len(shown):,} of {len(history.quarantine):,} problems; client-health validate writes them all to a CSV file"
               if len(shown) < len(history.quarantine) else None)
    return styled(shown.assign(source=shown["source"].map(lambda s: str(s).rsplit("/", 1)[-1])), caption=caption)


#: pandas' period codes in words, for a chart's titles
PERIOD_WORDS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year", "A": "year"}


def volume_plot(history: History, freq: str = "M") -> go.Figure:
    """Complaints opened per month (or ``freq``): gaps and jumps show missing or doubled exports.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.quality import volume_plot
    >>> figure = volume_plot(load_sample(), freq="Q")
    >>> figure.layout.title.text, len(figure.data[0].x)
    ('Complaints opened per quarter', 12)
    """
    opened = pd.to_datetime(history.complaints["opened_at"].dropna(), utc=True)
    counts = opened.dt.tz_convert(None).dt.to_period(freq).value_counts().sort_index()
    period = PERIOD_WORDS.get(counts.index.freqstr.split("-")[0].rstrip("E"), "period")
    figure = go.Figure(go.Bar(x=counts.index.to_timestamp(), y=counts.to_numpy(), customdata=counts.index.astype(str),
                              hovertemplate="%{customdata}: %{y:,} complaints<extra></extra>"))
    figure.update_layout(title=f"Complaints opened per {period}", xaxis_title=f"{period} opened", yaxis_title="complaints")
    return figure
