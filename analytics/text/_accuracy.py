"""How well a reader did on labelled text."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd


def reading_accuracy(read: pd.DataFrame | pd.Series, truth: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Per label: support, precision, recall and F1 of ``read`` against ``truth``, and the
    counts behind them.

    Two DataFrames of booleans (practices: one row per column) or two Series of categories
    (tone: one row per category, read one against the rest). Rows missing in either are
    left out.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.text import reading_accuracy
    >>> read = pd.DataFrame({"apologized": [True, True, False, False]})
    >>> truth = pd.DataFrame({"apologized": [True, False, False, False]})
    >>> reading_accuracy(read, truth).loc["apologized", ["support", "precision", "recall"]].to_dict()
    {'support': 1.0, 'precision': 0.5, 'recall': 1.0}
    """
    if isinstance(read, pd.Series):
        keep = read.notna() & truth.notna()
        labels = sorted(set(truth[keep]) | set(read[keep]))
        read = pd.DataFrame({label: read[keep] == label for label in labels})
        truth = pd.DataFrame({label: truth[keep] == label for label in labels})
    rows = []
    for label in truth.columns:
        keep = (read[label].notna() & truth[label].notna()).to_numpy()
        said = read[label].to_numpy()[keep].astype(bool)
        true = truth[label].to_numpy()[keep].astype(bool)
        tp, fp, fn = int((said & true).sum()), int((said & ~true).sum()), int((~said & true).sum())
        tn = int(keep.sum()) - tp - fp - fn
        precision = tp / (tp + fp) if tp + fp else np.nan
        recall = tp / (tp + fn) if tp + fn else np.nan
        rows.append({
            "label": label, "support": tp + fn, "precision": precision, "recall": recall,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else np.nan,
            "negative_predictive_value": tn / (tn + fn) if tn + fn else np.nan,
            "specificity": tn / (tn + fp) if tn + fp else np.nan,
            "true_positive": tp, "false_positive": fp, "false_negative": fn, "true_negative": tn,
        })
    return pd.DataFrame(rows).set_index("label")


def attenuation(accuracy: pd.DataFrame, role: str = "treatment") -> pd.Series:
    """Per label, the factor by which misreading shrinks a difference in rates (1: not at
    all), for readers whose errors do not depend on the rest (Bross, 1954): a read
    ``treatment`` compares groups by what was read, so the difference shrinks by precision
    + negative predictive value - 1; a read ``outcome`` shrinks it by recall + specificity
    - 1. The difference in truth is the one measured divided by the factor.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.text import attenuation, reading_accuracy
    >>> read = pd.DataFrame({"apologized": [True, True, False, False]})
    >>> truth = pd.DataFrame({"apologized": [True, False, False, False]})
    >>> attenuation(reading_accuracy(read, truth)).round(3).to_dict()
    {'apologized': 0.5}
    """
    if role == "treatment":
        factor = accuracy["precision"] + accuracy["negative_predictive_value"] - 1
    else:
        factor = accuracy["recall"] + accuracy["specificity"] - 1
    return factor.clip(lower=0.05).rename("attenuation")


def accuracy_against_truth(history, truth) -> dict[str, pd.DataFrame]:
    """The readers on a simulated history against what the simulator planted: ``practices``
    (per practice, moving private only for public complaints), ``tone`` (per tone, each
    against the rest) and ``hostile`` (angry or abusive against the rest), on the clients'
    contacts.

    Examples
    --------
    >>> from analytics.sample import simulate
    >>> from analytics.text import accuracy_against_truth
    >>> accuracy = accuracy_against_truth(*simulate(n_clients=200, random_state=3))
    >>> sorted(accuracy)
    ['hostile', 'practices', 'tone']
    >>> bool((accuracy["practices"]["f1"] > 0.5).all())
    True
    """
    from analytics.schemas import HOSTILE_TONES, PRACTICES, client_contacts
    from analytics.text._practices import read_practices
    from analytics.text._tone import read_tone

    used = truth.complaints[[f"used_{p}" for p in PRACTICES]].set_axis(list(PRACTICES), axis=1)
    used["moved_private"] = used["moved_private"].where(truth.complaints["true_channel"] == "social_public")
    read = read_practices(history.complaints.set_index("complaint_id")["replies"]).reindex(used.index)
    clients = client_contacts(history.interactions)
    tone = history.interactions.loc[clients, "tone"]
    read_tones = read_tone(history.interactions.loc[clients, "text"])
    return {
        "practices": reading_accuracy(read, used),
        "tone": reading_accuracy(read_tones, tone),
        "hostile": reading_accuracy(pd.DataFrame({"hostile": read_tones.isin(HOSTILE_TONES)}), pd.DataFrame({"hostile": tone.isin(HOSTILE_TONES)})),
    }


@functools.lru_cache(maxsize=2)
def simulated_accuracy(n_clients: int = 1500, random_state: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The readers' accuracy on simulated labelled text no analysis saw: the practice
    reader's per practice, and the tone reader's on hostility (angry or abusive against the
    rest). The default error rates for a history with nothing labelled to measure on.

    Examples
    --------
    >>> from analytics.text import simulated_accuracy
    >>> practices, hostile = simulated_accuracy()
    >>> len(practices), hostile.index.tolist()
    (8, ['hostile'])
    """
    from analytics.sample import simulate

    accuracy = accuracy_against_truth(*simulate(n_clients=n_clients, random_state=random_state))
    return accuracy["practices"], accuracy["hostile"]
