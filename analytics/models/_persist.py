"""Saving a fitted model without pickle, reading it back only when it holds what a saved
model holds, and its Markdown model card."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


class UntrustedModelFile(ValueError):
    """A model file that holds something other than a saved ChurnModel; nothing in it was run.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import skops.io
    >>> from analytics.models import ChurnModel, UntrustedModelFile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
    >>> skops.io.dump({"looks like": pathlib.PurePosixPath("a model")}, path)
    >>> try:
    ...     ChurnModel.load(path)
    ... except UntrustedModelFile as refused:
    ...     print(str(refused).replace(str(path), "model.skops"))
    model.skops holds types a churn model never contains, so nothing in it was run: pathlib.PurePosixPath; if you wrote the file and have read these types, pass them as ChurnModel.load(path, trusted=[...])
    """


#: the types a saved ChurnModel holds beyond those skops trusts by default (exact names)
SAVED_TYPES = ("analytics.models._churn.ChurnModel", "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier", "numpy.dtype")


def save_model(model, path, card: dict) -> Path:
    """Write ``model`` with skops and, beside it (``.md``), its model card."""
    import skops.io

    path = Path(path)
    skops.io.dump(model, path)
    path.with_suffix(".md").write_text(model_card(card), encoding="utf-8")
    return path


def load_model(cls: type, path, trusted=()):
    """A ``cls`` read from ``path``; a file naming a type outside skops' safe defaults,
    :data:`SAVED_TYPES` and ``trusted`` is refused before anything in it runs."""
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
        raise UntrustedModelFile(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
    return model


def model_card(card: dict) -> str:
    """A model card in Markdown from a dict of sections (strings, dicts or DataFrames).

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.models import model_card
    >>> print(model_card({"Model": {"kind": "logistic"}, "Backtest": pd.DataFrame({"metric": ["roc_auc"], "value": [0.8123]})}))
    # Churn model card
    <BLANKLINE>
    ## Model
    <BLANKLINE>
    - **kind**: logistic
    <BLANKLINE>
    ## Backtest
    <BLANKLINE>
    | metric   |   value |
    |:---------|--------:|
    | roc_auc  |   0.812 |
    <BLANKLINE>
    """
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


def card_sections(model, snapshots: pd.DataFrame | None, backtest, notes: dict | None) -> dict:
    """The model card's sections: the model, its settings, data, features, backtest and notes."""
    card = {"Model": {"kind": model.kind, **{k: v for k, v in model.get_params().items() if k != "kind"}, "calibration (slope, intercept)": model.calibration_},
            "Settings chosen by cross-validation": model.best_params_}
    if model.cv_results_:
        card["Cross-validation (ROC AUC over the folds)"] = pd.DataFrame(model.cv_results_)
    if snapshots is not None:
        cutoffs = pd.to_datetime(snapshots["cutoff"], utc=True)
        card["Data"] = {
            "rows": f"{len(snapshots):,}", "clients": f"{snapshots['client_id'].nunique():,}",
            "cutoffs": f"{cutoffs.nunique()} from {cutoffs.min():%Y-%m-%d} to {cutoffs.max():%Y-%m-%d}",
            "churn rate": f"{snapshots['churned'].mean():.2%}",
        }
    card["Features"] = ", ".join(model.feature_names_in_) + (f" (left out: {', '.join(model.dropped_columns_)})" if model.dropped_columns_ else "")
    if backtest is not None:
        card["Backtest"] = backtest.overall
    return card | (notes or {})
