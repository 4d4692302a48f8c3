"""Rolling-origin backtest of a churn model over snapshot cutoffs, with bootstrap intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.base import clone

from analytics._stats import check_resamples
from analytics.models._churn import NOT_FEATURES, ChurnModel, fit_by_client
from analytics.results import Result, interval_level

METRICS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (average precision)",
    "brier": "Brier score",
    "ece": "expected calibration error",
    "lift_top_decile": "lift in the top decile",
    "captured_top_decile": "share of churners in the top decile",
}
CALIBRATION_BINS = 10


@dataclass(repr=False)
class Backtest(Result):
    """What a backtest measured: ``predictions`` (one row per client and test cutoff),
    ``per_cutoff`` and ``overall`` metrics, each with a bootstrap interval at ``1 - alpha``.
    ``summary`` is ``overall``.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> from analytics.models import ChurnModel, backtest
    >>> tested = backtest(snapshots(load_sample()), model=ChurnModel(kind="logistic"), bootstrap=20, last=1, alpha=0.1)
    >>> tested.summary.columns.tolist()
    ['metric', 'description', 'value', 'low_90', 'high_90']
    >>> tested.per_cutoff["cutoff"].size, tested.predictions.columns[:3].tolist()
    (1, ['client_id', 'cutoff', 'probability'])
    >>> type(tested.plot()).__name__
    'Figure'
    """

    title = "Backtest of the churn model"

    predictions: pd.DataFrame
    per_cutoff: pd.DataFrame
    overall: pd.DataFrame
    label: str
    alpha: float = 0.05

    def _table(self) -> pd.DataFrame:
        return self.overall

    @property
    def computed_on(self) -> str:
        return (f"tested on {len(self.per_cutoff):,} cutoffs the model never saw: {len(self.predictions):,} client rows, "
                f"{int(self.predictions[self.label].sum()):,} {self.label}")

    def calibration_plot(self) -> go.Figure:
        """Predicted against observed churn, by tenth of predicted risk (all test cutoffs)."""
        bins = _calibration_bins(self.predictions["probability"].to_numpy())
        frame = self.predictions.assign(bin=bins).groupby("bin").agg(predicted=("probability", "mean"), observed=(self.label, "mean"), clients=("probability", "size"))
        top = float(max(frame["predicted"].max(), frame["observed"].max()) * 1.05)
        figure = go.Figure([
            go.Scatter(x=[0, top], y=[0, top], mode="lines", name="perfect calibration", line={"dash": "dot", "color": "grey"}),
            go.Scatter(x=frame["predicted"], y=frame["observed"], mode="lines+markers", name="model", customdata=frame["clients"],
                       hovertemplate="predicted %{x:.1%}<br>observed %{y:.1%}<br>%{customdata:,} rows<extra></extra>"),
        ])
        figure.update_layout(title="Calibration: predicted and observed churn", xaxis_title="predicted probability", yaxis_title="observed churn rate",
                             xaxis_tickformat=".0%", yaxis_tickformat=".0%")
        return figure

    def lift_plot(self) -> go.Figure:
        """Churn rate in each tenth of predicted risk, against the overall rate."""
        decile = CALIBRATION_BINS - _calibration_bins(self.predictions["probability"].to_numpy())  # 1: highest risk
        frame = self.predictions.assign(decile=decile).groupby("decile")[self.label].mean()
        overall = self.predictions[self.label].mean()
        figure = go.Figure([go.Bar(x=frame.index, y=frame / overall, name="lift", hovertemplate="decile %{x}: %{y:.1f}x the average<extra></extra>")])
        figure.add_hline(y=1, line_dash="dot", annotation_text="average")
        figure.update_layout(title="Lift by decile of predicted risk (1 = highest risk)", xaxis_title="decile", yaxis_title="churn rate / average", xaxis_dtick=1)
        return figure

    def metrics_plot(self, metrics=("roc_auc", "pr_auc", "ece")) -> go.Figure:
        """Each metric per test cutoff with its interval."""
        figure = go.Figure()
        for metric in metrics:
            rows = self.per_cutoff
            figure.add_trace(go.Scatter(
                x=rows["cutoff"], y=rows[metric], name=METRICS[metric], mode="lines+markers",
                error_y={"type": "data", "symmetric": False, "array": rows[f"{metric}_high"] - rows[metric], "arrayminus": rows[metric] - rows[f"{metric}_low"]},
            ))
        figure.update_layout(title=f"Backtest metrics per cutoff ({interval_level(self.alpha)}% bootstrap intervals)", xaxis_title="test cutoff",
                             yaxis_title="value")
        return figure

    plot = metrics_plot


def backtest(snapshots: pd.DataFrame, model=None, horizon="90D", label: str = "churned", min_train_cutoffs: int = 2,
             bootstrap: int = 200, random_state: int = 0, last: int | None = None, alpha: float = 0.05) -> Backtest:
    """Train on the past, test on the next cutoff, for every cutoff that has enough past.

    For a test cutoff, the training rows are those of earlier cutoffs whose labels were
    fully known by then: cutoff + ``horizon`` at or before the test cutoff (rows whose own
    horizon runs past the end of the data are never used). Censored test rows are left
    out. Metrics (``METRICS``) come per cutoff and over all test rows pooled, each with an
    interval at ``1 - alpha`` from ``bootstrap`` Poisson-weighted resamples.

    Parameters
    ----------
    snapshots : DataFrame from :func:`analytics.features.snapshots`
    model : a scikit-learn classifier, by default :class:`ChurnModel`; cloned for each cutoff
    min_train_cutoffs : int
        How many earlier cutoffs a test cutoff needs before it is tested.
    last : int, optional
        Test only the ``last`` cutoffs that can be tested (each costs one model fit).

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> tested = backtest(snapshots(load_sample()), bootstrap=20, last=2)
    >>> tested.computed_on
    'tested on 2 cutoffs the model never saw: 3,631 client rows, 182 churned'
    >>> tested.summary.columns.tolist()
    ['metric', 'description', 'value', 'low_95', 'high_95']
    """
    bootstrap = check_resamples(bootstrap)
    model = ChurnModel(random_state=random_state) if model is None else model
    # columns once, copied into contiguous blocks: taking a cutoff's rows from a column selection is ten times slower
    # (built from a dict, which copies once; selecting the columns and then copying costs several times as much)
    features = pd.DataFrame({c: snapshots[c] for c in snapshots.columns if c not in NOT_FEATURES})
    moments = _moments(snapshots)
    rng = np.random.default_rng(random_state)
    predictions, rows = [], []
    testable = [(cutoff, train, test) for cutoff, train, test in rolling_origin(snapshots, horizon, min_train_cutoffs)
                if len(np.unique(snapshots[label].to_numpy()[train])) == 2]
    for cutoff, train, test in testable[-last if last else None:]:
        y, seen = snapshots[label].to_numpy()[train].astype(int), moments[train]
        fitted = fit_by_client(clone(model), features.loc[train], y, snapshots["client_id"].to_numpy()[train])
        y_test = snapshots[label].to_numpy()[test].astype(int)
        probability = fitted.predict_proba(features.loc[test])[:, 1]
        when = pd.Timestamp(cutoff, tz="UTC")
        predictions.append(pd.DataFrame({"client_id": snapshots["client_id"].to_numpy()[test], "cutoff": when, "probability": probability, label: y_test}))
        rows.append({"cutoff": when, "last_train_cutoff": pd.Timestamp(seen.max(), tz="UTC"), "train_rows": len(y), "test_rows": len(y_test), "churners": int(y_test.sum())})
    if not rows:
        raise ValueError(f"no cutoff has {min_train_cutoffs} earlier cutoffs with known labels and both outcomes; pass more cutoffs or a shorter horizon")
    pooled = pd.concat(predictions, ignore_index=True)
    per_cutoff, overall = _with_intervals([(p[label].to_numpy(), p["probability"].to_numpy()) for p in predictions], bootstrap, rng, alpha)
    rows = [row | metrics for row, metrics in zip(rows, per_cutoff, strict=True)]
    overall = pd.DataFrame([
        {"metric": name, "description": METRICS[name], "value": overall[name], "low": overall[f"{name}_low"], "high": overall[f"{name}_high"]}
        for name in METRICS
    ])
    return Backtest(pooled, pd.DataFrame(rows), overall, label, alpha)


def rolling_origin(snapshots: pd.DataFrame, horizon="90D", min_train_cutoffs: int = 2):
    """For each cutoff with enough past, yield ``(cutoff, train, test)``: boolean masks of
    the rows whose labels were fully known by then (cutoff + ``horizon`` at or before it,
    never censored) and of the cutoff's own known rows.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> from analytics.models import rolling_origin
    >>> table = snapshots(load_sample(), cutoffs="QE")
    >>> [(str(cutoff)[:10], int(train.sum()), int(test.sum())) for cutoff, train, test in rolling_origin(table)][:2]
    [('2023-10-01', 4072, 1981), ('2024-01-01', 6053, 1921)]
    """
    horizon = pd.Timedelta(horizon).to_timedelta64()
    moments = _moments(snapshots)
    known = ~snapshots["censored"].astype(bool).to_numpy()
    for cutoff in np.unique(moments):
        train = known & (moments + horizon <= cutoff)
        test = known & (moments == cutoff)
        if len(np.unique(moments[train])) >= min_train_cutoffs and test.any():
            yield cutoff, train, test


def _moments(snapshots: pd.DataFrame) -> np.ndarray:
    """The cutoffs as datetime64 values: comparisons on them create no Timestamp per row."""
    return pd.to_datetime(snapshots["cutoff"], utc=True).dt.tz_convert(None).to_numpy()


def _with_intervals(parts: list[tuple[np.ndarray, np.ndarray]], bootstrap: int, rng, alpha: float = 0.05) -> tuple[list[dict], dict]:
    """Metrics of each part (labels, scores) and of all pooled, with percentile intervals at ``1 - alpha``.

    Each replicate weighs every pooled row by a Poisson(1) draw and the parts reuse their
    slice of it; replicates score probabilities rounded to 4 decimals (ties are handled),
    which keeps each one a few passes over small arrays.
    """
    y, p = np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts])
    bounds = np.cumsum([0] + [len(part[0]) for part in parts])
    slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    points = [_Scores(y[s], p[s]).metrics(np.ones(s.stop - s.start)) for s in [*slices, slice(0, len(y))]]
    scorers = [_Scores(y[s], np.round(p[s], 4)) for s in [*slices, slice(0, len(y))]]
    replicates = [[] for _ in scorers]
    for _ in range(bootstrap):
        w = rng.poisson(1.0, len(y)).astype(float)
        for scorer, s, kept in zip(scorers, [*slices, slice(0, len(y))], replicates, strict=True):
            kept.append(scorer.metrics(w[s]))
    results = []
    for point, kept in zip(points, replicates, strict=True):
        result = dict(point)
        table = pd.DataFrame(kept)
        for name in METRICS:
            low, high = np.nanpercentile(table[name], [50 * alpha, 100 - 50 * alpha]) if bootstrap else (np.nan, np.nan)
            result[f"{name}_low"], result[f"{name}_high"] = low, high
        results.append(result)
    return results[:-1], results[-1]


class _Scores:
    """Every metric for one set of labels and scores, under any row weights: the sorting
    is done once, so each bootstrap replicate costs a few passes over the rows."""

    def __init__(self, y: np.ndarray, p: np.ndarray):
        self.y, self.p = y.astype(float), p
        self.squared_error = (p - self.y) ** 2
        levels, self.level = np.unique(p, return_inverse=True)  # tied scores share a level, ascending
        self.levels = len(levels)
        self.bin = _calibration_bins(p)
        self.top = np.flatnonzero(pd.Series(p).rank(method="first", ascending=False).to_numpy() <= max(1, round(0.1 * len(p))))

    def metrics(self, w: np.ndarray) -> dict:
        wy = w * self.y
        total, churn = w.sum(), wy.sum()
        positive = np.bincount(self.level, wy, minlength=self.levels)
        negative = np.bincount(self.level, w, minlength=self.levels) - positive
        total_negative = total - churn
        below = np.cumsum(negative) - negative
        roc_auc = (positive * (below + 0.5 * negative)).sum() / (churn * total_negative) if churn and total_negative else np.nan
        # average precision: thresholds from the highest score down
        true_positive, predicted = np.cumsum(positive[::-1]), np.cumsum((positive + negative)[::-1])
        precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
        pr_auc = (precision * positive[::-1]).sum() / churn if churn else np.nan
        observed = np.bincount(self.bin, wy, minlength=CALIBRATION_BINS)
        expected = np.bincount(self.bin, w * self.p, minlength=CALIBRATION_BINS)
        top_weight, top_churn = w[self.top].sum(), wy[self.top].sum()
        return {
            "roc_auc": roc_auc,
            "pr_auc": pr_auc,
            "brier": (w @ self.squared_error) / total,
            "ece": np.abs(observed - expected).sum() / total,
            "lift_top_decile": (top_churn / top_weight) / (churn / total) if churn and top_weight else np.nan,
            "captured_top_decile": top_churn / churn if churn else np.nan,
        }


def _calibration_bins(p: np.ndarray) -> np.ndarray:
    """Ten bins of equal size by predicted probability (tied scores may share one)."""
    ranks = pd.Series(p).rank(method="first", pct=True).to_numpy()
    return np.minimum((ranks * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
