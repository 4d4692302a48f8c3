"""Data quality at a glance: what was loaded, what was set aside, what is recorded."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from IPython.display import Markdown

from analytics.io import History
from analytics.tables import styled

__all__ = ["completeness", "completeness_table", "quarantine_table", "volume_plot"]


def completeness(history: History) -> pd.DataFrame:
    """Per table and column: the share of rows with a value, and how many rows that is."""
    rows = []
    for table in ("clients", "complaints", "interactions"):
        frame = getattr(history, table)
        for column in frame.columns:
            recorded = int(frame[column].notna().sum())
            rows.append({"table": table, "column": column, "rows": len(frame), "recorded": recorded,
                         "share recorded": recorded / len(frame) if len(frame) else float("nan")})
    return pd.DataFrame(rows)


def completeness_table(history: History):
    """Columns recorded on less than every row, formatted; fully recorded ones are left out."""
    table = completeness(history)
    gaps = table[table["share recorded"] < 1].sort_values(["table", "share recorded"])
    if gaps.empty:
        return Markdown("Every column is recorded on every row.")
    return styled(gaps, counts=["rows", "recorded"], percent=["share recorded"])


def quarantine_table(history: History, top: int = 20):
    """The first ``top`` quarantined problems: source file, row, column, value and reason
    (the whole raw record is left out: it may hold complaint text)."""
    if history.quarantine.empty:
        return Markdown("No problems found: every row read was loaded, every value kept.")
    shown = history.quarantine.head(top).drop(columns=["record"], errors="ignore")
    caption = (f"the first {len(shown):,} of {len(history.quarantine):,} problems; client-health validate writes them all to a CSV file"
               if len(shown) < len(history.quarantine) else None)
    return styled(shown.assign(source=shown["source"].map(lambda s: str(s).rsplit("/", 1)[-1])), caption=caption)


def volume_plot(history: History, freq: str = "M") -> go.Figure:
    """Complaints opened per month (or ``freq``): gaps and jumps show missing or doubled exports."""
    opened = pd.to_datetime(history.complaints["opened_at"].dropna(), utc=True)
    counts = opened.dt.tz_convert(None).dt.to_period(freq).value_counts().sort_index()
    figure = go.Figure(go.Bar(x=counts.index.to_timestamp(), y=counts.to_numpy(), hovertemplate="%{x|%Y-%m}: %{y:,} complaints<extra></extra>"))
    figure.update_layout(title="Complaints opened per month", xaxis_title="month opened", yaxis_title="complaints")
    return figure
