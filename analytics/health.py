"""The health score: 0-100 per client and cutoff, from components anyone can check.

Each component is a measure where more is worse (complaint load against the client's own
past and its segment, severity, resolution time, reopens, SLA breaches, repeat triggers,
tone trend, low CSAT, complaints without follow-up, disputes). It is scaled to 0-1 between
the typical client (median: no deduction) and the worst twentieth (95th percentile: full
deduction), and deducts up to its weight's share of 100 points. Weights come from a
policy file or are learned by a logistic regression with non-negative coefficients, so
the score ranks clients by observed churn and a worse component never raises it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.optimize import minimize
from scipy.special import expit

from analytics._stats import wilson
from analytics._time import utc
from analytics.models import rolling_origin
from analytics.results import Result

__all__ = ["HealthScore", "Component", "components"]

POLICY = Path(__file__).resolve().parent / "policies" / "health.toml"
BANDS = ("healthy", "watch", "at_risk")


@dataclass(frozen=True)
class Component:
    """One part of the health score: its ``label`` in words, the ``unit`` its raw value is
    written in, and ``why`` a high value is bad.

    Examples
    --------
    >>> from analytics.health import COMPONENTS
    >>> part = COMPONENTS["reopens"]
    >>> part.label, part.unit.format(0.25), part.why
    ('reopens', '25%', 'share of complaints reopened, last 90 days')
    """

    label: str
    unit: str  # how the raw value reads: "{:.1f} ..." format
    why: str  # what a high value means, for explain()


COMPONENTS = {
    "complaint_load_own": Component("complaint load against the client's own past", "{:+.1f} complaints", "complaints in the last 90 days against the client's own quarterly average over the year"),
    "complaint_load_segment": Component("complaint load against the segment", "{:+.1f} complaints", "complaints in the last 90 days against the segment's median"),
    "severity": Component("severity", "{:.1f}", "severity-weighted complaint load (weights halve every 90 days)"),
    "resolution_time": Component("resolution time", "{:,.0f} h", "median hours to resolution, last 90 days"),
    "reopens": Component("reopens", "{:.0%}", "share of complaints reopened, last 90 days"),
    "sla_breaches": Component("SLA breaches", "{:.0%}", "share of complaints past their SLA, last 90 days"),
    "repeat_triggers": Component("repeat triggers", "{:.0f}", "complaints repeating a trigger, last 90 days"),
    "tone_trend": Component("tone trend", "{:+.1f} contacts", "angry and abusive contacts in the last 90 days against the quarterly average over the year"),
    "csat": Component("CSAT", "{:.1f} below 5", "how far the average CSAT of the last 365 days is below 5"),
    "follow_up_gap": Component("follow-up coverage", "{:.0%} not followed up", "share of complaints of the last 365 days not followed up"),
    "disputes": Component("disputes", "{:.0%}", "share of complaints disputed, last 365 days"),
}


def components(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Each component's raw value per snapshot row (higher is worse); a component whose
    columns the snapshots lack is left out, and no complaint counts as nothing wrong.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> from analytics.health import components
    >>> raw = components(snapshots(load_sample(), cutoffs=["2025-01-01"]))
    >>> raw.columns.tolist()
    ['complaint_load_own', 'complaint_load_segment', 'severity', 'resolution_time', 'reopens', 'sla_breaches', 'repeat_triggers', 'disputes', 'tone_trend', 'csat', 'follow_up_gap']
    """
    s = snapshots
    out = {}

    def has(*columns):
        return all(c in s for c in columns)

    if has("complaints_90", "complaints_365"):
        out["complaint_load_own"] = s["complaints_90"] - s["complaints_365"] / 4
        group = s["segment"].astype("string").fillna("") if "segment" in s else pd.Series("", index=s.index)
        median = s.groupby([s["cutoff"], group])["complaints_90"].transform("median")
        out["complaint_load_segment"] = s["complaints_90"] - median
    if has("severity_load"):
        out["severity"] = s["severity_load"]
    for name, column in (("resolution_time", "resolution_hours_median_90"), ("reopens", "reopen_rate_90"), ("sla_breaches", "sla_breach_rate_90"),
                         ("repeat_triggers", "repeats_90"), ("disputes", "dispute_rate_365")):
        if has(column):
            out[name] = s[column]
    if has("angry_contacts_90", "angry_contacts_365", "abusive_contacts_90", "abusive_contacts_365"):
        out["tone_trend"] = (s["angry_contacts_90"] + s["abusive_contacts_90"]) - (s["angry_contacts_365"] + s["abusive_contacts_365"]) / 4
    if has("csat_mean_365"):
        out["csat"] = 5 - s["csat_mean_365"]
    if has("followed_up_share_365"):
        out["follow_up_gap"] = 1 - s["followed_up_share_365"]
    return pd.DataFrame(out, index=s.index).astype("float64")


class HealthScore(Result):
    """Fit on snapshots (:func:`analytics.features.snapshots`), then :meth:`score`,
    :meth:`explain`, :meth:`movement` and :meth:`bands` (each band's churn rate in a
    backtest on cutoffs the weights never saw). Once fitted, ``summary`` gives each
    component's weight and the scaling learned for it.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> from analytics.health import HealthScore
    >>> table = snapshots(load_sample())
    >>> health = HealthScore().fit(table)
    >>> health.computed_on
    'fitted on 20,893 client rows at 11 cutoffs, 1,107 churned; weights learned from churn'
    >>> scores = health.score(table)
    >>> scores.columns[:4].tolist()
    ['client_id', 'cutoff', 'score', 'band']
    >>> bool(scores["score"].between(0, 100).all())
    True
    >>> len(health.explain(scores, scores["client_id"].iloc[0]))
    11
    """

    title = "Health score"

    def __init__(self, policy: str | Path | dict | None = None, horizon: str = "90D", label: str = "churned"):
        self.policy = policy
        self.horizon = horizon
        self.label = label

    def __repr__(self) -> str:
        return super().__repr__() if hasattr(self, "weights_") else f"HealthScore(policy={self.policy!r}, horizon={self.horizon!r}, label={self.label!r})"

    @property
    def computed_on(self) -> str:
        return (f"fitted on {self.rows_:,} client rows at {self.cutoffs_:,} cutoffs, {self.churned_:,} {self.label}; "
                f"weights {'learned from churn' if self.learned_ else 'set by the policy'}")

    def _table(self) -> pd.DataFrame:
        return pd.DataFrame({"component": [COMPONENTS[c].label for c in self.components_], "weight": self.weights_.to_numpy(),
                             "most_points": self.weights_.to_numpy() * 100, "typical": self.low_.to_numpy(), "worst_twentieth": self.high_.to_numpy()})

    def plot(self) -> go.Figure:
        return self.weights_plot()

    def _policy(self) -> dict:
        if isinstance(self.policy, dict):
            return self.policy
        with open(self.policy or POLICY, "rb") as file:
            return tomllib.load(file)

    def fit(self, snapshots: pd.DataFrame) -> HealthScore:
        """Learn the scaling (median and 95th percentile) and, unless the policy fixes
        them, the weights, from the rows whose labels are known."""
        policy = self._policy()
        self.thresholds_ = (float(policy["bands"]["healthy"]), float(policy["bands"]["watch"]))
        known = snapshots.loc[~snapshots["censored"].astype(bool)]
        raw = components(known)
        self.components_ = list(raw.columns)
        filled = raw.fillna(0.0)
        self.low_ = filled.median()
        self.high_ = filled.quantile(0.95).where(lambda high: high > self.low_, filled.max())
        scaled = self._scaled(raw)
        if "weights" in policy:
            unknown = set(policy["weights"]) - set(COMPONENTS)
            if unknown:
                raise ValueError(f"unknown health components in the policy: {', '.join(sorted(unknown))}; known: {', '.join(COMPONENTS)}")
            weights = pd.Series({c: float(policy["weights"].get(c, 0.0)) for c in self.components_})
            if (weights < 0).any():
                raise ValueError("health weights must not be negative: a worse component must never raise the score")
            self.learned_ = False
        else:
            weights = pd.Series(_nonnegative_logistic(scaled.to_numpy(), known[self.label].to_numpy(dtype=float)), index=self.components_)
            self.learned_ = True
        if weights.sum() <= 0:
            raise ValueError("no component predicts churn in these snapshots: every weight is zero; set weights in the policy")
        self.weights_ = weights / weights.sum()
        self.rows_, self.cutoffs_, self.churned_ = len(known), int(known["cutoff"].nunique()), int(known[self.label].sum())
        return self

    def _scaled(self, raw: pd.DataFrame) -> pd.DataFrame:
        span = (self.high_ - self.low_).replace(0, np.inf)
        return ((raw.fillna(0.0) - self.low_) / span).clip(0, 1)

    def score(self, snapshots: pd.DataFrame) -> pd.DataFrame:
        """``client_id``, ``cutoff``, ``score``, ``band`` and the points each component
        deducted (``points_<component>``), and each component's value (``value_<component>``),
        which :meth:`explain` and :meth:`movement` read."""
        raw = components(snapshots).reindex(columns=self.components_)
        points = self._scaled(raw) * self.weights_ * 100
        # the arrays as they are: numpy would turn zoned cutoffs into a Timestamp object per row
        result = pd.DataFrame({"client_id": snapshots["client_id"].array, "cutoff": snapshots["cutoff"].array}, index=snapshots.index)
        result["score"] = 100 - points.sum(axis=1)
        healthy, watch = self.thresholds_
        result["band"] = np.select([result["score"] >= healthy, result["score"] >= watch], ["healthy", "watch"], "at_risk")
        return pd.concat([result, points.add_prefix("points_"), raw.add_prefix("value_")], axis=1)

    def explain(self, scores: pd.DataFrame, client_id, cutoff=None) -> pd.DataFrame:
        """Each component of one client's score at ``cutoff`` (default: its latest) among
        ``scores`` (from :meth:`score`): its value, the points it deducted and why."""
        rows = scores.loc[scores["client_id"] == client_id]
        if rows.empty:
            raise KeyError(f"client {client_id!r} is not among the scored snapshots")
        row = rows.loc[pd.to_datetime(rows["cutoff"], utc=True) == utc(cutoff)] if cutoff is not None else rows.sort_values("cutoff").tail(1)
        if row.empty:
            raise KeyError(f"client {client_id!r} has no snapshot at {utc(cutoff):%Y-%m-%d}")
        row = row.iloc[0]
        table = pd.DataFrame([{
            "component": COMPONENTS[c].label,
            "value": "not recorded" if pd.isna(row[f"value_{c}"]) else COMPONENTS[c].unit.format(row[f"value_{c}"]),
            "points": 0.0 - row[f"points_{c}"],  # 0.0 - 0.0 is 0.0, where -0.0 would print as "-0.00"
            "weight": self.weights_[c],
            "why": _why(c, row[f"value_{c}"], row[f"points_{c}"], self.weights_[c], self.low_[c], self.high_[c]),
        } for c in self.components_])
        return table.sort_values("points", kind="stable").reset_index(drop=True)

    def movement(self, scores: pd.DataFrame, top: int = 2) -> pd.DataFrame:
        """Per client and cutoff of ``scores`` (from :meth:`score`): the change in score
        since its previous cutoff and the ``top`` components that moved it most, in points."""
        scores = scores.sort_values(["client_id", "cutoff"])
        points = scores[[f"points_{c}" for c in self.components_]]
        previous = points.groupby(scores["client_id"]).shift()
        moved = -(points - previous)  # a deduction that grew lowers the score
        change = scores["score"] - scores.groupby("client_id")["score"].shift()
        labels = np.array([COMPONENTS[c].label for c in self.components_])
        order = np.argsort(-np.abs(moved.fillna(0).to_numpy()), axis=1)[:, :top]
        values, changed = moved.to_numpy(), change.notna().to_numpy()
        text = [
            "; ".join(f"{labels[j]} {values[i, j]:+.1f}" for j in ranked if abs(values[i, j]) >= 0.05) if changed[i] else ""
            for i, ranked in enumerate(order)
        ]
        return pd.DataFrame({"client_id": scores["client_id"], "cutoff": scores["cutoff"], "score": scores["score"], "change": change, "moved_by": text}).reset_index(drop=True)

    def bands(self, snapshots: pd.DataFrame, min_train_cutoffs: int = 2) -> pd.DataFrame:
        """Each band's observed churn rate when the score was fitted only on earlier
        cutoffs with known labels (a gap of one horizon) and applied to the next."""
        tested = []
        for _, train, test in rolling_origin(snapshots, self.horizon, min_train_cutoffs):
            fitted = HealthScore(self.policy, self.horizon, self.label).fit(snapshots.loc[train])
            scored = fitted.score(snapshots.loc[test])
            tested.append(pd.DataFrame({"band": scored["band"].to_numpy(), "churned": snapshots.loc[test, self.label].to_numpy(dtype=int)}))
        if not tested:
            raise ValueError(f"no cutoff has {min_train_cutoffs} earlier cutoffs with known labels")
        pooled = pd.concat(tested, ignore_index=True)
        rows = []
        for band in BANDS:
            outcome = pooled.loc[pooled["band"] == band, "churned"]
            n, k = len(outcome), int(outcome.sum())
            (low,), (high,) = wilson([k], [n])
            rows.append({"band": band, "rows": n, "churned": k, "churn_rate": k / n if n else np.nan, "low": low, "high": high})
        return pd.DataFrame(rows)

    def weights_plot(self) -> go.Figure:
        shown = self.weights_.sort_values()
        figure = go.Figure(go.Bar(x=shown.to_numpy() * 100, y=[COMPONENTS[c].label for c in shown.index], orientation="h",
                                  hovertemplate="%{y}: up to %{x:.1f} points<extra></extra>"))
        figure.update_layout(title="Most points each component can deduct" + (" (learned from churn)" if self.learned_ else " (policy)"),
                             xaxis_title="points", margin={"l": 280})
        return figure


def _why(component: str, value: float, points: float, weight: float, low: float, high: float) -> str:
    meaning = COMPONENTS[component].why
    unit = COMPONENTS[component].unit
    if pd.isna(value):
        return f"{meaning}: not recorded, so no deduction"
    if weight <= 0:
        return f"{meaning}: {unit.format(value)}; weight 0, because it did not rank clients by churn in this data"
    if points <= 0.005:
        return f"{meaning}: at or better than the typical client ({unit.format(low)}), no deduction"
    share = "the full" if points >= weight * 100 - 0.005 else f"{points / (weight * 100):.0%} of the"
    return f"{meaning}: {unit.format(value)}, against {unit.format(low)} for the typical client and {unit.format(high)} for the worst twentieth; {share} {weight * 100:.1f} points this component can deduct"


def _nonnegative_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Coefficients of a logistic regression with an intercept and coefficients >= 0 (a
    small ridge penalty keeps them stable); the intercept is dropped from the result."""
    n, k = X.shape

    def loss(theta):
        margin = theta[0] + X @ theta[1:]
        p = expit(margin)
        value = np.sum(np.logaddexp(0, margin) - y * margin) + 0.5 * l2 * theta[1:] @ theta[1:]
        gradient = np.concatenate([[np.sum(p - y)], X.T @ (p - y) + l2 * theta[1:]])
        return value, gradient

    start = np.concatenate([[np.log(max(y.mean(), 1e-6) / max(1 - y.mean(), 1e-6))], np.zeros(k)])
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(None, None)] + [(0, None)] * k)
    return result.x[1:]
