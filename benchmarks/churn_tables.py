"""ChurnModel against three references on every kind of table, in the same cross-validation (issue 20).

For each table: ROC AUC of 5-fold stratified cross-validation (the same folds for every
model) of ``ChurnModel()``, scikit-learn's ``HistGradientBoostingClassifier()`` with its
defaults, XGBoost's ``XGBClassifier()`` with its defaults, and a logistic regression
(median imputation with missing-value indicators, standardised numbers, one-hot
categories). Target: ChurnModel no lower than the best reference minus 0.003.

Tables: the four plain shapes of :func:`analytics.sample.churn_table` (a few thousand
rows; additive, non-linear, duplicated, interacting) and the snapshot tables of small
simulated worlds in each setting. Also the time to fit ChurnModel on 5,000 rows
(target <= 10 s).

Run: .venv/bin/python benchmarks/churn_tables.py [--rows N] [--clients N] [--seed S]
"""

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBClassifier

from analytics.features import snapshots
from analytics.models import ChurnModel, training_data
from analytics.sample import TABLE_SHAPES, WORLDS, churn_table, simulate


def categorical(X: pd.DataFrame) -> pd.DataFrame:
    """Text and boolean columns as pandas categories, numbers as floats: what the tree references take."""
    out = {}
    for column in X.columns:
        values = X[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[column] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(values) or str(values.dtype).startswith("timestamp"):
            continue
        else:
            out[column] = values.astype("string").astype("category")
    return pd.DataFrame(out, index=X.index)


def logistic(X: pd.DataFrame):
    numbers = [c for c in X.columns if X[c].dtype == "float64"]
    categories = [c for c in X.columns if c not in numbers]
    return make_pipeline(
        ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True), StandardScaler()), numbers),
            ("categories", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")), categories),
        ]),
        LogisticRegression(max_iter=5000),
    )


REFERENCES = {
    "HistGradientBoosting": lambda X: HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0),
    "XGBoost": lambda X: XGBClassifier(enable_categorical=True, tree_method="hist", random_state=0),
    "logistic": lambda X: logistic(X),
}


def compare(name: str, X: pd.DataFrame, y: np.ndarray) -> dict:
    y = np.asarray(y).astype(int)
    prepared = categorical(X)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    scores = {}
    for model, make in {"ChurnModel": None, **REFERENCES}.items():
        fold_scores = []
        for train, test in folds:
            if make is None:
                p = ChurnModel().fit(X.iloc[train], y[train]).predict_proba(X.iloc[test])[:, 1]
            else:
                p = make(prepared).fit(prepared.iloc[train], y[train]).predict_proba(prepared.iloc[test])[:, 1]
            fold_scores.append(roc_auc_score(y[test], p))
        scores[model] = float(np.mean(fold_scores))
    best = max(scores[m] for m in REFERENCES)
    chosen = ChurnModel().fit(X, y).best_params_
    return {"table": name, "rows": len(y), "churn": f"{y.mean():.1%}", **scores, "ChurnModel - best": scores["ChurnModel"] - best,
            "chosen": ", ".join(f"{k}={v}" for k, v in chosen.items())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000, help="rows of each plain table")
    parser.add_argument("--clients", type=int, default=1500, help="clients of each simulated world")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = []
    for shape in TABLE_SHAPES:
        X, y, _ = churn_table(shape, args.rows, random_state=args.seed)
        results.append(compare(shape, X, y))
        print(results[-1], flush=True)
    for world in WORLDS:
        history, _ = simulate(args.clients, "2022-01-01", "2026-01-01", random_state=args.seed, world=world)
        rows = snapshots(history, "QE")
        X, y = training_data(rows)
        results.append(compare(f"simulated ({world})", X.reset_index(drop=True), y.to_numpy()))
        print(results[-1], flush=True)
    table = pd.DataFrame(results)
    print()
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"\nworst ChurnModel - best reference: {table['ChurnModel - best'].min():+.4f} (target >= -0.003)")
    X, y, _ = churn_table("ecommerce", 5000, random_state=args.seed)
    began = time.perf_counter()
    ChurnModel().fit(X, y)
    print(f"fitting on 5,000 rows: {time.perf_counter() - began:.1f} s (target <= 10 s)")


if __name__ == "__main__":
    main()
