"""What keeps coming back and what it costs: Pareto tables of complaint groups, their
trend, and rates with intervals (disputes on exports such as the CFPB's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis import _

from analytics._charts import as_text
from analytics._stats import wilson
from analytics.features import Groups, StoredHistory, Tables, period_index, reading
from analytics.io import History
from analytics.labels import column_label, value_label
from analytics.results import Result, with_interval_level

MEASURES = {"complaints": "complaints", "cost": "handling cost", "churned_value": "churned annual value"}


@dataclass(repr=False)
class Pareto(Result):
    """``table``: one row per group, ranked by ``measure``, with its share and cumulative
    share; ``notes`` say which columns the history lacked. ``summary`` is ``table``.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import pareto
    >>> by_trigger = pareto(load_sample(), alpha=0.1)
    >>> by_trigger.summary.columns.tolist()
    ['trigger', 'complaints', 'cost', 'repeat_known', 'repeats', 'repeat_rate', 'repeat_rate_low_90', 'repeat_rate_high_90', 'churned_value', 'share', 'cumulative_share']
    >>> by_trigger.vital_few["trigger"].tolist()[:3]
    ['product_quality', 'unmet_expectations', 'technical_failure']
    """

    title = "Pareto of complaints"

    table: pd.DataFrame
    by: str
    measure: str
    notes: list[str] = field(default_factory=list)
    alpha: float = 0.05

    def _table(self) -> pd.DataFrame:
        return self.table

    @property
    def computed_on(self) -> str:
        return f"{int(self.table['complaints'].sum()):,} complaints in {len(self.table):,} groups of {column_label(self.by)}, ranked by {MEASURES[self.measure]}"

    @property
    def vital_few(self) -> pd.DataFrame:
        """The groups that make up the first 80% of the measure."""
        before = self.table["cumulative_share"] - self.table["share"]
        return self.table.loc[before < 0.8]

    def plot(self) -> go.Figure:
        t = self.table
        groups = as_text(t[self.by].map(value_label))
        figure = go.Figure([
            go.Bar(x=groups, y=t[self.measure], name=MEASURES[self.measure], hovertemplate="%{x}: %{y:,.0f}<extra></extra>"),
            go.Scatter(x=groups, y=t["cumulative_share"], name="cumulative share", yaxis="y2", mode="lines+markers",
                       hovertemplate="%{x}: %{y:.0%} cumulative<extra></extra>"),
        ])
        figure.add_hline(y=0.8, line_dash="dot", yref="y2", annotation_text="80%")
        figure.update_layout(title=f"{MEASURES[self.measure].capitalize()} by {column_label(self.by)}",
                             yaxis={"title": MEASURES[self.measure]},
                             yaxis2={"title": "cumulative share", "overlaying": "y", "side": "right", "tickformat": ".0%", "range": [0, 1.05],
                                     "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1.0]},
                             legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1})
        return figure


def pareto(history: History | str | Path, by: str = "trigger", measure: str = "complaints", hourly_cost: float = 60.0,
           churn_window: str = "180D", alpha: float = 0.05, engine=None) -> Pareto:
    """Complaint groups (a complaint column: ``trigger``, ``category_raw``, ``team``,
    ``channel``, ``sub_product`` ...) ranked by ``measure``, with every measure beside it:

    - ``complaints``: how many;
    - ``cost``: handling minutes x ``hourly_cost`` / 60 plus credits;
    - ``repeat_rate`` (with a Wilson interval at ``1 - alpha``): share of resolved complaints whose
      client raised the same trigger again within 90 days (complete windows only);
    - ``churned_value``: annual value of the clients who churned within ``churn_window``
      after a complaint of the group (each client once per group).

    The groups are summed in the engine (``engine``: the history's, else DuckDB; or Spark), which
    reads a saved history's folder (:meth:`History.save`) itself: then only the groups'
    totals come back, however many complaints there are.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> by_cost = pareto(load_sample(), by="channel", measure="cost")
    >>> by_cost.computed_on
    '13,119 complaints in 6 groups of channel, ranked by handling cost'
    >>> by_cost.summary[["channel", "complaints"]].head(3).to_dict("list")
    {'channel': ['email', 'phone', 'chat'], 'complaints': [4398, 3205, 2327]}
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    with reading(history, engine) as (con, source):
        table, lacking = Groups(source, con, by).totals(hourly_cost, pd.Timedelta(churn_window))
    if "repeats" in table:
        rated = _with_interval(table.pop("repeats"), table.pop("repeat_known"), "repeat_rate", alpha)
        table = table.join(rated.rename(columns={"n": "repeat_known", "k": "repeats"}))
    if "churned_value" in table:
        table["churned_value"] = table.pop("churned_value").fillna(0.0)
    if measure not in table:
        raise ValueError(f"cannot rank by {measure}: {lacking[measure]}")
    table = table.sort_values(measure, ascending=False).reset_index()
    total = table[measure].sum()
    table["share"] = table[measure] / total if total else np.nan
    table["cumulative_share"] = table["share"].cumsum()
    return Pareto(table, by, measure, list(lacking.values()), alpha)


def trend(history: History | str | Path, by: str = "trigger", period: str = "Q", top: int = 8, engine=None) -> pd.DataFrame:
    """Complaints per period (pandas' "M", "Q", "Y") for the ``top`` groups by volume (the
    rest as "other groups"), counted in the engine (``engine``: the history's, else DuckDB; or
    Spark), which reads a saved history's folder itself.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import trend
    >>> years = trend(load_sample(), by="channel", period="Y", top=2)
    >>> years.index.astype(str).tolist(), years.columns.tolist()
    (['2023', '2024', '2025'], ['email', 'other groups', 'phone'])
    >>> years.loc["2025"].to_dict()
    {'email': 1286, 'other groups': 1665, 'phone': 1000}
    """
    with reading(history, engine) as (con, source):
        raw = Tables(source, con, [by, "opened_at"]).complaints
        if by not in raw.columns:
            raise ValueError(f"the complaints have no column {by!r}")
        periods, index = period_index(con, raw.opened_at.cast("timestamp('UTC')"), period)
        counts = con.execute(raw.select(group=raw[by].cast("string").fill_null("not recorded"), k=index).group_by(["group", "k"]).aggregate(n=_.count()))
    totals = counts.groupby("group")["n"].sum()
    keep = totals.index[np.lexsort((totals.index.to_numpy(dtype=str), -totals.to_numpy()))][:top]  # ties by name
    counts["group"] = counts["group"].where(counts["group"].isin(keep), "other groups")
    counts["period"] = np.array([str(p) for p in periods] or [""], dtype=object)[counts["k"].to_numpy(dtype=np.int64)]
    table = counts.pivot_table(index="period", columns="group", values="n", aggfunc="sum", fill_value=0)
    return table.astype("int64").rename_axis(index="period", columns=by)


def trend_plot(table: pd.DataFrame) -> go.Figure:
    figure = go.Figure([go.Scatter(x=table.index, y=table[column], mode="lines+markers", name=as_text(str(value_label(column)))) for column in table.columns])
    figure.update_layout(title=f"Complaints per period by {column_label(table.columns.name)}", xaxis_title="period", yaxis_title="complaints")
    return figure


def rates(history: History | StoredHistory | str | Path, by: str | list[str], outcome: str = "disputed", min_complaints: int = 30,
          alpha: float = 0.05, engine=None) -> pd.DataFrame:
    """The share of complaints with ``outcome`` (a yes/no column) per group of ``by``,
    with a Wilson interval at ``1 - alpha`` (``rate_low_95``, ``rate_high_95`` at the default); groups with fewer than ``min_complaints`` recorded answers
    are left out. Raises ``ValueError`` naming the column when the history lacks it. Counted
    in the engine (``engine``: the history's, else DuckDB; or Spark), which reads a saved
    history itself.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import rates
    >>> by_channel = rates(load_sample(), "channel", outcome="disputed")
    >>> by_channel.columns.tolist()
    ['channel', 'complaints', 'disputed', 'rate', 'rate_low_95', 'rate_high_95']
    >>> int(by_channel["complaints"].sum())
    12773
    """
    columns = [by] if isinstance(by, str) else list(by)
    with reading(history, engine) as (con, source):
        tables = Tables(source, con, [*columns, outcome])
        for column in [*columns, outcome]:
            if not tables.has(column):
                raise ValueError(f"the complaints do not record {column!r}")
        t = tables.complaints
        answered = t.filter(t[outcome].notnull())
        groups = {column: _group_text(answered[column]) for column in columns}
        counts = con.execute(answered.group_by(**groups).aggregate(k=answered[outcome].cast("boolean").cast("int64").sum(), n=_.count()))
    counts = counts.set_index(columns).sort_index().astype("int64")  # ordered as pandas' groupby orders groups
    counts = counts.loc[counts["n"] >= min_complaints]
    table = _with_interval(counts["k"], counts["n"], "rate", alpha).reset_index()
    table = table.rename(columns={"n": "complaints", "k": outcome}).sort_values("rate", ascending=False, ignore_index=True)
    return with_interval_level(table, alpha)


def _group_text(column):
    """A group's value as text, as pandas writes it ("True", not the engine's "true"), "not recorded" when missing."""
    text = ibis.ifelse(column, "True", "False") if column.type().is_boolean() else column.cast("string")
    return ibis.ifelse(column.isnull(), "not recorded", text)  # a missing yes/no is neither


def most(history: History | StoredHistory | str | Path, by: str = "client_id", outcome: str = "disputed", top: int = 10, engine=None) -> pd.DataFrame:
    """The ``top`` groups (companies, for a CFPB export) with the most complaints with ``outcome``.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import most
    >>> top = most(load_sample(), by="team", outcome="escalated", top=3)
    >>> top[["team", "escalated", "complaints"]].to_dict("list")
    {'team': ['Support North', 'Support South', 'Billing Desk'], 'escalated': [184, 150, 129], 'complaints': [3470, 3124, 2388]}
    """
    table = rates(history, by, outcome, min_complaints=1, engine=engine)
    return table.sort_values([outcome, "complaints"], ascending=False).head(top).reset_index(drop=True)


def _with_interval(k: pd.Series, n: pd.Series, name: str, alpha: float = 0.05) -> pd.DataFrame:
    low, high = wilson(k, n, alpha)
    rate = (k / n.where(n > 0)).astype("float64")
    return pd.DataFrame({"n": n, "k": k, name: rate, f"{name}_low": low, f"{name}_high": high}, index=k.index)


PRIVATE_BUCKETS = [(0, 1, "within 1 hour"), (1, 4, "1 to 4 hours"), (4, 24, "4 to 24 hours"), (24, np.inf, "after a day")]


def public_to_private(history: History | StoredHistory | str | Path, engine=None) -> tuple[pd.DataFrame, str]:
    """Outcomes of public complaints (channel ``social_public``) by how long it took to
    move the conversation to a private channel: the first interaction on another channel.
    Where the interactions do not show the move, outcomes are compared by whether the
    complaint was marked ``moved_private``; the sentence returned says which. Counted in
    the engine (``engine``: the history's, else DuckDB; or Spark), which reads a saved
    history itself.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import public_to_private
    >>> table, how = public_to_private(load_sample())
    >>> print(how)
    The interactions do not show when a conversation moved to a private channel, so public complaints are compared by whether they were moved at all.
    >>> table.columns.tolist()[:3]
    ['moved', 'complaints', 'dispute_rate']
    """
    with reading(history, engine) as (con, source):
        tables = Tables(source, con, ["complaint_id", "opened_at", "channel", "moved_private", "disputed", "csat"])
        t = tables.complaints
        if not tables.has("channel"):
            return pd.DataFrame(), "The history has no public (social media) complaints."
        public = t.filter(t.channel.cast("string") == "social_public")
        public = public.select(complaint_id=public.complaint_id.cast("string"), opened_at=public.opened_at.cast("timestamp('UTC')"),
                               **{c: public[c] for c in ("moved_private", "disputed", "csat") if tables.has(c)})
        contacts = tables.interactions("channel")
        if "channel" in contacts.columns:  # the first contact on another channel
            private = contacts.filter(contacts.channel != "social_public")
            first = private.group_by(moved_id=private.complaint_id).aggregate(moved_at=private.at.min())
            public = public.left_join(first, public.complaint_id == first.moved_id)
        moved = public.moved_at.count() if "moved_at" in public.columns else ibis.literal(0)
        found = con.execute(public.aggregate(complaints=_.count(), moved=moved)).iloc[0]
        if not found["complaints"]:
            return pd.DataFrame(), "The history has no public (social media) complaints."
        if found["moved"]:
            at, opened = public.moved_at, public.opened_at
            # in order: a bucket's lower edge is the one before's upper edge
            group = ibis.cases((at.isnull() | (at < opened), "never moved"),
                               *[(at < opened + ibis.interval(hours=high), name) for _, high, name in PRIVATE_BUCKETS[:-1]], else_=PRIVATE_BUCKETS[-1][2])
            how = "Public complaints by the time until the first contact on a private channel."
        elif tables.has("moved_private"):
            group = _group_text(public.moved_private.cast("boolean")).substitute({"True": "moved private", "False": "stayed public"})
            how = ("The interactions do not show when a conversation moved to a private channel, so public complaints are compared "
                   "by whether they were moved at all.")
        else:
            return pd.DataFrame(), "The history records neither private contacts after public complaints nor whether they were moved."
        outcomes = {}
        if tables.has("disputed"):
            outcomes["dispute_rate"] = public.disputed.cast("boolean")
        if tables.has("csat"):
            outcomes["csat_satisfied"] = public.csat >= 4
        counts = {f"{name}_{part}": measure for name, flag in outcomes.items()
                  for part, measure in (("k", flag.cast("int64").sum()), ("n", flag.count()))}
        table = con.execute(public.group_by(moved=group).aggregate(complaints=_.count(), **counts))
    # soonest first, as a reader follows the time it took
    order = {name: rank for rank, name in enumerate([*(name for *_, name in PRIVATE_BUCKETS), "never moved", "moved private", "stayed public"])}
    table = table.sort_values("moved", key=lambda moved: moved.map(order).fillna(len(order)), ignore_index=True)
    for name in outcomes:
        k, n = table.pop(f"{name}_k").fillna(0), table.pop(f"{name}_n")
        low, high = wilson(k, n)
        table[name], table[f"{name}_low"], table[f"{name}_high"] = k / n.where(n > 0), low, high
    return table.astype({"complaints": "int64"}), how
