"""Repeat triggers: which resolved complaints will come back, how soon, and which triggers
come back most."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from analytics._charts import as_text
from analytics._stats import wilson
from analytics.features import Groups, StoredHistory, Tables, prior_count, reading, repeats
from analytics.io import History
from analytics.labels import column_label, group_label
from analytics.models._churn import ChurnModel
from analytics.models._survival import daily_steps
from analytics.results import Result, interval_level
from analytics.schemas import PRACTICES

#: what is known about a complaint once it is resolved
KNOWN_AT_RESOLUTION = [
    "trigger", "severity", "channel", "team", "resolution", "reopen_count", "escalated", "sla_met", "csat", "disputed",
    "handling_minutes", "credit_amount", *PRACTICES,
]


def repeat_rates(history: History | str | Path, within: str = "90D", alpha: float = 0.05, engine=None) -> pd.DataFrame:
    """Triggers ranked by their repeat rate (complete windows only) with Wilson intervals
    at ``1 - alpha`` (``low_95``, ``high_95`` at the default). Counted in the engine, which
    reads a saved history's folder itself (see :func:`analytics.rootcause.pareto`).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.models import repeat_rates
    >>> rates = repeat_rates(load_sample(), alpha=0.1)
    >>> rates.columns.tolist()
    ['trigger', 'repeats', 'complaints', 'repeat_rate', 'low_90', 'high_90']
    >>> rates.loc[0, "trigger"], int(rates["complaints"].sum())
    ('technical_failure', 10883)
    """
    with reading(history, engine) as (con, source):
        groups = Groups(source, con, "trigger", within)
        lacking = [column for column in ("trigger", "resolved_at") if not groups.has(column)]
        if lacking:
            raise ValueError(f"repeat rates need {' and '.join(lacking)} on the complaints, which this history does not record")
        counts = groups.repeat_counts()
    table = pd.DataFrame({"repeats": counts["repeats"], "complaints": counts["repeat_known"]})
    table["repeat_rate"] = table["repeats"] / table["complaints"]
    level = interval_level(alpha)
    table[f"low_{level}"], table[f"high_{level}"] = wilson(table["repeats"], table["complaints"], alpha)
    return table.sort_values("repeat_rate", ascending=False).reset_index()


@dataclass(repr=False)
class RepeatCurves(Result):
    """Kaplan-Meier share of resolved complaints whose trigger came back, by days since
    resolution: ``curves`` (every step) and ``table`` (the share after 30, 90 and 180 days,
    with intervals at ``1 - alpha``), which ``summary`` shows.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.models import time_to_repeat
    >>> curves = time_to_repeat(load_sample(), "root_cause_fixed", alpha=0.1)
    >>> curves.computed_on
    '11,767 resolved complaints, 4,008 of which came back, in 2 groups of root cause fixed'
    >>> curves.summary.columns.tolist()[:5]
    ['group', 'complaints', 'repeated_30', 'repeated_30_low_90', 'repeated_30_high_90']
    """

    title = "Time to a repeat of the same trigger"

    curves: pd.DataFrame
    table: pd.DataFrame
    by: str
    repeated: int = 0
    alpha: float = 0.05

    def _table(self) -> pd.DataFrame:
        return self.table

    @property
    def computed_on(self) -> str:
        return (f"{int(self.table['complaints'].sum()):,} resolved complaints, {self.repeated:,} of which came back, "
                f"in {len(self.table):,} groups of {column_label(self.by)}")

    def plot(self) -> go.Figure:
        figure = go.Figure()
        for group, curve in self.curves.groupby("group", sort=False):
            name = as_text(group_label(self.by, group))
            curve = daily_steps(curve, "repeated")
            figure.add_trace(go.Scatter(x=curve["days"], y=curve["repeated"], mode="lines", line_shape="hv", name=name,
                                        hovertemplate="%{x:.0f} days: %{y:.1%} came back<extra>%{fullData.name}</extra>"))
        figure.update_layout(title=f"Time to a repeat of the same trigger, by {column_label(self.by)}", xaxis_title="days since resolution",
                             yaxis_title="share come back", yaxis_tickformat=".0%")
        return figure


def time_to_repeat(history: History | StoredHistory | str | Path, by: str = "trigger", horizon_days: int = 365, alpha: float = 0.05,
                   engine=None) -> RepeatCurves:
    """Kaplan-Meier curves of time from resolution to the same client's next complaint of
    the same trigger, per group of ``by`` (a complaint column such as ``trigger``,
    ``resolution`` or ``root_cause_fixed``), followed up to ``horizon_days`` or the end of
    the data. The repeats are found in the engine (``engine``: the history's, else DuckDB;
    or Spark), which reads a saved history itself: only each resolved complaint's group,
    resolution and first repeat come back.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> curves = time_to_repeat(load_sample(), "root_cause_fixed")
    >>> curves.summary[["group", "complaints", "repeated_90", "repeated_90_low_95"]].round(3).to_dict("list")
    {'group': ['False', 'True'], 'complaints': [7976, 3791], 'repeated_90': [0.223, 0.152], 'repeated_90_low_95': [0.214, 0.141]}
    """
    return time_to_repeat_by(history, [by], horizon_days, alpha, engine)[by]


def time_to_repeat_by(history: History | StoredHistory | str | Path, columns: list[str], horizon_days: int = 365, alpha: float = 0.05,
                      engine=None) -> dict[str, RepeatCurves]:
    """:func:`time_to_repeat` by each of ``columns``, the repeats found once.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.models import time_to_repeat_by
    >>> curves = time_to_repeat_by(load_sample(), ["trigger", "resolution"])
    >>> {column: len(c.table) for column, c in curves.items()}
    {'trigger': 8, 'resolution': 5}
    """
    from lifelines import KaplanMeierFitter

    horizon = pd.Timedelta(days=horizon_days)
    with reading(history, engine) as (con, source):
        tables = Tables(source, con, [*columns, "client_id", "trigger", "opened_at", "resolved_at"], numbered=True)
        for column in columns:
            if column not in tables.complaints.columns:
                raise ValueError(f"the complaints have no column {column!r} to group time to repeat by")
        lacking = [column for column in ("trigger", "resolved_at") if not tables.has(column)]
        if lacking:
            raise ValueError(f"repeats need {' and '.join(lacking)} on the complaints, which this history does not record")
        t = tables.complaints
        done = t.filter(t.trigger.notnull() & t.resolved_at.notnull())
        done = done.select("_row", "client_id", "trigger", resolved_at=done.resolved_at.cast("timestamp('UTC')"),
                           **{f"by_{k}": done[column] for k, column in enumerate(columns)})
        flags = con.execute(tables.first_repeat(done, horizon).drop("client_id", "trigger"))
        end = tables.end
    if flags.empty:
        raise ValueError("time to repeat needs resolved complaints with a trigger; this history has none")
    resolved_at, repeat_at = pd.to_datetime(flags["resolved_at"], utc=True), pd.to_datetime(flags["repeat_at"], utc=True)
    repeated = repeat_at.notna().to_numpy()
    followed = ((end - resolved_at).dt.total_seconds() / 86400).clip(upper=horizon_days)
    days = ((repeat_at - resolved_at).dt.total_seconds() / 86400).where(repeated, followed).clip(lower=0).to_numpy()
    found = {}
    for k, column in enumerate(columns):
        group = flags[f"by_{k}"].astype("string").fillna("not recorded").to_numpy()
        curves, summary = [], []
        for name in sorted(set(group), key=str):
            members = group == name
            fitter = KaplanMeierFitter(alpha=alpha).fit(days[members], repeated[members])
            curve = fitter.survival_function_.reset_index()
            curves.append(pd.DataFrame({"group": name, "days": curve.iloc[:, 0], "repeated": 1 - curve.iloc[:, 1]}))
            row = {"group": name, "complaints": int(members.sum())}
            band = fitter.confidence_interval_survival_function_
            for d in (30, 90, 180):
                row[f"repeated_{d}"] = float(1 - fitter.survival_function_at_times(d).iloc[0])
                low, high = band.loc[:d].iloc[-1]  # a share that came back is one minus a share still waiting
                row[f"repeated_{d}_low"], row[f"repeated_{d}_high"] = float(1 - high), float(1 - low)
            summary.append(row)
        table = pd.DataFrame(summary).sort_values("repeated_90", ascending=False, ignore_index=True)
        found[column] = RepeatCurves(pd.concat(curves, ignore_index=True), table, column, int(repeated.sum()), alpha)
    return found


@dataclass(repr=False)
class RepeatRisk(Result):
    """A classifier of repeats trained on earlier complaints and judged on later ones:
    ``predictions`` (test complaints: probability, outcome, top reasons) and ``metrics``,
    which ``summary`` shows as a table.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.models import repeat_risk
    >>> risk = repeat_risk(load_sample(), test_share=0.2)
    >>> sorted(risk.metrics)
    ['brier', 'pr_auc', 'repeat_rate', 'roc_auc', 'test_complaints', 'train_complaints']
    >>> risk.predictions.columns.tolist()[:3]
    ['complaint_id', 'probability', 'repeated']
    """

    title = "Repeat risk"

    model: ChurnModel
    predictions: pd.DataFrame
    metrics: dict
    test_from: pd.Timestamp

    def _table(self) -> pd.DataFrame:
        return pd.DataFrame({"metric": list(self.metrics), "value": list(self.metrics.values())})

    @property
    def computed_on(self) -> str:
        return (f"trained on {self.metrics['train_complaints']:,} complaints resolved before {self.test_from:%Y-%m-%d}, judged on "
                f"{self.metrics['test_complaints']:,} resolved from then on, {int(self.predictions['repeated'].sum()):,} of which came back")

    def plot(self) -> go.Figure:
        """The share that came back in each tenth of predicted risk, against the prediction."""
        tenth = pd.qcut(self.predictions["probability"].rank(method="first"), 10, labels=False)
        frame = self.predictions.groupby(tenth).agg(predicted=("probability", "mean"), observed=("repeated", "mean"))
        top = float(max(frame["predicted"].max(), frame["observed"].max()) * 1.05)
        figure = go.Figure([
            go.Scatter(x=[0, top], y=[0, top], mode="lines", name="perfect calibration", line={"dash": "dot", "color": "grey"}),
            go.Scatter(x=frame["predicted"], y=frame["observed"], mode="lines+markers", name="model",
                       hovertemplate="predicted %{x:.1%}<br>came back %{y:.1%}<extra></extra>"),
        ])
        figure.update_layout(title="Repeat risk: predicted and observed, by tenth of predicted risk", xaxis_title="predicted probability",
                             yaxis_title="share that came back", xaxis_tickformat=".0%", yaxis_tickformat=".0%")
        return figure

    def score(self, history: History) -> pd.DataFrame:
        """Probability of a repeat for every resolved complaint of ``history``, with reasons."""
        features, _ = repeat_features(history)
        X = features[self.model.feature_names_in_]
        return pd.concat([features[["complaint_id"]], pd.DataFrame({"probability": self.model.predict_proba(X)[:, 1]}, index=X.index),
                          self.model.reasons(X)], axis=1)


def repeat_features(history: History, within: str = "90D") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per resolved complaint: what was known at its resolution (its own fields, the
    client's complaints and same-trigger complaints in the year before, the segment), and
    the repeat flags.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.models import repeat_features
    >>> features, flags = repeat_features(load_sample())
    >>> len(features) == len(flags), features.columns[:4].tolist(), flags.columns.tolist()
    (True, ['complaint_id', 'trigger', 'severity', 'channel'], ['complaint_id', 'client_id', 'trigger', 'resolved_at', 'repeat_at', 'days_to_repeat', 'repeated', 'censored', 'complete'])
    """
    c = history.complaints
    resolved = c["resolved_at"].notna()
    frame = pd.DataFrame({"complaint_id": c["complaint_id"]})
    for column in KNOWN_AT_RESOLUTION:
        if history.has(column):
            frame[column] = c[column]
    opened = pd.to_datetime(c["opened_at"], utc=True)
    frame["resolution_hours"] = (pd.to_datetime(c["resolved_at"], utc=True) - opened).dt.total_seconds() / 3600
    frame["prior_complaints_365"] = prior_count(c["client_id"], opened, pd.Timedelta(days=365))
    if history.has("trigger"):
        frame["prior_same_trigger_365"] = prior_count(c["client_id"].astype(str) + "|" + c["trigger"].astype(str), opened, pd.Timedelta(days=365))
    clients = history.clients.set_index("client_id")
    if "segment" in clients:
        frame["segment"] = c["client_id"].map(clients["segment"])
    flags = repeats(history, within).set_index("complaint_id").reindex(c["complaint_id"]).reset_index()
    keep = resolved.to_numpy() & flags["repeated"].notna().to_numpy()
    return frame.loc[keep].reset_index(drop=True), flags.loc[keep].reset_index(drop=True)


def repeat_risk(history: History, within: str = "90D", test_share: float = 0.25, model=None, random_state: int = 0) -> RepeatRisk:
    """Train on complaints whose repeat window had closed before ``test_from`` (the time
    after which the last ``test_share`` of complaints were resolved) and test on the
    complaints resolved from then on, whose windows are complete.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> risk = repeat_risk(load_sample())
    >>> risk.computed_on
    'trained on 7,188 complaints resolved before 2025-01-01, judged on 2,721 resolved from then on, 548 of which came back'
    >>> risk.summary["metric"].tolist()
    ['train_complaints', 'test_complaints', 'repeat_rate', 'roc_auc', 'pr_auc', 'brier']
    """
    features, flags = repeat_features(history, within)
    complete = flags["complete"].to_numpy(bool)
    resolved_at = pd.to_datetime(flags["resolved_at"], utc=True)
    test_from = resolved_at[complete].quantile(1 - test_share)
    train = complete & (resolved_at + pd.Timedelta(within) <= test_from).to_numpy()
    test = complete & (resolved_at >= test_from).to_numpy()
    X = features.drop(columns="complaint_id")
    y = flags["repeated"].astype(bool).to_numpy()
    model = (model or ChurnModel(random_state=random_state)).fit(X.loc[train], y[train])
    probability = model.predict_proba(X.loc[test])[:, 1]
    predictions = pd.concat([
        pd.DataFrame({"complaint_id": features.loc[test, "complaint_id"].to_numpy(), "probability": probability, "repeated": y[test]}),
        model.reasons(X.loc[test]).reset_index(drop=True),
    ], axis=1)
    metrics = {
        "train_complaints": int(train.sum()), "test_complaints": int(test.sum()), "repeat_rate": float(y[test].mean()),
        "roc_auc": float(roc_auc_score(y[test], probability)), "pr_auc": float(average_precision_score(y[test], probability)),
        "brier": float(brier_score_loss(y[test], probability)),
    }
    return RepeatRisk(model, predictions, metrics, test_from)

