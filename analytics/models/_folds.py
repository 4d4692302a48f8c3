"""The churn model's cross-validation folds: stratified and grouped by client, the rows a
large refit keeps, and XGBoost's binned matrices of each fold, built once."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold


def fewer_stayers(rows: np.ndarray, y: np.ndarray, limit: int | None, rng) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` with every churner and at most enough stayers to stay within ``limit``,
    and row weights that give the stayers kept the weight of all of them."""
    weight = np.ones(len(y))
    if limit is None or rows.sum() <= limit:
        return rows, weight
    stayers = np.flatnonzero(rows & (y == 0))
    room = max(limit - int((rows & (y == 1)).sum()), 1)
    kept = rows & (y == 1)
    kept[rng.choice(stayers, size=min(room, len(stayers)), replace=False)] = True
    weight[y == 0] = len(stayers) / min(room, len(stayers))
    return kept, weight


def cv_folds(y: np.ndarray, groups, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Stratified folds, and when ``groups`` are given each group's rows in one fold;
    None if an outcome is too rare to be in every fold."""
    if np.bincount(y, minlength=2).min() < folds:
        return None
    if groups is None:
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    else:
        # groups dealt to the folds in turn, those with a churn first: stratified by
        # group, in one pass (scikit-learn's StratifiedGroupKFold loops over groups)
        codes, _ = pd.factorize(pd.Series(groups), sort=False)
        any_churn = np.bincount(codes, weights=y) > 0
        order = np.random.default_rng(seed).permutation(len(any_churn))
        order = np.concatenate([order[any_churn[order]], order[~any_churn[order]]])
        fold_of_group = np.empty(len(order), dtype=np.int64)
        fold_of_group[order] = np.arange(len(order)) % folds
        fold = fold_of_group[codes]
        splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]
    if any(len(np.unique(y[part])) < 2 for split in splits for part in split):
        return None
    return splits


class FoldMatrices:
    """XGBoost's binned matrices of each fold, built once and shared by every candidate."""

    def __init__(self, prepared: list[tuple[pd.DataFrame, pd.DataFrame]], y: np.ndarray, folds, max_bin: int, pool):
        from xgboost import DMatrix, QuantileDMatrix

        def build(k):
            (fit_rows, held), (fit_table, held_table) = folds[k], prepared[k]
            fit = QuantileDMatrix(fit_table, y[fit_rows], enable_categorical=True, max_bin=max_bin, nthread=1)
            # a plain matrix to evaluate on: XGBoost scores a binned one anew every round, three times slower
            return fit, DMatrix(held_table, y[held], enable_categorical=True, nthread=1)

        self.matrices = list(pool.map(build, range(len(folds))))

    def fit(self, k: int, params: dict, most_trees: int, patience: int) -> tuple[np.ndarray, int]:
        """Boost on fold ``k`` until the held-out log-loss stops improving: the held-out
        log-odds and the number of trees used."""
        import xgboost

        fit, held = self.matrices[k]
        booster = xgboost.train(params, fit, most_trees, evals=[(held, "held")], early_stopping_rounds=patience, verbose_eval=False)
        used = booster.best_iteration + 1
        return booster.predict(held, output_margin=True, iteration_range=(0, used)), used
