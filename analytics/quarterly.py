"""The quarterly retention review: which clients are at risk, why, and what changed.

Everything is computed from what was known at the end of the quarter under review
(``History.as_of``), so reviewing a past quarter shows what that meeting could have known.

Long because the review is one result with the tables and charts its report shows; the
model, backtest, KPIs and action list it draws on live in their own modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics._charts import as_text, scatter_type
from analytics._time import utc
from analytics.actions import AT_RISK_SHARE, RISK_JUMP_PTS, ActionList, actions_from, fitted_health
from analytics.features import data_end, engine_of, snapshots
from analytics.health import HealthScore
from analytics.io import History
from analytics.kpis import complaint_kpis, retention_kpis
from analytics.labels import feature_label
from analytics.models import (
    Backtest,
    ChurnModel,
    RetentionCurves,
    backtest,
    fit_by_client,
    retention_curves,
    training_data,
)
from analytics.results import Result, interval_level
from analytics.tables import amount, styled

__all__ = ["QuarterlyReview", "quarterly_review"]

#: KPIs compared quarter on quarter: column -> (label, how it reads: "percent", "hours" or "count")
KPIS = {
    "clients_at_start": ("clients at the start of the quarter", "count"),
    "logo_churn": ("clients who left (churned)", "percent"),
    "gross_revenue_retention": ("gross revenue retention", "percent"),
    "volume": ("complaints opened", "count"),
    "first_contact_resolution": ("first contact resolution", "percent"),
    "reopen_rate": ("reopen rate", "percent"),
    "escalation_rate": ("escalation rate", "percent"),
    "sla_met": ("first response within SLA", "percent"),
    "first_response_hours_median": ("median hours to first response", "hours"),
    "resolution_hours_median": ("median hours to resolution", "hours"),
    "repeat_rate_90": ("same trigger again within 90 days", "percent"),
    "csat_satisfied": ("CSAT 4 or 5", "percent"),
    "dispute_rate": ("dispute rate", "percent"),
}
CHANGE = "change on last quarter"
BACKTEST_QUARTERS = 4  # the model is judged on the last year of quarters it never saw
#: the risk chart's two groups: on the action list or not, its name and colour
RISK_GROUPS = ((False, "other clients", "#8da0cb"), (True, "at risk (top tenth)", "#d62728"))


@dataclass(repr=False)
class QuarterlyReview(Result):
    """What the quarterly retention review needs, for ``quarter``.

    ``clients``: every client active at the end of the quarter, ranked by churn probability
    over the ``horizon``, with its value at risk, last quarter's probability and the
    reasons. ``last_quarter``: what the previous review would have predicted (a model
    trained only on what was known then) and what happened. ``kpis``: this quarter against
    the previous one and the same quarter a year before. ``backtest`` says how far the
    probabilities can be trusted. ``summary`` is the KPI comparison; :meth:`headline` says
    the quarter in a few sentences.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.models import ChurnModel
    >>> from analytics.quarterly import quarterly_review
    >>> review = quarterly_review(load_sample(), model=ChurnModel(kind="logistic"), bootstrap=20, alpha=0.1)
    >>> review.period, len(review.at_risk) <= len(review.clients)
    ('2025Q4', True)
    >>> review.backtest.summary.columns.tolist()[-2:]
    ['low_90', 'high_90']
    >>> print(review.headline().splitlines()[0][:40])
    - **2025Q4** (data up to 2025-12-31): 1,
    """

    title = "Quarterly retention review"

    quarter: pd.Period
    cutoff: pd.Timestamp
    horizon: str
    clients: pd.DataFrame
    last_quarter: pd.DataFrame
    kpis: pd.DataFrame
    importance: pd.Series
    backtest: Backtest
    curves: RetentionCurves
    actions: ActionList
    trend: pd.DataFrame
    currency: str = "$"
    notes: list[str] = field(default_factory=list)

    @property
    def period(self) -> str:
        """The quarter under review, for the report's title and file name."""
        return str(self.quarter)

    @property
    def at_risk(self) -> pd.DataFrame:
        """The top tenth of active clients by churn probability, largest value at risk
        first: the order in which to call them."""
        top = self.clients.head(max(1, round(len(self.clients) * AT_RISK_SHARE)))
        return top.sort_values(["value_at_risk", "client_id"], ascending=[False, True], kind="stable")

    @property
    def computed_on(self) -> str:
        return (f"{len(self.clients):,} clients active at the end of {self.quarter}; the model was tested on the last "
                f"{len(self.backtest.per_cutoff):,} quarters, which it never saw")

    def _table(self) -> pd.DataFrame:
        return self.kpis.drop(columns="kind")

    def plot(self) -> go.Figure:
        return self.risk_plot()

    def headline(self) -> str:
        """The headline in a few Markdown sentences; the same data always gives the same text."""
        c, at_risk = self.clients, self.at_risk
        days = pd.Timedelta(self.horizon).days
        valued = c["annual_value"].notna().any()  # an export without contract values says so, rather than $0
        lines = [
            f"**{self.quarter}** (data up to {self.cutoff - pd.Timedelta(days=1):%Y-%m-%d}): {len(c):,} active clients, "
            + (f"{self._money(c['annual_value'].sum())} in annual value." if valued else "with no annual value recorded."),
            f"The model expects **about {c['probability'].sum():,.0f} clients** to leave in the next {days} days"
            + (f", taking **{self._money(c['value_at_risk'].sum())}** of annual value with them." if valued else "."),
            f"The {len(at_risk):,} clients at highest risk (top tenth) average a {at_risk['probability'].mean():.1%} chance of leaving, "
            f"against {c['probability'].mean():.1%} for all clients"
            + (f"; {self._money(at_risk['value_at_risk'].sum())} of the value at risk is theirs." if valued else "."),
        ]
        counts = self.actions.alert_counts()
        if self.actions.previous is not None:
            lines.append(f"Since {self.quarter - 1}: {counts['newly at risk']:,} clients newly at risk, {counts['risk jumped']:,} whose risk rose "
                         f"{RISK_JUMP_PTS:.0f} points or more, {counts['health fell a band']:,} whose health fell a band (alerts below).")
        if len(self.last_quarter):
            lq = self.last_quarter
            lines.append(
                f"Last quarter the model expected about {lq['probability'].sum():,.0f} of {len(lq):,} clients to leave; "
                f"{int(lq['churned'].sum()):,} did."
            )
        overall = self.backtest.overall.set_index("metric")
        auc, captured = overall.loc["roc_auc"], overall.loc["captured_top_decile"]
        lines.append(
            f"On {self.backtest.per_cutoff['cutoff'].nunique()} past quarters the model never saw, the top tenth held "
            f"{captured['value']:.0%} of the clients who left ({interval_level(self.backtest.alpha)}% CI {captured['low']:.0%} to {captured['high']:.0%}); "
            f"ROC AUC {auc['value']:.2f} ({auc['low']:.2f} to {auc['high']:.2f})."
        )
        return "\n".join(f"- {line}" for line in lines)

    def limitations(self) -> str:
        """What this review could not compute, as a Markdown list."""
        return "\n".join(f"- {note}" for note in self.notes) or "- Nothing: every KPI and model input was recorded."

    def _money(self, value: float) -> str:
        return amount(value, self.currency)

    # ------------------------------------------------------------------ tables
    def kpi_table(self):
        """KPIs of this quarter, the one before and the same quarter a year before."""
        table = self.kpis.copy()
        counted = [c for c in table.columns if c.endswith(" n")]
        for column in [c for c in table.columns[2:] if c not in counted]:
            signed = column == CHANGE
            counts = table.get(f"{column} n", pd.Series(np.nan, index=table.index))
            table[column] = [_kpi_text(kind, value, signed) + ("" if pd.isna(n) or signed else f" of {n:,.0f}")
                             for kind, value, n in zip(table["kind"], table[column], counts, strict=True)]
        caption = None
        if table[[c for c in table.columns[2:] if c not in counted]].eq("–").any().any():
            caption = ("– : not known for that quarter: not recorded, or not complete yet (a repeat rate needs 90 days after "
                       "each complaint, so the latest quarter's comes next quarter).")
        return styled(table.drop(columns=["kind", *counted]).rename(columns={"label": "KPI"}), caption=caption)

    def backtest_table(self):
        """The backtest's metrics, each estimate and its interval written the same way."""
        overall = self.backtest.overall
        formats = {"captured_top_decile": "{:.0%}", "lift_top_decile": "{:.1f}×"}
        written = [(formats.get(m, "{:.3f}"), v, lo, hi) for m, v, lo, hi in zip(overall["metric"], overall["value"], overall["low"], overall["high"], strict=True)]
        table = pd.DataFrame({
            "metric": overall["description"],
            "value": [f.format(v) for f, v, _, _ in written],
            f"{interval_level(self.backtest.alpha)}% interval": [f"{f.format(lo)} to {f.format(hi)}" for f, _, lo, hi in written],
            "what it means": overall["metric"].map(METRIC_MEANINGS).fillna(""),
        })
        return styled(table)

    # ------------------------------------------------------------------ figures
    def risk_plot(self) -> go.Figure:
        """Every active client: annual value against churn probability; the at-risk list in red.
        Drawn with WebGL beyond ``WEBGL_FROM`` clients, when only the list's clients show their main reason.
        Without annual values, how many clients have each churn risk."""
        c = self.clients
        on_list = c["client_id"].isin(self.at_risk["client_id"])
        days = pd.Timedelta(self.horizon).days
        if c["annual_value"].isna().all():  # no value to plot against: how the risk is spread
            figure = go.Figure([go.Histogram(x=c.loc[on_list == flag, "probability"], name=name, marker={"color": colour}, nbinsx=50,
                                             hovertemplate="risk %{x}: %{y:,} clients<extra></extra>")
                                for flag, name, colour in RISK_GROUPS])
            figure.update_layout(barmode="stack", title=f"Churn risk of the clients active at the end of {self.quarter} (no annual values recorded)",
                                 xaxis_title=f"probability of leaving within {days} days", yaxis_title="clients", xaxis_tickformat="~%")
            return figure
        figure = go.Figure()
        for flag, name, colour in RISK_GROUPS:
            rows = c[on_list == flag]
            trace = scatter_type(len(rows))
            # the reasons of tens of thousands of clients would weigh megabytes: only the action list's say why
            reasons = pd.Series("", index=rows.index) if trace is go.Scattergl and not flag else rows["reason_1"].fillna("")
            figure.add_trace(trace(
                x=rows["probability"], y=rows["annual_value"], mode="markers", name=name, marker={"color": colour, "opacity": 0.7},
                customdata=np.stack([as_text(rows["client_id"]), as_text(reasons)], axis=1),
                hovertemplate="%{customdata[0]}<br>risk %{x:.1%}, value " + self.currency + "%{y:,.0f}<br>%{customdata[1]}<extra></extra>",
            ))
        figure.update_layout(title=f"Churn risk and annual value, clients active at the end of {self.quarter}",
                             xaxis_title=f"probability of leaving within {days} days", yaxis_title="annual value",
                             xaxis_tickformat="~%", yaxis_tickprefix=self.currency, yaxis_tickformat="~s")
        return figure

    def trend_plot(self) -> go.Figure:
        """The last eight quarters: churn, revenue retention, clients in the at-risk health
        band and the main complaint KPIs, one small chart each."""
        from plotly.subplots import make_subplots

        shown = [c for c in TREND if c in self.trend and self.trend[c].notna().any()]
        rows = (len(shown) + 2) // 3
        figure = make_subplots(rows=max(rows, 1), cols=3, subplot_titles=[TREND[c][0] for c in shown], vertical_spacing=0.18)
        for i, column in enumerate(shown):
            kind = TREND[column][1]
            figure.add_trace(go.Scatter(x=list(self.trend.index), y=self.trend[column], mode="lines+markers", name=TREND[column][0],
                                        showlegend=False, hovertemplate="%{x}: %{y" + {"percent": ":.1%", "hours": ":,.1f", "count": ":,.0f"}[kind] + "}<extra></extra>"),
                             row=i // 3 + 1, col=i % 3 + 1)
            figure.update_yaxes(tickformat=".0%" if kind == "percent" else ",.0f", rangemode="tozero", row=i // 3 + 1, col=i % 3 + 1)
        figure.update_layout(title=f"The last {len(self.trend)} quarters, to {self.quarter}", height=300 * max(rows, 1) + 80)
        return figure

    def importance_plot(self, top: int = 12) -> go.Figure:
        """What drives risk across all clients: mean size of each feature's contribution."""
        shown = self.importance.head(top)[::-1]
        figure = go.Figure(go.Bar(x=shown.to_numpy() * 100, y=as_text(feature_label(name) for name in shown.index),
                                  orientation="h", hovertemplate="%{y}: %{x:.2f} pts on average<extra></extra>"))
        figure.update_layout(title="What moves churn risk, across all clients", xaxis_title="average size of the contribution (percentage points)",
                             margin={"l": 320})
        return figure


def quarterly_review(
    history: History, quarter=None, horizon: str = "90D", model=None, currency: str = "$", bootstrap: int = 200, random_state: int = 0,
    alpha: float = 0.05, engine=None,
) -> QuarterlyReview:
    """Build the review of ``quarter``: "2025Q4", a ``pd.Period``, or a date for the last
    quarter completed by then (default: the last quarter the data reaches the end of).

    Snapshots are taken at every quarter end up to the review's; ``model`` (default
    :class:`ChurnModel`) is trained on the rows whose labels were known at the review's
    cutoff and scores the clients active then. It is judged by a backtest on the last
    ``BACKTEST_QUARTERS`` quarters; last quarter's probabilities are that backtest's,
    from a model that had only the data before it. The backtest's intervals are at ``1 - alpha``.
    ``engine`` runs its analyses: the history's (default), else DuckDB in process; ``"spark"`` or a
    ``SparkSession`` (see :func:`analytics.features.snapshots`).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.models import ChurnModel
    >>> from analytics.quarterly import quarterly_review
    >>> review = quarterly_review(load_sample(), "2025Q3", model=ChurnModel(kind="logistic"), bootstrap=20)
    >>> review.computed_on
    '1,805 clients active at the end of 2025Q3; the model was tested on the last 4 quarters, which it never saw'
    >>> review.summary.columns.tolist()[:3]
    ['label', '2024Q3', '2025Q2']
    """
    quarter = _quarter(history, quarter)
    cutoff = utc(quarter.end_time.normalize() + pd.Timedelta(days=1))
    known = history.as_of(cutoff)
    known.engine = engine_of(history, engine)  # every analysis of it runs there
    start = pd.Period(known.span[0], "Q")
    cutoffs = [utc((q + 1).start_time) for q in pd.period_range(start, quarter, freq="Q")]
    rows = snapshots(known, cutoffs, horizon)
    model = ChurnModel(random_state=random_state) if model is None else model
    kpis, by_quarter, notes = _kpi_comparison(known, quarter)

    trust = backtest(rows, model, horizon, bootstrap=bootstrap, random_state=random_state, last=BACKTEST_QUARTERS, alpha=alpha)
    X, y = training_data(rows)
    fitted = fit_by_client(model, X, y, rows.loc[X.index, "client_id"])
    now = rows[rows["cutoff"] == cutoff].reset_index(drop=True)
    features = now[X.columns]
    probability = fitted.predict_proba(features)[:, 1]
    previous_cutoff = utc(quarter.start_time)
    last = trust.predictions[trust.predictions["cutoff"] == previous_cutoff]
    if last.empty:
        notes.append(f"No backtest prediction exists for {quarter - 1}: it had too few earlier quarters with known outcomes.")
    clients = history.clients.set_index("client_id")
    table = pd.DataFrame({
        "client_id": now["client_id"],
        "name": now["client_id"].map(clients["name"]) if "name" in clients else pd.NA,
        "segment": now.get("segment", pd.NA),
        "annual_value": now["annual_value"].astype("float64") if "annual_value" in now else np.nan,
        "probability": probability,
        "previous_probability": now["client_id"].map(last.set_index("client_id")["probability"]),
        "days_to_renewal": now["days_to_renewal"],
    })
    table["value_at_risk"] = table["probability"] * table["annual_value"]
    table["change_pts"] = (table["probability"] - table["previous_probability"]) * 100
    table = pd.concat([table, fitted.reasons(features)], axis=1).sort_values(["probability", "client_id"], ascending=[False, True], ignore_index=True)
    exposed = "repeats_90" if "repeats_90" in rows else "complaints_90"
    what = "a repeated trigger" if exposed == "repeats_90" else "a complaint"
    groups = (rows[exposed] > 0).map({True: f"{what} in the 90 days before", False: "none in the 90 days before"})
    health = fitted_health(rows)  # once, for the action list and the history charts
    actions = actions_from(known, rows, fitted, list(X.columns), cutoff, horizon, currency, health=health)
    return QuarterlyReview(
        quarter=quarter, cutoff=cutoff, horizon=horizon, clients=table, last_quarter=last.reset_index(drop=True),
        kpis=kpis, importance=fitted.importance(features) if len(features) else pd.Series(dtype=float),
        backtest=trust, curves=retention_curves(known, rows, by=groups), actions=actions,
        trend=_trend(by_quarter, rows, health, quarter), currency=currency, notes=notes + actions.notes,
    )


#: each backtest metric in plain words
METRIC_MEANINGS = {
    "roc_auc": "chance that a client who left was ranked above one who stayed (0.5 is guessing, 1 is perfect)",
    "pr_auc": "how well the ranking finds the clients who left; compare with the churn rate, which guessing would get",
    "brier": "mean squared gap between probability and outcome (lower is better)",
    "ece": "average gap between predicted and observed churn across probability bands (0 is perfectly calibrated)",
    "lift_top_decile": "how many times more often the top tenth left than the average client",
    "captured_top_decile": "share of the clients who left that the top tenth held",
}
TREND_QUARTERS = 8
#: the history charts: column -> (title, how it reads)
TREND = {
    "logo_churn": ("clients who left (churned)", "percent"),
    "gross_revenue_retention": ("gross revenue retention", "percent"),
    "at_risk_health": ("clients in the at-risk health band", "count"),
    "volume": ("complaints opened", "count"),
    "repeat_rate_90": ("same trigger again within 90 days", "percent"),
    "resolution_hours_median": ("median hours to resolution", "hours"),
}


def _trend(by_quarter: pd.DataFrame, rows: pd.DataFrame, health: HealthScore | None, quarter: pd.Period) -> pd.DataFrame:
    """The last TREND_QUARTERS quarters of the trend KPIs and the count of clients in the
    at-risk health band at each quarter's end."""
    periods = [str(q) for q in pd.period_range(quarter - TREND_QUARTERS + 1, quarter, freq="Q")]
    table = by_quarter.reindex(periods)[[c for c in TREND if c in by_quarter]].copy()
    if health is not None:
        scores = health.score(rows)
        at_quarter_end = scores.loc[scores["band"] == "at_risk"].groupby("cutoff").size()
        ends = {str(pd.Period(pd.Timestamp(c).tz_convert(None) - pd.Timedelta(days=1), "Q")): n for c, n in at_quarter_end.items()}
        table["at_risk_health"] = [ends.get(p, np.nan) for p in periods]
    return table.rename_axis("quarter")


def _quarter(history: History, quarter) -> pd.Period:
    """The quarter asked for, or the last one completed by a date (by default, the data's end)."""
    if isinstance(quarter, pd.Period):
        return quarter.asfreq("Q")
    if isinstance(quarter, str) and re.fullmatch(r"\d{4}\s*Q[1-4]", quarter.strip(), re.IGNORECASE):
        return pd.Period(quarter.strip().upper().replace(" ", ""), "Q")
    try:
        moment = data_end(history) if quarter is None else utc(quarter)
    except (ValueError, TypeError) as error:
        raise ValueError(f"the quarter must look like '2025Q4' or a date, not {quarter!r}") from error
    # a quarter counts as completed once the data reaches its last day
    return pd.Period(moment.tz_convert(None) + pd.Timedelta(days=1), "Q") - 1


def _kpi_comparison(history: History, quarter: pd.Period) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """One row per KPI: this quarter, the previous one, a year before, and the change;
    every KPI by quarter; and the notes on KPIs the history cannot give."""
    complaints, retention = complaint_kpis(history, "quarter"), retention_kpis(history, "quarter")
    table = complaints.table.merge(retention.table, on="period", how="outer").set_index("period")
    periods = [str(quarter - 4), str(quarter - 1), str(quarter)]
    rows = []
    for column, (name, kind) in KPIS.items():
        if column not in table:
            continue
        values = {period: table[column].get(period, np.nan) for period in periods}
        counts = {f"{period} n": table[f"{column}_n"].get(period, np.nan) if f"{column}_n" in table else np.nan for period in periods}
        rows.append({"label": name, "kind": kind, **values, **counts})
    frame = pd.DataFrame(rows)
    frame[CHANGE] = frame[str(quarter)] - frame[str(quarter - 1)]
    return frame, table, complaints.notes + retention.notes


def _kpi_text(kind: str, value, signed: bool = False) -> str:
    if pd.isna(value):
        return "–"
    value = round(value, 3) + 0.0  # no "-0.0"
    sign = "+" if signed else ""
    if kind == "percent":
        return f"{value * 100:+.1f} pts" if signed else f"{value:.1%}"
    if kind == "hours":
        return f"{value:{sign},.1f} h"
    return f"{value:{sign},.0f}"
