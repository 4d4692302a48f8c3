"""Which handling practices work in this business's own data: effects adjusted for
confounding with a doubly robust (AIPW) estimator, next to the naive difference.

EconML and DoWhy would give the same estimator but pin scikit-learn below the version
this project uses; the augmented inverse-propensity-weighted estimate itself is a few
lines on top of scikit-learn's models, cross-fitted so no complaint's nuisance models saw
it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from analytics._charts import as_text
from analytics._stats import check_resamples
from analytics.io import History
from analytics.labels import PRACTICE_WORDS
from analytics.results import Result, interval_level
from analytics.rootcause._outcomes import OUTCOMES, complaint_outcomes
from analytics.schemas import PRACTICES

CONFOUNDERS = ["severity", "trigger", "channel", "team", "segment", "prior_complaints_365"]
CLIP = 0.01  # propensities are clipped to [CLIP, 1 - CLIP] in the weights
OVERLAP = 0.05  # a complaint with a propensity outside [OVERLAP, 1 - OVERLAP] counts as poorly overlapped


class PositivityWarning(UserWarning):
    """Some complaints had (almost) no chance of getting, or of not getting, a practice.

    Examples
    --------
    >>> import warnings
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import PositivityWarning, practice_effects
    >>> history = load_sample()
    >>> history.complaints["apologized"] = history.complaints.index >= 20  # almost every complaint got an apology
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always", PositivityWarning)
    ...     _ = practice_effects(history, outcome="repeat", practices=["apologized"], bootstrap=20)
    >>> any(issubclass(w.category, PositivityWarning) for w in caught)
    True
    """


@dataclass(repr=False)
class PracticeEffects(Result):
    """``table``: one row per practice and outcome with the adjusted effect (AIPW) and the
    naive difference, both in percentage points with bootstrap intervals at ``1 - alpha``,
    the adjusted rates without and with the practice, and the overlap diagnostic.
    ``summary`` is ``table``; ``complaints`` and ``clients``: the history's, before any
    practice or outcome was left unrecorded.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import practice_effects
    >>> effects = practice_effects(load_sample(), outcome="repeat", practices=["root_cause_fixed"], bootstrap=20, alpha=0.1)
    >>> effects.computed_on
    '13,119 complaints of 2,790 clients; 1 practice and outcome pair (repeat)'
    >>> effects.summary.columns.tolist()
    ['practice', 'outcome', 'complaints', 'with_practice', 'rate_without', 'rate_with', 'effect_pts', 'low_90_pts', 'high_90_pts', 'naive_pts', 'naive_low_90_pts', 'naive_high_90_pts', 'propensity_min', 'propensity_max', 'poor_overlap', 'adjusted_for']
    >>> print(effects.sentences("repeat")[0])
    Fixed the root cause: same trigger again within 90 days 23% -> 15% (-8.1 pts, 90% CI -10.0 to -6.5), 10,883 complaints
    """

    title = "Effects of handling practices"

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    complaints: int = 0
    clients: int = 0
    alpha: float = 0.05

    def _table(self) -> pd.DataFrame:
        return self.table

    @property
    def computed_on(self) -> str:
        outcomes = ", ".join(dict.fromkeys(self.table["outcome"])) if len(self.table) else "no outcome"
        return f"{self.complaints:,} complaints of {self.clients:,} clients; {len(self.table):,} practice and outcome pair{'' if len(self.table) == 1 else 's'} ({outcomes})"

    def sentences(self, outcome: str | None = None) -> list[str]:
        """One plain sentence per practice and outcome."""
        rows = self.table if outcome is None else self.table.loc[self.table["outcome"] == outcome]
        level = interval_level(self.alpha)
        return [
            f"{PRACTICE_WORDS[r.practice].capitalize()}: {OUTCOMES[r.outcome]} {r.rate_without:.0%} -> {r.rate_with:.0%} "
            f"({r.effect_pts:+.1f} pts, {level}% CI {r.low_pts:+.1f} to {r.high_pts:+.1f}), {r.complaints:,} complaints"
            + (f"; naive comparison {r.naive_pts:+.1f} pts" if abs(r.naive_pts - r.effect_pts) >= 1 else "")
            + ("; poor overlap, read with care" if r.poor_overlap > OVERLAP else "")
            + (f"; {r.read_from_text} read from text: with the reader's errors, {r.band_low_pts:+.1f} to {r.band_high_pts:+.1f} pts"
               if getattr(r, "read_from_text", "") else "")
            for r in rows.itertuples()
        ]

    def plot(self, outcome: str = "repeat") -> go.Figure:
        """Adjusted and naive effects of each practice on ``outcome``, with intervals."""
        rows = self.table.loc[self.table["outcome"] == outcome].sort_values("effect_pts")
        names = as_text(PRACTICE_WORDS[p] for p in rows["practice"])
        figure = go.Figure()
        for kind, column, low, high, colour in (("adjusted (AIPW)", "effect_pts", "low_pts", "high_pts", "#1f77b4"),
                                                ("naive difference", "naive_pts", "naive_low_pts", "naive_high_pts", "#bbbbbb")):
            figure.add_trace(go.Scatter(
                x=rows[column], y=names, mode="markers", name=kind, marker={"color": colour, "size": 9},
                error_x={"type": "data", "symmetric": False, "array": rows[high] - rows[column], "arrayminus": rows[column] - rows[low]},
                hovertemplate="%{y}: %{x:+.1f} pts<extra>" + kind + "</extra>",
            ))
        figure.add_vline(x=0, line_dash="dot")
        figure.update_layout(title=f"Effect of each practice on: {OUTCOMES[outcome]}", xaxis_title=f"percentage points ({interval_level(self.alpha)}% CI)", margin={"l": 260})
        return figure


def practice_effects(history: History | str | Path, outcome: str | list[str] | None = None, practices=None, bootstrap: int = 200,
                     folds: int = 3, random_state: int = 0, reading: tuple[pd.DataFrame, pd.DataFrame] | None = None,
                     alpha: float = 0.05, engine=None) -> PracticeEffects:
    """The effect of each handling practice on each ``outcome`` ("repeat", "dispute",
    "csat", "churn"; default all the history can give).

    For each practice: complaints where it was recorded are compared with and without
    it, adjusted for severity, trigger, channel, team, the client's segment and its
    complaints in the year before (whichever the history records) by augmented inverse
    propensity weighting with ``folds``-fold cross-fitting (logistic models for the
    propensity and for the outcome). Intervals, at ``1 - alpha``, come from ``bootstrap`` resamples of
    clients (a client's complaints move together). The overlap diagnostic gives the range
    of propensities and the share of complaints outside [0.05, 0.95]; a
    :class:`PositivityWarning` is raised where more than 5% are. ``history``: in memory, or
    a saved history's folder; its outcomes are found by ``engine`` (DuckDB in this process
    unless given; or Spark: see :func:`complaint_outcomes`).

    Where practices were read from agents' replies, or tone from clients' words (see
    :func:`analytics.text.read_handling`), the reader's errors blur the comparison and
    shrink the effect: each row then says what was read and gives a band from the interval
    as measured to the interval corrected for the reader's measured error rates.
    ``reading`` gives them (the practice reader's and the tone reader's accuracy on
    hostility, as :func:`analytics.text.reading_accuracy` measures them on your own
    labelled text); by default they are measured on simulated labelled text.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import practice_effects
    >>> effects = practice_effects(load_sample(), outcome="repeat", practices=["root_cause_fixed", "followed_up"], bootstrap=20)
    >>> row = effects.table.set_index("practice").loc["root_cause_fixed"]
    >>> bool(row["high_pts"] < 0), row["outcome"]
    (True, 'repeat')
    """
    bootstrap = check_resamples(bootstrap)
    outcomes = list(OUTCOMES) if outcome is None else [outcome] if isinstance(outcome, str) else list(outcome)
    frame, notes = complaint_outcomes(history, outcomes, engine)
    asked = list(practices or PRACTICES)
    practices = [p for p in asked if p in frame and frame[p].notna().any()]
    missing = [p for p in asked if p not in practices]
    if missing:
        notes.append(f"Practices not recorded in this history, so not estimated: {', '.join(PRACTICE_WORDS[p] for p in missing)}.")
    confounders = [c for c in CONFOUNDERS if c in frame and frame[c].notna().any()]
    design = _design(frame[confounders])  # encoded once: the models refit on row subsets
    shrink = _shrinking(frame, reading)
    rng = np.random.default_rng(random_state)
    rows = []
    for practice in practices:
        recorded = frame[practice].notna().to_numpy()
        treated_all = frame[practice].fillna(False).astype(bool).to_numpy()
        if treated_all[recorded].all() or not treated_all[recorded].any():
            notes.append(f"{PRACTICE_WORDS[practice]}: every complaint, or none, had it; nothing to compare.")
            continue
        fold = _folds(frame["client_id"].to_numpy(), recorded, folds, random_state)
        propensity_all = _out_of_fold(design, treated_all, fold, recorded)
        for name in outcomes:
            if name not in frame:
                continue
            rows_in = recorded & frame[name].notna().to_numpy()
            data = frame.loc[rows_in]
            treated = treated_all[rows_in]
            if len(data) < 50 or treated.all() or not treated.any():
                notes.append(f"{PRACTICE_WORDS[practice]} on {OUTCOMES[name]}: too few complaints with and without it to compare.")
                continue
            y = data[name].astype(float).to_numpy()
            used = [c for c in confounders if data[c].nunique(dropna=False) > 1]
            propensity = propensity_all[rows_in]
            psi, mu0, mu1 = _aipw(design[rows_in], treated, y, fold[rows_in], propensity)
            clients = pd.factorize(data["client_id"])[0]
            naive = np.where(treated, y / treated.mean(), -y / (1 - treated.mean()))
            (effect, low, high), (naive_effect, naive_low, naive_high) = _cluster_intervals([psi, naive], clients, bootstrap, rng, alpha)
            poor = float(np.mean((propensity < OVERLAP) | (propensity > 1 - OVERLAP)))
            if poor > OVERLAP:
                warnings.warn(f"{PRACTICE_WORDS[practice]} on {OUTCOMES[name]}: {poor:.0%} of complaints had a propensity outside "
                              f"[{OVERLAP}, {1 - OVERLAP}]; the adjusted effect leans on extrapolation", PositivityWarning, stacklevel=2)
            rows.append({
                "practice": practice, "outcome": name, "complaints": len(data), "with_practice": int(treated.sum()),
                "rate_without": float(mu0.mean()), "rate_with": float(mu1.mean()),
                "effect_pts": 100 * effect, "low_pts": 100 * low, "high_pts": 100 * high,
                "naive_pts": 100 * naive_effect, "naive_low_pts": 100 * naive_low, "naive_high_pts": 100 * naive_high,
                "propensity_min": float(propensity.min()), "propensity_max": float(propensity.max()), "poor_overlap": poor,
                "adjusted_for": ", ".join(used),
                **_band(shrink, practice, name, low, high),
            })
    return PracticeEffects(pd.DataFrame(rows), notes, len(frame), int(frame["client_id"].nunique()), alpha)


def _shrinking(frame: pd.DataFrame, reading) -> dict:
    """What was read from text, and how much the readers' errors shrink an effect: per
    practice (read practices) and for hostility (read tone)."""
    practices_read = "practices_read" in frame and bool(frame["practices_read"].fillna(False).any())
    tone_read = "hostility" in frame and "tone_read" in frame and bool(frame["tone_read"].fillna(False).any())
    if not (practices_read or tone_read):
        return {}
    from analytics.text import attenuation, simulated_accuracy

    practice_accuracy, hostile_accuracy = reading if reading is not None else simulated_accuracy()
    return {"practices": attenuation(practice_accuracy, "treatment").to_dict() if practices_read else {},
            "hostility": float(attenuation(hostile_accuracy, "outcome").iloc[0]) if tone_read else None}


def _band(shrink: dict, practice: str, outcome: str, low: float, high: float) -> dict:
    """``read_from_text`` and the band from the interval as measured to the one corrected
    for the readers' errors (in points); empty when nothing was read."""
    if not shrink:
        return {}
    factor, read = 1.0, []
    if practice in shrink["practices"]:
        factor *= shrink["practices"][practice]
        read.append("practice")
    if outcome == "hostility" and shrink["hostility"] is not None:
        factor *= shrink["hostility"]
        read.append("tone")
    corrected = (low / factor, high / factor)
    return {"read_from_text": " and ".join(read), "band_low_pts": 100 * min(low, *corrected), "band_high_pts": 100 * max(high, *corrected)}


def _design(X: pd.DataFrame) -> np.ndarray:
    """Confounders as a numeric matrix: categories one-hot (rare ones pooled), numbers scaled."""
    return _encoder(X).transform(_categories(X))


def _encoder(X: pd.DataFrame) -> ColumnTransformer:
    """The encoding of :func:`_design`, fitted on ``X``, for other rows later (unseen categories: all zeros)."""
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    columns = ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=20, sparse_output=False), categorical),
                                 ("numbers", StandardScaler(), numeric)])
    return columns.fit(_categories(X))


def _categories(X: pd.DataFrame) -> pd.DataFrame:
    return X.astype({c: "object" for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])})


def _folds(clients: np.ndarray, rows: np.ndarray, folds: int, random_state: int) -> np.ndarray:
    """A fold per complaint, whole clients at a time (-1 outside ``rows``)."""
    fold = np.full(len(clients), -1)
    index = np.flatnonzero(rows)
    # integer codes in the ids' sorted order: the same folds as the ids give, without comparing
    # strings (on a million complaints that comparison took six minutes)
    names, groups = np.unique(clients[index], return_inverse=True)
    splitter = GroupKFold(n_splits=min(folds, len(names)), shuffle=True, random_state=random_state)
    for k, (_, test) in enumerate(splitter.split(index, groups=groups)):
        fold[index[test]] = k
    return fold


def _fit_predict(X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    if len(np.unique(y[train])) < 2:  # every outcome the same: predict it
        return np.full(test.sum(), y[train].mean() if train.any() else 0.5)
    model = LogisticRegression(solver="newton-cholesky", max_iter=200).fit(X[train], y[train])
    return model.predict_proba(X[test])[:, 1]


def _out_of_fold(X: np.ndarray, target: np.ndarray, fold: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Propensities for ``rows``, each from a model fitted on the other folds."""
    result = np.full(len(target), np.nan)
    for k in np.unique(fold[rows]):
        test = rows & (fold == k)
        result[test] = _fit_predict(X, target.astype(int), rows & (fold != k), test)
    return result


def _aipw(X: np.ndarray, treated: np.ndarray, y: np.ndarray, fold: np.ndarray, propensity: np.ndarray):
    """Cross-fitted AIPW: each complaint's influence value and its (augmented) predicted
    outcome without and with the practice."""
    mu0, mu1 = np.empty(len(y)), np.empty(len(y))
    for k in np.unique(fold):
        test, train = fold == k, fold != k
        mu0[test] = _fit_predict(X, y, train & ~treated, test)
        mu1[test] = _fit_predict(X, y, train & treated, test)
    e = np.clip(propensity, CLIP, 1 - CLIP)
    psi = mu1 - mu0 + treated * (y - mu1) / e - (~treated) * (y - mu0) / (1 - e)
    return psi, mu0 + (~treated) * (y - mu0) / (1 - e), mu1 + treated * (y - mu1) / e


def _cluster_intervals(values: list[np.ndarray], clusters: np.ndarray, bootstrap: int, rng, alpha: float = 0.05) -> list[tuple[float, float, float]]:
    """Mean of each array and its interval at ``1 - alpha`` from Poisson-weighted resamples of clusters."""
    weights = rng.poisson(1.0, (bootstrap, clusters.max() + 1)).astype(float)
    # a cluster's weight applies to its sum: resamples x clusters, never resamples x rows (2 GB at a million complaints)
    sizes = weights @ np.bincount(clusters, minlength=weights.shape[1])
    results = []
    for v in values:
        replicates = (weights @ np.bincount(clusters, weights=v, minlength=weights.shape[1])) / np.maximum(sizes, 1)
        low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
        results.append((float(v.mean()), float(low), float(high)))
    return results
