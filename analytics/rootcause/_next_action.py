"""Next best action: for a complaint being handled, which practice not yet done would most
cut the chance of a repeat, a dispute or churn in this business's own data, and how sure
that is.

A DR-learner (Kennedy, 2023): each past complaint's cross-fitted doubly robust (AIPW)
score, whose mean is the practice's average effect, is regressed by least squares on what
a team lead sees when handling it (severity, trigger, the client's segment, a renewal
within 90 days). The fitted line is the effect conditional on those features; its
intervals come from the client-clustered sandwich covariance, so a client with many
complaints counts as one client. Subgroup effects (by each modifier, and severity x
trigger) are the mean scores in each subgroup, with the same covariance; a subgroup
differs when the interval of its difference from the average excludes zero, and q-values
(Benjamini-Hochberg) say which differences hold once every subgroup examined is counted.

EconML's DRLearner is this estimator, but EconML pins an older scikit-learn; the
nuisance models are those of :func:`analytics.rootcause.practice_effects`.

Long because the estimator, its modifiers' design and its subgroup tests share one
covariance: split apart, each would need the others' internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import false_discovery_control, norm
from scipy.stats import t as t_dist
from sklearn.linear_model import LogisticRegression

from analytics.io import History
from analytics.labels import PRACTICE_WORDS, value_label
from analytics.rootcause._effects import (
    CONFOUNDERS,
    _aipw,
    _categories,
    _design,
    _encoder,
    _folds,
    _out_of_fold,
)
from analytics.rootcause._outcomes import OUTCOMES, complaint_outcomes
from analytics.tables import write_csv

#: the practices a team lead can still add to a complaint's handling, as an instruction
ADVICE = {
    "followed_up": "Follow up",
    "root_cause_fixed": "Fix the root cause",
    "took_ownership": "Take ownership",
    "offered_options": "Offer options",
    "set_expectations": "Set realistic expectations",
    "moved_private": "Move the conversation to a private channel",
}
RISK_WORDS = {"repeat": "repeat risk", "dispute": "dispute risk", "churn": "churn risk (180 days)", "csat": "chance of CSAT 4 or 5"}
MODIFIERS = ["severity", "trigger", "segment", "near_renewal"]  # what the effect may depend on
#: the groupings subgroup effects are measured in: each modifier alone, then severity x trigger
SUBGROUPS = (("trigger",), ("severity",), ("segment",), ("near_renewal",), ("severity", "trigger"))
MEASURED_COMPLAINTS = 100_000  # a larger history is measured on whole clients holding about this many complaints
MIN_LEVEL = 30  # a modifier's level with fewer complaints is pooled with its reference level
MIN_SUBGROUP = 50  # subgroups with fewer complaints are not estimated
RENEWAL_NEAR_DAYS = 90
PUBLIC_CHANNEL = "social_public"  # only a public complaint can be moved private
NO_BENEFIT = "No practice shows a reliable benefit here"


@dataclass
class _Effect:
    """One practice's conditional effect on one outcome: a line in the modifiers."""

    encoder: _Modifiers
    risk: LogisticRegression  # the outcome's risk without the practice, from the confounders
    coef: np.ndarray
    cov: np.ndarray
    complaints: int
    clients: int
    average: float  # mean DR score: the practice's average effect


@dataclass
class Recommendations:
    """``table``: one row per complaint with the recommended practice, the outcome's risk
    without and with it and the effect's interval, and ``advice`` in words; ``options``:
    every practice not yet done per complaint, with its effect and interval. The intervals
    hold at ``level`` together over the practices compared, so picking the best of them
    does not make a chance benefit look reliable.

    Examples
    --------
    >>> from analytics.rootcause import NextBestAction
    >>> from analytics.sample import simulate
    >>> history, _ = simulate(n_clients=300, random_state=1)
    >>> advice = NextBestAction(outcomes=("repeat",)).fit(history).recommend(history, outcome="repeat")
    >>> advice.outcome, advice.level
    ('repeat', 0.95)
    >>> advice.table.columns.tolist()[:4]
    ['complaint_id', 'client_id', 'opened_at', 'trigger']
    >>> int(advice.counts().sum()) == len(advice.table)
    True
    """

    outcome: str
    level: float
    table: pd.DataFrame
    options: pd.DataFrame

    def counts(self) -> pd.Series:
        """How many complaints each practice is recommended for (none: no reliable benefit)."""
        return self.table["practice"].fillna("none").map(lambda p: ADVICE.get(p, "no reliable benefit")).value_counts()

    def to_csv(self, path) -> Path:
        path = Path(path)
        write_csv(self.table, path)
        return path


@dataclass
class NextBestAction:
    """Conditional effects of handling practices, and recommendations from them.

    Parameters
    ----------
    outcomes : which outcomes to model ("repeat", "dispute", "churn"; see
        :data:`analytics.rootcause.OUTCOMES`); those the history cannot give are noted
    practices : which practices to consider (default: the six of :data:`ADVICE`)
    folds : cross-fitting folds, whole clients at a time
    alpha : 1 - the intervals' level
    subgroups : measure the subgroup effects :meth:`summary` gives (advice alone needs none)

    Examples
    --------
    >>> from analytics.sample import simulate
    >>> history, _ = simulate(n_clients=300, random_state=1)
    >>> nba = NextBestAction(outcomes=("repeat",)).fit(history)
    >>> advice = nba.recommend(history, outcome="repeat")  # the complaints open at the data's end
    >>> advice.table["advice"].str.startswith(("Fix the root cause", "Follow up", "Take ownership", "Set realistic", "No practice")).all()
    np.True_
    """

    outcomes: tuple = ("repeat", "dispute", "churn")
    practices: tuple | None = None
    folds: int = 3
    alpha: float = 0.05
    random_state: int = 0
    subgroups: bool = True
    effects_: dict = field(default_factory=dict, init=False, repr=False)
    subgroups_: pd.DataFrame = field(default=None, init=False, repr=False)
    notes_: list = field(default_factory=list, init=False, repr=False)

    def __repr__(self) -> str:
        if not self.effects_:
            return "NextBestAction(not fitted)"
        fitted = ", ".join(f"{p} on {o}" for p, o in self.effects_)
        first = next(iter(self.effects_.values()))
        return f"NextBestAction(fitted on {first.complaints:,} complaints of {first.clients:,} clients: {fitted})"

    @property
    def level(self) -> float:
        return 1 - self.alpha

    def fit(self, history: History) -> NextBestAction:
        """Fit each practice's conditional effect on each outcome from ``history``'s
        complaints whose outcome is known."""
        frame, notes = complaint_frame(history, list(self.outcomes))
        asked = list(self.practices or ADVICE)
        practices = [p for p in asked if p in frame and frame[p].notna().any()]
        if not practices:
            raise ValueError("The history records none of the handling practices "
                             f"({', '.join(PRACTICE_WORDS[p] for p in asked)}), so their effects cannot be measured.")
        outcomes = [o for o in self.outcomes if o in frame]
        if not outcomes:
            raise ValueError(" ".join(notes) or "The history records none of the outcomes asked for.")
        confounders = [c for c in CONFOUNDERS + ["near_renewal"] if c in frame and frame[c].notna().any()]
        self._design_encoder = _encoder(frame[confounders])
        design = self._design_encoder.transform(_categories(frame[confounders]))
        modifiers = [m for m in MODIFIERS if m in frame and frame[m].nunique() > 1]
        self.effects_, subgroups, self.notes_ = {}, [], list(notes)
        for practice in practices:
            recorded = frame[practice].notna().to_numpy()
            treated_all = frame[practice].fillna(False).astype(bool).to_numpy()
            if treated_all[recorded].all() or not treated_all[recorded].any():
                self.notes_.append(f"{PRACTICE_WORDS[practice]}: every complaint, or none, had it; nothing to compare.")
                continue
            fold = _folds(frame["client_id"].to_numpy(), recorded, self.folds, self.random_state)
            propensity_all = _out_of_fold(design, treated_all, fold, recorded)
            for outcome in outcomes:
                rows = recorded & frame[outcome].notna().to_numpy()
                treated = treated_all[rows]
                if rows.sum() < 100 or treated.sum() < 20 or (~treated).sum() < 20:
                    self.notes_.append(f"{PRACTICE_WORDS[practice]} on {OUTCOMES[outcome]}: too few complaints with and without it.")
                    continue
                y = frame.loc[rows, outcome].astype(float).to_numpy()
                psi, _, _ = _aipw(design[rows], treated, y, fold[rows], propensity_all[rows])
                data = frame.loc[rows]
                clusters = pd.factorize(data["client_id"])[0]
                encoder = _Modifiers(data[modifiers])
                coef, cov = _shrunk(*_clustered_least_squares(encoder.transform(data), psi, clusters), encoder.modifier_of)
                risk = _fit_risk(design[rows][~treated], y[~treated])
                self.effects_[practice, outcome] = _Effect(encoder, risk, coef, cov, int(rows.sum()), int(clusters.max() + 1), float(psi.mean()))
                if self.subgroups:
                    subgroups += [_subgroups(data, psi, clusters, practice, outcome, self.alpha, keys) for keys in SUBGROUPS]
        self.subgroups_ = pd.concat(subgroups, ignore_index=True) if subgroups else pd.DataFrame()
        if len(self.subgroups_):  # many subgroups are examined at once: q-values keep the false discoveries' share in check
            self.subgroups_["q_value"] = false_discovery_control(self.subgroups_["p_value"].to_numpy())
        self._confounders = confounders
        return self

    def effects(self, history: History, complaints=None) -> pd.DataFrame:
        """For ``complaints`` of ``history`` (ids; default all), every fitted practice not
        yet done on each outcome: the outcome's risk without it, the expected change with
        it (percentage points) and its interval. The intervals hold together over the
        practices compared for an outcome (Bonferroni), since advice picks the best of them."""
        self._check_fitted()
        if complaints is not None:  # their clients' histories hold all their features need
            c = history.complaints
            history = history.of_clients(c.loc[c["complaint_id"].isin(pd.Index(complaints)), "client_id"].unique())
        frame, _ = complaint_frame(history, [])
        if complaints is not None:
            frame = frame.loc[frame["complaint_id"].isin(pd.Index(complaints))]
        design = self._design_encoder.transform(_categories(frame[self._confounders]))
        parts = []
        for (practice, outcome), effect in self.effects_.items():
            done = frame[practice].fillna(False).astype(bool).to_numpy() if practice in frame else np.zeros(len(frame), bool)
            possible = ~done
            if practice == "moved_private":
                possible &= (frame["channel"] == PUBLIC_CHANNEL).to_numpy() if "channel" in frame else False
            if not possible.any():
                continue
            rows = frame.loc[possible]
            z = self._z(outcome)
            Z = effect.encoder.transform(rows)
            change = Z @ effect.coef
            se = np.sqrt(np.einsum("ij,jk,ik->i", Z, effect.cov, Z))
            risk = effect.risk.predict_proba(design[possible])[:, 1]
            parts.append(pd.DataFrame({
                "complaint_id": rows["complaint_id"].to_numpy(), "client_id": rows["client_id"].to_numpy(),
                "practice": practice, "outcome": outcome, "risk_without": risk,
                "risk_with": np.clip(risk + change, 0, 1), "effect_pts": 100 * change,
                "low_pts": 100 * (change - z * se), "high_pts": 100 * (change + z * se), "se_pts": 100 * se,
                "average_pts": 100 * effect.average,
            }))
        columns = ["complaint_id", "client_id", "practice", "outcome", "risk_without", "risk_with", "effect_pts", "low_pts", "high_pts",
                   "se_pts", "average_pts"]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    def recommend(self, history: History, complaints=None, outcome: str = "repeat") -> Recommendations:
        """For each of ``complaints`` (ids; default: the complaints still open at the data's
        end), the practice not yet done with the largest expected cut in ``outcome``, and
        whether it is ``reliable``: its whole interval shows a benefit. When none is, the
        advice says no practice shows a reliable benefit and names the best guess."""
        self._check_fitted()
        if not any(o == outcome for _, o in self.effects_):
            raise ValueError(f"No practice effect on {OUTCOMES.get(outcome, outcome)!r} was fitted; fitted: "
                             f"{', '.join(sorted({o for _, o in self.effects_}))}.")
        c = history.complaints
        if complaints is None:
            complaints = c.loc[open_complaints(c), "complaint_id"]
        chosen = c.loc[c["complaint_id"].isin(pd.Index(complaints)), ["complaint_id", "client_id"]
                       + [k for k in ("opened_at", "trigger", "severity") if k in c]]
        options = self.effects(history, chosen["complaint_id"])
        options = options.loc[options["outcome"] == outcome].reset_index(drop=True)
        options["reliable"] = options["high_pts"] < 0
        best = _choose(options.loc[options["effect_pts"] < 0], self._z(outcome))
        table = chosen.join(best.drop(columns=["client_id", "outcome"]), on="complaint_id")
        table["reliable"] = table["reliable"].astype("boolean").fillna(False).astype(bool)
        table["advice"] = [_advice(r, outcome, self.level) for r in table.itertuples()]
        return Recommendations(outcome, self.level, table.reset_index(drop=True), options)

    def _z(self, outcome: str) -> float:
        """The normal quantile of intervals held together over the practices compared on ``outcome``."""
        compared = sum(o == outcome for _, o in self.effects_)
        return float(norm.ppf(1 - self.alpha / (2 * max(compared, 1))))

    def summary(self) -> pd.DataFrame:
        """Subgroup effects per practice and outcome, in percentage points, grouped ``by``
        trigger, severity, segment, renewal nearness, and severity x trigger; whether each
        ``differs`` from the practice's average at this level, its ``p_value`` and its
        ``q_value`` over every subgroup examined (Benjamini-Hochberg)."""
        self._check_fitted()
        if not self.subgroups:
            raise ValueError("This NextBestAction was fitted with subgroups=False: fit it with subgroups=True for subgroup effects.")
        return self.subgroups_

    def uplift(self, history: History, practice: str, outcome: str = "repeat", complaints=None, points: int = 20) -> pd.DataFrame:
        """How much of ``outcome`` the practice prevents when given first to the complaints
        this model ranks highest, judged on ``complaints`` of ``history`` (ids; default all:
        pass ones it did not see, e.g. later ones) with doubly robust scores fitted on them:
        per share of complaints treated, the cut in the outcome per 100 complaints, against
        the same share picked at random."""
        self._check_fitted()
        frame, _ = complaint_frame(history, [outcome])
        if complaints is not None:
            frame = frame.loc[frame["complaint_id"].isin(pd.Index(complaints))]
        rows = frame[practice].notna() & frame[outcome].notna() if practice in frame and outcome in frame else None
        if rows is None or rows.sum() < 100:
            raise ValueError(f"{history!r} has too few complaints recording {PRACTICE_WORDS.get(practice, practice)} and "
                             f"{OUTCOMES.get(outcome, outcome)} to judge the ranking.")
        frame = frame.loc[rows].reset_index(drop=True)
        confounders = [c for c in self._confounders if c in frame]
        design = _design(frame[confounders])
        treated = frame[practice].astype(bool).to_numpy()
        fold = _folds(frame["client_id"].to_numpy(), np.ones(len(frame), bool), self.folds, self.random_state)
        propensity = _out_of_fold(design, treated, fold, np.ones(len(frame), bool))
        psi, _, _ = _aipw(design, treated, frame[outcome].astype(float).to_numpy(), fold, propensity)
        effect = self._effect(practice, outcome)
        predicted = effect.encoder.transform(frame) @ effect.coef
        order = np.argsort(predicted, kind="stable")  # the largest predicted cut first
        shares = np.linspace(0, 1, points + 1)
        counts = np.round(shares * len(order)).astype(int)
        cumulative = np.concatenate([[0.0], np.cumsum(-psi[order])])
        return pd.DataFrame({"share_treated": shares, "prevented_per_100_model": 100 * cumulative[counts] / len(order),
                             "prevented_per_100_random": 100 * shares * -psi.mean()})

    def _effect(self, practice: str, outcome: str) -> _Effect:
        if (practice, outcome) not in self.effects_:
            raise ValueError(f"No effect of {PRACTICE_WORDS.get(practice, practice)} on {OUTCOMES.get(outcome, outcome)} was fitted.")
        return self.effects_[practice, outcome]

    def _check_fitted(self) -> None:
        if not self.effects_:
            raise ValueError("This NextBestAction is not fitted (or no practice could be measured): call fit(history) first. "
                             + " ".join(self.notes_))


def complaint_frame(history: History, outcomes: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """One row per complaint: confounders, modifiers, practices and ``outcomes``."""
    frame, notes = complaint_outcomes(history, outcomes)
    c, clients = history.complaints, history.clients.set_index("client_id")
    if "contract_start" in clients:
        opened = pd.to_datetime(c["opened_at"], utc=True)
        started = pd.to_datetime(c["client_id"].map(clients["contract_start"]), utc=True)
        days_in = (opened - started).dt.days
        # renewals fall on the contract start's anniversaries, as in the snapshots
        near = (days_in >= 0) & (365 - days_in % 365 <= RENEWAL_NEAR_DAYS)
        frame["near_renewal"] = near.where(days_in.notna()).astype("boolean").astype("string").fillna("not recorded")
    return frame, notes


def open_complaints(complaints: pd.DataFrame) -> pd.Series:
    """Complaints neither resolved nor closed.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.rootcause import open_complaints
    >>> complaints = pd.DataFrame({"resolved_at": [pd.Timestamp("2025-01-02"), None, None], "closed_at": [None, pd.Timestamp("2025-01-03"), None]})
    >>> open_complaints(complaints).tolist()
    [False, False, True]
    """
    waiting = pd.Series(True, index=complaints.index)
    for column in ("resolved_at", "closed_at"):
        if column in complaints:
            waiting &= complaints[column].isna()
    return waiting


class _Modifiers:
    """An intercept and one indicator per modifier level beyond the most common one; rare
    and unseen levels count as the most common."""

    def __init__(self, X: pd.DataFrame):
        X = _levels(X)
        self.columns = list(X.columns)
        self.levels = {}
        for column in self.columns:
            counts = X[column].value_counts()
            self.levels[column] = [level for level in counts.index[1:] if counts[level] >= MIN_LEVEL]
        self.means = self._indicators(X).mean(axis=0)
        self.modifier_of = np.array([c for c in self.columns for _ in self.levels[c]], dtype=object)  # per departure

    def _indicators(self, X: pd.DataFrame) -> np.ndarray:
        parts = [(X[c].to_numpy()[:, None] == np.array(self.levels[c], dtype=object)[None, :]).astype(float)
                 for c in self.columns if self.levels[c]]
        return np.hstack(parts) if parts else np.zeros((len(X), 0))

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The intercept, then each indicator less its mean in the fitted complaints: the
        intercept is then the average effect and the rest are departures from it."""
        X = _levels(frame[self.columns])
        return np.hstack([np.ones((len(X), 1)), self._indicators(X) - self.means])


def _levels(X: pd.DataFrame) -> pd.DataFrame:
    return X.astype("string").fillna("not recorded").astype(object)


def _clustered_least_squares(Z: np.ndarray, y: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares with the client-clustered sandwich covariance (CR1)."""
    bread = np.linalg.pinv(Z.T @ Z)
    coef = bread @ (Z.T @ y)
    residual = y - Z @ coef
    present, index = np.unique(clusters, return_inverse=True)
    groups = len(present)
    membership = sparse.csr_matrix((np.ones(len(index)), (index, np.arange(len(index)))), shape=(groups, len(index)))
    scores = membership @ (Z * residual[:, None])  # each client's summed score
    n, k = Z.shape
    correction = groups / max(groups - 1, 1) * (n - 1) / max(n - k, 1)
    return coef, correction * bread @ (scores.T @ scores) @ bread


def _shrunk(coef: np.ndarray, cov: np.ndarray, modifier_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Departures from the average effect shrunk towards it, each by tau2 / (tau2 + its
    variance), where tau2 is the spread of its modifier's departures beyond sampling noise
    (method of moments): where the effect does not vary with a modifier, every level gets
    the average, rather than noise ranking practices against each other."""
    departures, variance = coef[1:], np.diag(cov)[1:]
    factor = np.ones(len(coef))
    for modifier in pd.unique(modifier_of):
        mine = modifier_of == modifier
        tau2 = max(0.0, float(np.mean(departures[mine] ** 2 - variance[mine])))
        factor[1:][mine] = tau2 / (tau2 + variance[mine])
    return coef * factor, cov * np.outer(factor, factor)


def _subgroups(data: pd.DataFrame, psi: np.ndarray, clusters: np.ndarray, practice: str, outcome: str, alpha: float,
               keys: tuple) -> pd.DataFrame:
    """Mean DR score per subgroup of ``keys`` (e.g. severity x trigger), with intervals,
    and its difference from the average over every complaint."""
    if not all(k in data and data[k].nunique() > 1 for k in keys):
        return pd.DataFrame()
    keys = list(keys)
    parts = [data[k].astype("string").fillna("not recorded") for k in keys]
    labels = parts[0].str.cat(parts[1:], sep=" / ").to_numpy(dtype=object) if len(parts) > 1 else parts[0].to_numpy(dtype=object)
    names, group = np.unique(labels, return_inverse=True)
    Z = np.eye(len(names))[group]
    coef, cov = _clustered_least_squares(Z, psi, clusters)
    sizes = np.bincount(group, minlength=len(names))
    weights = sizes / sizes.sum()
    rows = []
    for g, name in enumerate(names):
        if sizes[g] < MIN_SUBGROUP:
            continue
        # a subgroup's interval rests on its own clients: Student's t with their number less one
        freedom = max(len(np.unique(clusters[group == g])) - 1, 1)
        z = t_dist.ppf(1 - alpha / 2, freedom)
        contrast = -weights.copy()
        contrast[g] += 1
        se, se_diff = np.sqrt(cov[g, g]), np.sqrt(contrast @ cov @ contrast)
        difference = coef[g] - weights @ coef
        values = dict(zip(keys, data.loc[group == g, keys].iloc[0], strict=True))
        rows.append({"practice": practice, "outcome": outcome, "by": " x ".join(keys), **values, "subgroup": name, "complaints": int(sizes[g]),
                     "effect_pts": 100 * coef[g], "low_pts": 100 * (coef[g] - z * se), "high_pts": 100 * (coef[g] + z * se),
                     "difference_pts": 100 * difference, "differs": bool(abs(difference) > z * se_diff),
                     "p_value": float(2 * t_dist.sf(abs(difference) / se_diff, freedom)) if se_diff > 0 else 1.0})
    return pd.DataFrame(rows)


def _fit_risk(X: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(solver="newton-cholesky", max_iter=200).fit(X, y.astype(int))


def _choose(options: pd.DataFrame, z: float) -> pd.DataFrame:
    """Per complaint, the practice that helps most on average here, unless another one's
    effect for this complaint is better by more than the noise in the two (``z`` standard
    errors of their difference): a ranking of noisy conditional effects alone would often
    swap a practice that works for one that merely looks better in a small subgroup."""
    if options.empty:
        return options.set_index("complaint_id")
    by_average = options.sort_values(["complaint_id", "average_pts", "practice"]).drop_duplicates("complaint_id").set_index("complaint_id")
    by_effect = options.sort_values(["complaint_id", "effect_pts", "practice"]).drop_duplicates("complaint_id").set_index("complaint_id")
    default, challenger = by_average, by_effect.loc[by_average.index]
    noise = np.sqrt(default["se_pts"] ** 2 + challenger["se_pts"] ** 2)
    better = challenger["effect_pts"] + z * noise < default["effect_pts"]
    return challenger.where(better, default, axis=0)


def _advice(row, outcome: str, level: float) -> str:
    if not isinstance(row.practice, str):
        return NO_BENEFIT
    interval = f"{row.effect_pts:+.1f} pts, {level:.0%} CI {row.low_pts:+.1f} to {row.high_pts:+.1f}"
    if row.reliable:
        return f"{ADVICE[row.practice]}: {RISK_WORDS[outcome]} {row.risk_without:.0%} → {row.risk_with:.0%} ({interval})"
    return f"{NO_BENEFIT} (best guess: {ADVICE[row.practice].lower()}, {interval})"


def subgroup_label(by: str, subgroup: str) -> str:
    """A subgroup in words: ('severity x trigger', '3 / technical_failure') is
    'severity 3, technical failure'."""
    words = {"severity": lambda v: f"severity {v}", "near_renewal": lambda v: {"True": "renewal within 90 days",
             "False": "renewal further off"}.get(v, "renewal date not recorded")}
    parts = [words.get(key, value_label)(value) for key, value in zip(by.split(" x "), subgroup.split(" / "), strict=True)]
    return ", ".join(parts)
