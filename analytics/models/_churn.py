"""Churn risk: a calibrated classifier for any client table, with additive drivers.

Long because it is one estimator: the capacity search, the calibration and the drivers
are methods that share the fitted state. The folds live in ``_folds``, saving and the
model card in ``_persist``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from analytics.labels import describe
from analytics.models._folds import FoldMatrices, cv_folds, fewer_stayers
from analytics.models._persist import card_sections, load_model, save_model

#: snapshot columns that identify a row or are labels: never features
NOT_FEATURES = ("client_id", "cutoff", "churned", "ended_by_us", "censored")
KINDS = ("auto", "boosting", "logistic")
#: boosted-tree shapes the cross-validation compares, (max_depth, min_child_weight):
#: from near-additive stumps to deep trees that can use strong interactions
SHAPES = ((2, 1.0), (3, 10.0), (4, 20.0), (6, 1.0), (8, 5.0))
#: learning rates: the first for every shape, the second tried on the best shape
LEARNING_RATES = (0.1, 0.05)



def training_data(snapshots: pd.DataFrame, label: str = "churned", include_censored: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """Features and label from a snapshot table. Rows whose horizon runs past the end of
    the data are left out unless ``include_censored``: their label is not known yet.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.models import training_data
    >>> from analytics.features import snapshots
    >>> table = snapshots(load_sample(), cutoffs=["2025-01-01", "2025-07-01"])
    >>> X, y = training_data(table)
    >>> len(table), len(X), int(y.sum())
    (3659, 3659, 179)
    >>> "cutoff" in X, "complaints_90" in X
    (False, True)
    """
    rows = snapshots if include_censored else snapshots.loc[~snapshots["censored"].astype(bool)]
    return rows.drop(columns=[c for c in NOT_FEATURES if c in rows]), rows[label].astype(int)


class ChurnModel(ClassifierMixin, BaseEstimator):
    """The probability that a client churns, from any table of client features.

    Numeric, boolean and categorical columns (text or ``category``) are used as they are,
    missing values included; date columns and identifier-like text columns (a different
    value on every row) are left out (``dropped_columns_`` says which).

    The model chooses its capacity from the data: every setting left as None is chosen by
    stratified ``cv``-fold cross-validation on the training rows (grouped by client when
    ``groups`` are given), among boosted trees of several shapes (:data:`SHAPES`) and a
    logistic regression, by ROC AUC; boosting stops early inside each fold. The
    probabilities are calibrated on the out-of-fold predictions of the chosen settings
    (Platt scaling of the log-odds, which keeps the drivers additive), so no rows are held
    out; then the model is refitted on all rows.

    Parameters
    ----------
    kind : "auto", "boosting" or "logistic"
        ``boosting``: gradient-boosted trees on histograms with native categorical splits
        (XGBoost). ``logistic``: an L2-regularised logistic regression on standardised
        numbers and one-hot categories. ``auto``: whichever cross-validates better.
    max_depth, min_child_weight, learning_rate : number or None
        Boosting settings; None: chosen by cross-validation.
    n_estimators : int
        The most trees; how many are used is chosen by early stopping in the folds.
    reg_lambda, max_bin
        L2 penalty on leaf weights; histogram bins per feature.
    C : float
        Inverse regularisation strength of the logistic regression.
    cv : int
        Folds of the cross-validation.
    search_rows : int or None
        The cross-validation uses at most this many training rows, drawn at random (the
        refit uses them all): choosing settings needs far fewer rows than fitting.
    early_stopping_rounds : int
        Inside a fold, boosting stops once this many trees in a row have not improved the
        log-loss on the fold's held-out rows.
    max_train_rows : int or None
        Above this many rows, the refit keeps every churner and a sample of the clients
        who stayed, weighted up by the inverse of the share kept: ranking barely suffers,
        fitting is much faster, and the probabilities keep their scale.
    random_state : int

    Attributes
    ----------
    estimator_ : the fitted XGBoost classifier or logistic pipeline
    best_params_ : dict, the settings chosen (with ``n_estimators`` the trees used)
    cv_results_ : list of dicts, each candidate's settings and fold ROC AUC (mean, sd)
    calibration_ : tuple (slope, intercept) applied to the model's log-odds
    transformed_mean_ : logistic only: training mean of each transformed column
    feature_names_in_, categories_, dropped_columns_

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> from analytics.models import ChurnModel, training_data
    >>> table = snapshots(load_sample(), cutoffs=["2024-07-01", "2025-01-01"])
    >>> X, y = training_data(table)
    >>> model = ChurnModel(kind="logistic").fit(X, y)
    >>> model.best_params_["kind"], model.classes_.tolist()
    ('logistic', [0, 1])
    >>> risk = model.predict_proba(X)[:, 1]
    >>> bool(0 < risk.min() < risk.max() < 1), round(float(risk.mean()), 2) == round(float(y.mean()), 2)
    (True, True)
    """

    def __init__(
        self,
        kind: str = "auto",
        n_estimators: int = 2000,
        learning_rate: float | None = None,
        max_depth: int | None = None,
        min_child_weight: float | None = None,
        reg_lambda: float = 1.0,
        max_bin: int = 256,
        C: float = 1.0,
        cv: int = 3,
        search_rows: int | None = 10_000,
        early_stopping_rounds: int = 20,
        max_train_rows: int | None = 100_000,
        random_state: int = 0,
    ):
        self.kind = kind
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.C = C
        self.cv = cv
        self.search_rows = search_rows
        self.early_stopping_rounds = early_stopping_rounds
        self.max_train_rows = max_train_rows
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are kept: boosting and the imputer handle them
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y, groups=None) -> ChurnModel:
        """Choose the settings, calibrate on out-of-fold predictions, refit on all rows.
        ``groups`` (e.g. client ids, one per row) keep a group's rows in one fold."""
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if y is None:
            raise ValueError("ChurnModel requires y to be passed, but the target y is None")
        X = _table(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        if len(X) == 0:
            raise ValueError("Found a table with no rows: churn needs training rows with both outcomes")
        if X.shape[1] == 0:
            raise ValueError(f"Found a table with 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")
        check_classification_targets(y)
        if type_of_target(y) == "multiclass":
            raise ValueError(f"Only binary classification is supported: churn is one yes/no outcome per row, and y holds {len(np.unique(y))} values")
        self.classes_, y = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"churn needs two classes, both outcomes, in the training rows; got one class: {self.classes_.tolist()}")
        self._learn_columns(X)
        rng = np.random.default_rng(self.random_state)
        searched = self._search(X, y, groups, rng)
        stopping = self._stopping_rows(y, rng)
        train, weight = fewer_stayers(~stopping, y, self.max_train_rows, rng)
        rows = self._prepare(X.loc[train])  # only the rows used: sampling comes first
        if stopping.any():  # a large table: as many trees as the held-back rows want
            watched = [(self._prepare(X.loc[stopping]), y[stopping])]
            self.estimator_ = self._estimator(dict(self.best_params_, n_estimators=self.n_estimators), early_stopping=True)
            self.estimator_.fit(rows, y[train], sample_weight=weight[train], eval_set=watched, verbose=False)
            self.best_params_["n_estimators"] = int(self.estimator_.best_iteration + 1)
            searched = (self._margin(watched[0][0]), y[stopping])
        elif self.best_params_["kind"] == "boosting":
            self.estimator_ = self._estimator(self.best_params_).fit(rows, y[train], sample_weight=weight[train])
        else:
            self.estimator_ = self._estimator(self.best_params_).fit(rows, y[train], logisticregression__sample_weight=weight[train])
            self.transformed_mean_ = np.average(_dense(self.estimator_[0].transform(rows)), axis=0, weights=weight[train])
        if searched is None:  # too few rows of an outcome to cross-validate: calibrate in sample
            searched = (self._margin(rows), y[train])
        margin, outcome = searched
        platt = LogisticRegression(C=1e6).fit(margin[:, None], outcome)
        self.calibration_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        return self

    def _stopping_rows(self, y: np.ndarray, rng) -> np.ndarray:
        """Rows held back to stop boosting and calibrate when the table is larger than the
        search used: the trees the cross-validation chose for a sample would underfit it.
        None held back (all False) for small tables, logistic models and rare outcomes."""
        none = np.zeros(len(y), bool)
        if self.best_params_["kind"] != "boosting" or self.search_rows is None or len(y) <= 2 * self.search_rows:
            return none
        held = np.zeros(len(y), bool)
        held[rng.choice(len(y), self.search_rows, replace=False)] = True
        return held if len(np.unique(y[held])) == 2 else none

    def _candidates(self) -> list[dict]:
        """The settings to compare: every combination the fixed parameters allow."""
        candidates = []
        if self.kind in ("auto", "boosting"):
            shapes = [(d, w) for d, w in SHAPES if self.max_depth in (None, d) and self.min_child_weight in (None, w)]
            if not shapes:
                shapes = [(self.max_depth or 4, self.min_child_weight if self.min_child_weight is not None else 1.0)]
            rate = self.learning_rate or LEARNING_RATES[0]
            candidates += [{"kind": "boosting", "max_depth": d, "min_child_weight": float(w), "learning_rate": rate} for d, w in shapes]
        if self.kind in ("auto", "logistic"):
            candidates.append({"kind": "logistic", "C": self.C})
        return candidates

    def _search(self, X: pd.DataFrame, y: np.ndarray, groups, rng) -> tuple[np.ndarray, np.ndarray] | None:
        """Cross-validate the candidates, set ``best_params_`` and ``cv_results_``, and
        return the chosen settings' out-of-fold log-odds with their outcomes (None and a
        default when an outcome has fewer rows than folds)."""
        rows = np.arange(len(y))
        if self.search_rows is not None and len(rows) > self.search_rows:
            rows = np.sort(rng.choice(rows, self.search_rows, replace=False))
        folds = cv_folds(y[rows], None if groups is None else np.asarray(groups)[rows], self.cv, self.random_state)
        candidates = self._candidates()
        if folds is None:
            self.best_params_, self.cv_results_ = dict(candidates[0], n_estimators=min(self.n_estimators, 100)), []
            return None
        prepared, outcome = self._prepare(X.iloc[rows]), y[rows]
        # the column lookup built and each fold's rows taken here, before the threads: pandas
        # builds a table's lookups lazily, and two threads building one at once fail at random
        for column in prepared.columns:
            prepared.columns.get_loc(column)
        prepared = [(prepared.iloc[fit_rows], prepared.iloc[held]) for fit_rows, held in folds]
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # a fold model a core
            trees = FoldMatrices(prepared, outcome, folds, self.max_bin, pool) if any(c["kind"] == "boosting" for c in candidates) else None
            results = self._cross_validate(candidates, prepared, outcome, folds, trees, pool)
            best = max(range(len(results)), key=lambda i: results[i][0]["auc"])
            if results[best][0]["kind"] == "boosting" and self.learning_rate is None:  # a slower rate on the best shape
                slower = dict(candidates[best], learning_rate=LEARNING_RATES[1])
                results += self._cross_validate([slower], prepared, outcome, folds, trees, pool)
                best = best if results[best][0]["auc"] >= results[-1][0]["auc"] else len(results) - 1
        self.cv_results_ = [result for result, _ in results]
        self.best_params_ = {k: v for k, v in self.cv_results_[best].items() if k not in ("auc", "auc_sd")}
        return results[best][1], outcome

    def _cross_validate(self, candidates: list[dict], prepared: list[tuple[pd.DataFrame, pd.DataFrame]], y: np.ndarray, folds, trees,
                        pool) -> list[tuple[dict, np.ndarray]]:
        """Fold ROC AUC of each candidate (mean and sd) and its out-of-fold log-odds; every
        (candidate, fold) pair is one task, so both cores stay busy. ``prepared``: each
        fold's rows to fit on and held out."""

        def fit(task):
            params, (fit_rows, held), k = task
            if params["kind"] == "boosting":
                return trees.fit(k, self._booster_params(params), self.n_estimators, self.early_stopping_rounds)
            return self._estimator(params).fit(prepared[k][0], y[fit_rows]).decision_function(prepared[k][1]), None

        fitted = iter(pool.map(fit, [(params, fold, k) for params in candidates for k, fold in enumerate(folds)]))
        results = []
        for params in candidates:
            margin, used = np.empty(len(y)), []
            for _, held in folds:
                margin[held], trees_used = next(fitted)
                used.append(trees_used)
            scores = [roc_auc_score(y[held], margin[held]) for _, held in folds]
            result = dict(params, auc=float(np.mean(scores)), auc_sd=float(np.std(scores)))
            if params["kind"] == "boosting":  # the refit sees a fold more rows than each fold model did
                result["n_estimators"] = int(np.ceil(np.mean(used) * len(folds) / (len(folds) - 1)))
            results.append((result, margin))
        return results

    def _tree_settings(self, params: dict) -> dict:
        """A boosting candidate's settings, in names both XGBoost's training function and
        its scikit-learn classifier take: the folds and the refit grow the same trees."""
        return {
            "learning_rate": params["learning_rate"], "max_depth": params["max_depth"], "min_child_weight": params["min_child_weight"],
            "reg_lambda": self.reg_lambda, "subsample": 0.8, "colsample_bytree": 0.8, "tree_method": "hist", "max_bin": self.max_bin,
            "max_cat_to_onehot": 1, "eval_metric": "logloss",
        }

    def _booster_params(self, params: dict) -> dict:
        """The settings for a fold's booster: folds run side by side, a core each."""
        return self._tree_settings(params) | {"objective": "binary:logistic", "nthread": 1, "seed": self.random_state}

    def _estimator(self, params: dict, early_stopping: bool = False):
        if params["kind"] == "boosting":
            from xgboost import XGBClassifier

            return XGBClassifier(
                n_estimators=params["n_estimators"], enable_categorical=True, random_state=self.random_state, n_jobs=None,
                early_stopping_rounds=self.early_stopping_rounds if early_stopping else None, **self._tree_settings(params),
            )
        numeric = [c for c in self.feature_names_in_ if c not in self.categories_]
        columns = ColumnTransformer(
            [
                ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()), numeric),
                ("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=20), list(self.categories_)),
            ],
            verbose_feature_names_out=False,
        )
        return make_pipeline(columns, LogisticRegression(C=params["C"], solver="newton-cholesky", max_iter=200))  # a few Newton steps: fast for a few hundred columns

    def _learn_columns(self, X: pd.DataFrame) -> None:
        self.dropped_columns_ = []
        self.categories_ = {}
        for column in X.columns:
            values = X[column]
            if pd.api.types.is_datetime64_any_dtype(values) or str(values.dtype).startswith("timestamp"):
                self.dropped_columns_.append(column)
            elif _is_text(values):
                levels = values.dropna().astype(str)
                if len(levels) > 50 and levels.nunique() > 0.5 * len(levels):
                    self.dropped_columns_.append(column)  # an identifier, not a category
                else:
                    self.categories_[column] = sorted(levels.unique())
        self.feature_names_in_ = np.array([c for c in X.columns if c not in self.dropped_columns_], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """Numbers as one float64 block (NaN for missing), then the categories with the
        levels seen in training (unseen levels become missing)."""
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"the table lacks columns the model was trained on: {', '.join(missing)}")
        numeric = [c for c in self.feature_names_in_ if c not in self.categories_]
        numbers = np.empty((len(X), len(numeric)), order="F")  # one block: no copying to consolidate
        for j, column in enumerate(numeric):
            numbers[:, j] = pd.to_numeric(X[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        prepared = pd.DataFrame(numbers, index=X.index, columns=numeric, copy=False)
        for column, levels in self.categories_.items():
            prepared[column] = X[column].astype("string").astype(pd.CategoricalDtype(levels)).array
        return prepared

    # ------------------------------------------------------------------ predicting
    def _margin(self, prepared: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model's log-odds."""
        if self.best_params_["kind"] == "boosting":
            return self.estimator_.predict(prepared, output_margin=True).astype(np.float64)
        return self.estimator_.decision_function(prepared)

    def decision_function(self, X) -> np.ndarray:
        """Calibrated log-odds of churn."""
        check_is_fitted(self, "estimator_")
        slope, intercept = self.calibration_
        return slope * self._margin(self._prepare(_table(X, self.n_features_in_ + len(self.dropped_columns_)))) + intercept

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        churns = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[churns.astype(int)]

    # ------------------------------------------------------------------ explaining
    def drivers(self, X, exact: bool = False) -> pd.DataFrame:
        """Each feature's contribution to each client's churn probability, in probability
        points, and ``baseline``: ``baseline`` plus the contributions is the probability.

        Trees are explained by path attribution (what each split on the client's path adds
        to the log-odds; Saabas), which is exact in sum and fast enough for every client;
        ``exact=True`` gives TreeSHAP values instead (about 60 times slower). The logistic
        model's contributions are its coefficients times the standardised deviations from
        the training mean. Log-odds contributions become probability points in proportion,
        so they add up to the probability exactly.
        """
        check_is_fitted(self, "estimator_")
        prepared = self._prepare(pd.DataFrame(X))
        slope, intercept = self.calibration_
        contributions, bias = self._log_odds_contributions(prepared, exact)
        contributions, bias = slope * contributions, slope * bias + intercept
        total = bias + contributions.sum(axis=1)
        probability, baseline = expit(total), expit(bias)
        gap = total - bias
        scale = np.divide(probability - baseline, gap, out=np.zeros_like(gap), where=np.abs(gap) > 1e-12)
        points = pd.DataFrame(contributions * scale[:, None], index=prepared.index, columns=prepared.columns)
        points.insert(0, "baseline", baseline)
        return points

    def _log_odds_contributions(self, prepared: pd.DataFrame, exact: bool) -> tuple[np.ndarray, np.ndarray]:
        if self.best_params_["kind"] == "boosting":
            from xgboost import DMatrix

            matrix = DMatrix(prepared, enable_categorical=True)
            trees = (0, self.best_params_["n_estimators"])  # stopped early: the trees after the best are not used
            values = self.estimator_.get_booster().predict(matrix, pred_contribs=True, approx_contribs=not exact, iteration_range=trees).astype(np.float64)
            return values[:, :-1], values[:, -1]
        columns, logistic = self.estimator_[0], self.estimator_[-1]
        transformed = _dense(columns.transform(prepared))
        centred = transformed - self.transformed_mean_
        terms = centred * logistic.coef_[0]
        names = columns.get_feature_names_out()
        owner = [_owner(name, self.feature_names_in_, self.categories_) for name in names]
        contributions = np.zeros((len(prepared), prepared.shape[1]))
        index = {name: i for i, name in enumerate(prepared.columns)}
        for j, feature in enumerate(owner):
            contributions[:, index[feature]] += terms[:, j]
        bias = logistic.intercept_[0] + self.transformed_mean_ @ logistic.coef_[0]
        return contributions, np.full(len(prepared), bias)

    def importance(self, X, sample: int = 5000) -> pd.Series:
        """Mean absolute contribution of each feature, in probability points, over a random
        ``sample`` of the rows of ``X``: exact TreeSHAP values for trees (consistent, unlike
        path attribution, which favours splits near the root), coefficients for logistic."""
        frame = pd.DataFrame(X)
        if len(frame) > sample:
            frame = frame.sample(sample, random_state=self.random_state)
        points = self.drivers(frame, exact=True).drop(columns="baseline")
        return points.abs().mean().sort_values(ascending=False).rename("mean_absolute_points")

    def reasons(self, X, top: int = 3) -> pd.DataFrame:
        """The ``top`` drivers raising each client's risk, as sentences
        ("3 repeating a trigger in the last 90 days: +12 pts")."""
        frame = pd.DataFrame(X)
        points = self.drivers(frame).drop(columns="baseline")
        values = points.to_numpy()
        order = np.argsort(-values, axis=1)[:, :top]
        columns = {name: frame[name].to_numpy(dtype=object) for name in points.columns[np.unique(order)]}  # rows by position, cheaply
        rows = []
        for i, ranked in enumerate(order):
            sentences = [
                f"{describe(points.columns[j], _value(columns[points.columns[j]][i]))}: {values[i, j] * 100:+.1f} pts"
                for j in ranked if values[i, j] > 0.0005
            ]
            rows.append(sentences + [""] * (top - len(sentences)))
        return pd.DataFrame(rows, index=frame.index, columns=[f"reason_{k + 1}" for k in range(top)])

    # ------------------------------------------------------------------ saving
    def save(self, path, snapshots: pd.DataFrame | None = None, backtest=None, notes: dict | None = None) -> Path:
        """Write the model with skops (no pickle) and, beside it, a Markdown model card:
        the model and its settings, the features, and when given the data it was trained
        on (``snapshots``: rows, cutoffs, churn rate), the ``backtest`` metrics and ``notes``."""
        check_is_fitted(self, "estimator_")
        return save_model(self, path, card_sections(self, snapshots, backtest, notes))

    @classmethod
    def load(cls, path, trusted=()) -> ChurnModel:
        """Read a model written by :meth:`save`.

        Only the types a saved churn model holds are constructed (skops' own safe
        defaults and :data:`SAVED_TYPES`); a file naming any other type is refused before
        anything in it runs. ``trusted`` adds type names you have read and accept.
        """
        return load_model(cls, path, trusted)


def fit_by_client(model, X: pd.DataFrame, y, clients) -> object:
    """``model.fit(X, y)``, keeping each client's rows in one cross-validation fold when the
    model cross-validates (a ChurnModel): rows of one client at several cutoffs resemble
    each other, and split across folds they would flatter deep trees.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import snapshots
    >>> from analytics.models import ChurnModel, fit_by_client, training_data
    >>> table = snapshots(load_sample(), cutoffs=["2024-07-01", "2025-01-01"])
    >>> X, y = training_data(table)
    >>> model = fit_by_client(ChurnModel(kind="logistic"), X, y, clients=table.loc[X.index, "client_id"])
    >>> model.feature_names_in_[:3].tolist()
    ['open_complaints', 'trend_90', 'csat_latest']
    """
    if isinstance(model, ChurnModel):
        return model.fit(X, y, groups=np.asarray(clients))
    return model.fit(X, y)


def _table(X, columns: int | None = None) -> pd.DataFrame:
    """``X`` as a table. A DataFrame may carry more columns than the model uses (a snapshot
    table); an array must have exactly the ``columns`` it was trained on."""
    if isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError("ChurnModel does not take sparse input; pass a dense array or a DataFrame")
    values = np.asarray(X)
    if values.ndim != 2:
        raise ValueError(f"Expected a 2D array of rows and columns, got {values.ndim} dimension(s). Reshape your data, e.g. "
                         "with array.reshape(-1, 1) for a single feature or array.reshape(1, -1) for a single row")
    if columns is not None and values.shape[1] != columns:
        raise ValueError(f"X has {values.shape[1]} features, but ChurnModel is expecting {columns} features as input")
    return pd.DataFrame(values)


def _is_text(values: pd.Series) -> bool:
    dtype = values.dtype
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)


def _owner(name: str, features, categories: dict) -> str:
    """The input column a transformed column came from (one-hot columns are ``column_level``)."""
    if name in features:
        return name
    if name.startswith("missingindicator_"):
        return name[len("missingindicator_"):]
    for column in categories:
        if name.startswith(f"{column}_"):
            return column
    raise KeyError(name)


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix, dtype=np.float64)


def _value(value):
    return None if value is pd.NA else value
