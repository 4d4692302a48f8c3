"""Data quality at a glance: what was loaded, what was set aside, what is recorded."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from ibis import _
from IPython.display import Markdown

from analytics._engine import filled
from analytics.features import StoredHistory, Tables, connection, engine_of, period_index, reading
from analytics.io import History
from analytics.tables import styled

__all__ = ["completeness", "completeness_table", "quarantine_table", "volume_plot"]


def completeness(history: History | StoredHistory, engine=None) -> pd.DataFrame:
    """Per table and column: the share of rows with a value, and how many rows that is;
    counted where the history is (``engine``: the history's, else DuckDB; or Spark) when
    it is a :class:`~analytics.features.StoredHistory`.

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
    for table, (length, recorded) in _recorded(history, engine).items():
        for column, count in recorded.items():
            rows.append({"table": table, "column": column, "rows": length, "recorded": int(count),
                         "share recorded": int(count) / length if length else float("nan")})
    return pd.DataFrame(rows)


def _recorded(history: History | StoredHistory, engine) -> dict[str, tuple[int, pd.Series]]:
    """Per table: its rows, and how many of them hold a value, per column."""
    found = {"clients": (len(history.clients), history.clients.notna().sum())}
    if isinstance(history, History):
        return found | {name: (len(getattr(history, name)), getattr(history, name).notna().sum()) for name in ("complaints", "interactions")}
    with connection(engine_of(history, engine)) as con:
        for name, table in (("complaints", history.complaints_table(con)), ("interactions", history.interactions_table(con))):
            found[name] = filled(con, table)
    return found


def completeness_table(history: History | StoredHistory, engine=None):
    """Columns recorded on less than every row, formatted; fully recorded ones are left out.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.quality import completeness_table
    >>> html = completeness_table(load_sample()).to_html()
    >>> "CSAT" in html or "csat" in html, "complaint_id" in html
    (True, False)
    """
    table = completeness(history, engine)
    gaps = table[table["share recorded"] < 1].sort_values(["table", "share recorded"])
    if gaps.empty:
        return Markdown("Every column is recorded on every row.")
    return styled(gaps, counts=["rows", "recorded"], percent=["share recorded"])


def quarantine_table(history: History | StoredHistory, top: int = 20):
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
    quarantine = history.quarantine
    if quarantine.empty:
        return Markdown("No problems found: every row read was loaded, every value kept.")
    shown = quarantine.head(top).drop(columns=["record"], errors="ignore")
    caption = (f"the first {len(shown):,} of {len(quarantine):,} problems; client-health validate writes them all to a CSV file"
               if len(shown) < len(quarantine) else None)
    return styled(shown.assign(source=shown["source"].map(lambda s: str(s).rsplit("/", 1)[-1])), caption=caption)


#: pandas' period codes in words, for a chart's titles
PERIOD_WORDS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year", "A": "year"}


def volume_plot(history: History | StoredHistory, freq: str = "M", engine=None) -> go.Figure:
    """Complaints opened per month (or ``freq``): gaps and jumps show missing or doubled
    exports. Counted in the engine (``engine``: the history's, else DuckDB; or Spark).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.quality import volume_plot
    >>> figure = volume_plot(load_sample(), freq="Q")
    >>> figure.layout.title.text, len(figure.data[0].x)
    ('Complaints opened per quarter', 12)
    """
    with reading(history, engine) as (con, source):
        opened = Tables(source, con, ["opened_at"]).complaints.opened_at.cast("timestamp('UTC')")
        periods, index = period_index(con, opened, freq)
        found = con.execute(opened.as_table().filter(opened.notnull()).select(k=index).group_by("k").aggregate(n=_.count()))
    found = found.sort_values("k")
    shown = pd.PeriodIndex([periods[k] for k in found["k"]], freq=freq) if periods else pd.PeriodIndex([], freq=freq)
    period = PERIOD_WORDS.get(shown.freqstr.split("-")[0].rstrip("E"), "period")
    figure = go.Figure(go.Bar(x=shown.to_timestamp(), y=found["n"].to_numpy(), customdata=shown.astype(str),
                              hovertemplate="%{customdata}: %{y:,} complaints<extra></extra>"))
    figure.update_layout(title=f"Complaints opened per {period}", xaxis_title=f"{period} opened", yaxis_title="complaints")
    return figure
