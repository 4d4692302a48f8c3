"""Churn risk: a calibrated classifier for any client table, with additive drivers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from analytics.features._describe import describe

#: snapshot columns that identify a row or are labels: never features
NOT_FEATURES = ("client_id", "cutoff", "churned", "ended_by_us", "censored")
KINDS = ("boosting", "logistic")


def training_data(snapshots: pd.DataFrame, label: str = "churned", include_censored: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    """Features and label from a snapshot table. Rows whose horizon runs past the end of
    the data are left out unless ``include_censored``: their label is not known yet."""
    rows = snapshots if include_censored else snapshots.loc[~snapshots["censored"].astype(bool)]
    return rows.drop(columns=[c for c in NOT_FEATURES if c in rows]), rows[label].astype(int)


class ChurnModel(ClassifierMixin, BaseEstimator):
    """The probability that a client churns, from any table of client features.

    Numeric, boolean and categorical columns (text or ``category``) are used as they are,
    missing values included; date columns and identifier-like text columns (a different
    value on every row) are left out (``dropped_columns_`` says which).

    Parameters
    ----------
    kind : "boosting" or "logistic"
        ``boosting``: gradient-boosted trees on histograms with native categorical splits
        (XGBoost). ``logistic``: an L2-regularised logistic regression on standardised
        numbers and one-hot categories, the baseline.
    n_estimators, learning_rate, max_depth, min_child_weight, reg_lambda, max_bin
        Boosting settings (``n_estimators``: the most trees; ``max_bin``: histogram bins
        per feature).
    early_stopping_rounds : int or None
        Boosting stops once this many trees in a row have not improved the log-loss on
        a sixth of the training rows held back for it (None: all ``n_estimators`` trees).
    C : float
        Inverse regularisation strength of the logistic regression.
    max_train_rows : int or None
        Above this many training rows, every churner is kept and the clients who stayed
        are sampled down to fill the rest: ranking barely suffers, fitting is much faster,
        and the calibration (on held-out rows as they come) corrects the probabilities.
    calibration_share : float
        Share of the training rows held out to calibrate the probabilities (Platt scaling
        of the model's log-odds, which keeps the drivers additive).
    random_state : int

    Attributes
    ----------
    estimator_ : the fitted XGBoost classifier or logistic pipeline
    calibration_ : tuple (slope, intercept) applied to the model's log-odds
    transformed_mean_ : logistic only: training mean of each transformed column
    feature_names_in_, categories_, dropped_columns_
    """

    def __init__(
        self,
        kind: str = "boosting",
        n_estimators: int = 500,
        learning_rate: float = 0.05,
        max_depth: int = 4,
        min_child_weight: float = 20.0,
        reg_lambda: float = 5.0,
        max_bin: int = 64,
        early_stopping_rounds: int | None = 20,
        max_train_rows: int | None = 150_000,
        C: float = 0.1,
        calibration_share: float = 0.2,
        random_state: int = 0,
    ):
        self.kind = kind
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.early_stopping_rounds = early_stopping_rounds
        self.max_train_rows = max_train_rows
        self.C = C
        self.calibration_share = calibration_share
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y) -> ChurnModel:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        X = pd.DataFrame(X)
        self._learn_columns(X)
        y = np.asarray(y).astype(int)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"churn needs both outcomes in the training rows; got only {self.classes_.tolist()}")
        rng = np.random.default_rng(self.random_state)
        held_out = rng.random(len(y)) < self.calibration_share
        if len(np.unique(y[held_out])) < 2 or len(np.unique(y[~held_out])) < 2:
            held_out[:] = False  # too few rows to hold any out: calibrate on the training rows
        train = _fewer_stayers(~held_out, y, self.max_train_rows, rng)
        stopping = self._stopping_rows(train, y, rng)
        if stopping is not None:
            train &= ~stopping
        rows = self._prepare(X.loc[train])  # only the rows used: sampling comes first
        if stopping is None:
            self.estimator_ = self._estimator().fit(rows, y[train])
        else:
            watched = [(self._prepare(X.loc[stopping]), y[stopping])]
            self.estimator_ = self._estimator(early_stopping_rounds=self.early_stopping_rounds).fit(rows, y[train], eval_set=watched, verbose=False)
        if self.kind == "logistic":  # the centre its contributions are measured from
            self.transformed_mean_ = _dense(self.estimator_[0].transform(rows)).mean(axis=0)
        calibrate = held_out if held_out.any() else train
        margin = self._margin(self._prepare(X.loc[calibrate]))
        platt = LogisticRegression(C=1e6).fit(margin[:, None], y[calibrate])
        self.calibration_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        return self

    def _stopping_rows(self, train: np.ndarray, y: np.ndarray, rng) -> np.ndarray | None:
        """A sixth of the training rows, to tell boosting when to stop (None: no early stopping)."""
        if self.kind != "boosting" or not self.early_stopping_rounds:
            return None
        stopping = train & (rng.random(len(y)) < 1 / 6)
        both_outcomes = all(len(np.unique(y[rows])) == 2 for rows in (stopping, train & ~stopping))
        return stopping if both_outcomes else None

    def _estimator(self, early_stopping_rounds: int | None = None):
        if self.kind == "boosting":
            from xgboost import XGBClassifier

            return XGBClassifier(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                max_depth=self.max_depth,
                min_child_weight=self.min_child_weight,
                reg_lambda=self.reg_lambda,
                subsample=0.8,
                colsample_bytree=0.8,
                tree_method="hist",
                max_bin=self.max_bin,
                enable_categorical=True,
                max_cat_to_onehot=1,
                random_state=self.random_state,
                n_jobs=None,
                early_stopping_rounds=early_stopping_rounds,
                eval_metric="logloss",
            )
        numeric = [c for c in self.feature_names_in_ if c not in self.categories_]
        columns = ColumnTransformer(
            [
                ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()), numeric),
                ("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=20), list(self.categories_)),
            ],
            verbose_feature_names_out=False,
        )
        return make_pipeline(columns, LogisticRegression(C=self.C, max_iter=2000))

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
        if self.kind == "boosting":
            return self.estimator_.predict(prepared, output_margin=True).astype(np.float64)
        return self.estimator_.decision_function(prepared)

    def decision_function(self, X) -> np.ndarray:
        """Calibrated log-odds of churn."""
        check_is_fitted(self, "estimator_")
        slope, intercept = self.calibration_
        return slope * self._margin(self._prepare(pd.DataFrame(X))) + intercept

    def predict_proba(self, X) -> np.ndarray:
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

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
        if self.kind == "boosting":
            from xgboost import DMatrix

            matrix = DMatrix(prepared, enable_categorical=True)
            trees = (0, self.estimator_.best_iteration + 1) if hasattr(self.estimator_, "best_iteration") else (0, 0)  # (0, 0): all
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
        import skops.io

        check_is_fitted(self, "estimator_")
        path = Path(path)
        skops.io.dump(self, path)
        card = {"Model": {"kind": self.kind, **{k: v for k, v in self.get_params().items() if k != "kind"}, "calibration (slope, intercept)": self.calibration_}}
        if snapshots is not None:
            cutoffs = pd.to_datetime(snapshots["cutoff"], utc=True)
            card["Data"] = {
                "rows": f"{len(snapshots):,}", "clients": f"{snapshots['client_id'].nunique():,}",
                "cutoffs": f"{cutoffs.nunique()} from {cutoffs.min():%Y-%m-%d} to {cutoffs.max():%Y-%m-%d}",
                "churn rate": f"{snapshots['churned'].mean():.2%}",
            }
        card["Features"] = ", ".join(self.feature_names_in_) + (f" (left out: {', '.join(self.dropped_columns_)})" if self.dropped_columns_ else "")
        if backtest is not None:
            card["Backtest"] = backtest.overall
        card |= notes or {}
        path.with_suffix(".md").write_text(model_card(card), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path, trusted=()) -> ChurnModel:
        """Read a model written by :meth:`save`.

        Only the types a saved churn model holds are constructed (skops' own safe
        defaults and :data:`SAVED_TYPES`); a file naming any other type is refused before
        anything in it runs. ``trusted`` adds type names you have read and accept.
        """
        import skops.io

        try:
            named = set(skops.io.get_untrusted_types(file=path))
        except Exception as error:  # a damaged zip or schema raises many types
            raise UntrustedModelFile(f"{path}: not a model file written by ChurnModel.save ({error})") from error
        unexpected = sorted(named - set(SAVED_TYPES) - set(trusted))
        if unexpected:
            raise UntrustedModelFile(
                f"{path} holds types a churn model never contains, so nothing in it was run: {', '.join(unexpected)}; "
                "if you wrote the file and have read these types, pass them as ChurnModel.load(path, trusted=[...])"
            )
        model = skops.io.load(path, trusted=sorted(named))
        if not isinstance(model, cls):
            raise UntrustedModelFile(f"{path} holds a {type(model).__name__}, not a ChurnModel")
        return model


class UntrustedModelFile(ValueError):
    """A model file that holds something other than a saved ChurnModel; nothing in it was run."""


#: the types a saved ChurnModel holds beyond those skops trusts by default (exact names)
SAVED_TYPES = ("analytics.models._churn.ChurnModel", "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier", "numpy.dtype")


def model_card(card: dict) -> str:
    """A model card in Markdown from a dict of sections (strings, dicts or DataFrames)."""
    lines = ["# Churn model card", ""]
    for title, body in card.items():
        lines += [f"## {title}", ""]
        if isinstance(body, pd.DataFrame):
            lines.append(body.to_markdown(index=False, floatfmt=".3f"))
        elif isinstance(body, dict):
            lines += [f"- **{k}**: {v}" for k, v in body.items()]
        else:
            lines.append(str(body))
        lines.append("")
    return "\n".join(lines)


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


def _fewer_stayers(rows: np.ndarray, y: np.ndarray, limit: int | None, rng) -> np.ndarray:
    """``rows`` with every churner and at most enough stayers to stay within ``limit``."""
    if limit is None or rows.sum() <= limit:
        return rows
    stayers = np.flatnonzero(rows & (y == 0))
    room = max(limit - int((rows & (y == 1)).sum()), 0)
    kept = rows & (y == 1)
    kept[rng.choice(stayers, size=min(room, len(stayers)), replace=False)] = True
    return kept


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix, dtype=np.float64)


def _value(value):
    return None if value is pd.NA else value
