"""Complaint text: redaction before anything is shown or exported, topics, and triggers
inferred where none was recorded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics.redaction import KINDS, PERSONAL_DETAILS, redact
from analytics.text import strip_masks

__all__ = ["KINDS", "PERSONAL_DETAILS", "InferredTriggers", "Topics", "infer_triggers", "redact", "topics"]

SAME_EXAMPLE = 0.6  # share of words in common (Jaccard) from which two examples say the same thing


@dataclass
class Topics:
    """``terms``: one row per topic with its top terms and complaint count; ``examples``:
    a few redacted snippets per topic; ``topic``: the topic of each complaint (by row), -1
    for a text that shares no word with any topic.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import topics
    >>> found = topics(load_sample().complaints["text"], n_topics=3)
    >>> sorted(found.topic.unique().tolist()), found.examples.columns.tolist()
    ([0, 1, 2], ['topic', 'example'])
    """

    terms: pd.DataFrame
    examples: pd.DataFrame
    topic: pd.Series


def topics(texts: pd.Series, n_topics: int = 8, top_terms: int = 8, examples: int = 3, snippet: int = 160, random_state: int = 0) -> Topics:
    """Topics of complaint texts: TF-IDF on the redacted texts (words and word pairs,
    English stop words left out), factorised by non-negative matrix factorisation. Each
    complaint belongs to its strongest topic; examples are the complaints most typical of
    it, redacted and cut to ``snippet`` characters. Masking tokens (the CFPB's ``XXXX``, our
    ``[email]``) are left out of the words topics are made of.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import topics
    >>> found = topics(load_sample().complaints["text"], n_topics=4, top_terms=3)
    >>> len(found.terms), found.terms.columns.tolist()
    (4, ['topic', 'terms', 'complaints'])
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = texts.dropna().map(redact)
    words = strip_masks(texts)  # masks (XXXX, [email]) are holes, not words: no topic is made of them
    keep = (words.str.strip().str.len() > 0).fillna(False).to_numpy(bool)
    texts, words = texts.loc[keep], words.loc[keep]
    if len(texts) < n_topics * 5:
        raise ValueError(f"topics need at least {n_topics * 5} complaint texts; this history has {len(texts)}")
    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=3, max_df=0.5, max_features=20_000, sublinear_tf=True)
    matrix = vectorizer.fit_transform(words)
    model = NMF(n_components=n_topics, init="nndsvda", random_state=random_state, max_iter=400)
    weights = model.fit_transform(matrix)
    vocabulary = vectorizer.get_feature_names_out()
    # a text with none of the topics' words has no topic, rather than the first one
    matched = weights.max(axis=1) > 0
    topic = pd.Series(np.where(matched, weights.argmax(axis=1), -1), index=texts.index, name="topic")
    terms = pd.DataFrame({
        "topic": range(n_topics),
        "terms": [", ".join(vocabulary[np.argsort(-row)[:top_terms]]) for row in model.components_],
        "complaints": np.bincount(topic[matched], minlength=n_topics),
    })
    rows = []
    for k in range(n_topics):
        shown, words = [], []
        for i in np.argsort(-weights[:, k])[:2000]:  # the most typical texts first, each saying something new
            text = texts.iloc[i]
            text = text if len(text) <= snippet else text[: snippet - 1].rsplit(" ", 1)[0] + "…"
            mine = set(text.lower().split())
            if all(len(mine & seen) < SAME_EXAMPLE * len(mine | seen) for seen in words):
                shown.append(text)
                words.append(mine)
            if len(shown) == examples:
                break
        rows += [{"topic": k, "example": text} for text in shown]
    return Topics(terms, pd.DataFrame(rows), topic)


@dataclass
class InferredTriggers:
    """``table``: complaints whose trigger is missing or ``other``, with the inferred
    trigger, its probability and ``inferred=True`` (the recorded trigger is kept as it
    was); ``macro_f1`` and ``report``: how the classifier did on held-out labelled
    complaints.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import infer_triggers
    >>> inferred = infer_triggers(load_sample())
    >>> inferred.report.columns.tolist()
    ['trigger', 'precision', 'recall', 'f1-score', 'support']
    """

    table: pd.DataFrame
    macro_f1: float
    report: pd.DataFrame


def infer_triggers(history, test_share: float = 0.2, random_state: int = 0) -> InferredTriggers:
    """Train a text classifier (TF-IDF + logistic regression) on complaints with a
    recorded trigger other than ``other``, report its macro-F1 on a held-out share, and
    infer the trigger of the complaints whose trigger is missing or ``other``.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.rootcause import infer_triggers
    >>> inferred = infer_triggers(load_sample())
    >>> bool(inferred.macro_f1 > 0.5), bool(inferred.table["inferred"].all())
    (True, True)
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import classification_report, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    c = history.complaints
    if not history.has("text"):
        raise ValueError("inferring triggers needs complaint text, which this history does not record")
    text = strip_masks(c["text"].astype("string").fillna("").map(redact)).fillna("")
    trigger = c["trigger"].astype("string") if "trigger" in c else pd.Series(pd.NA, index=c.index, dtype="string")
    labelled = trigger.notna() & (trigger != "other") & (text.str.len() > 0)
    if labelled.sum() < 50 or trigger[labelled].nunique() < 2:
        raise ValueError("inferring triggers needs at least 50 complaints with a recorded trigger and text")

    def classifier():
        return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                             LogisticRegression(max_iter=2000, C=5.0, class_weight="balanced"))

    train, test = train_test_split(np.flatnonzero(labelled), test_size=test_share, random_state=random_state, stratify=trigger[labelled])
    held_out = classifier().fit(text.iloc[train], trigger.iloc[train])
    predicted = held_out.predict(text.iloc[test])
    truth = trigger.iloc[test].to_numpy()
    report = pd.DataFrame(classification_report(truth, predicted, output_dict=True, zero_division=0)).T.reset_index(names="trigger")
    final = classifier().fit(text[labelled], trigger[labelled])
    unknown = (trigger.isna() | (trigger == "other")) & (text.str.len() > 0)
    probabilities = final.predict_proba(text[unknown])
    table = pd.DataFrame({
        "complaint_id": c.loc[unknown, "complaint_id"].to_numpy(),
        "recorded_trigger": trigger[unknown].to_numpy(),
        "inferred_trigger": final.classes_[probabilities.argmax(axis=1)],
        "probability": probabilities.max(axis=1),
        "inferred": True,
    })
    return InferredTriggers(table, float(f1_score(truth, predicted, average="macro")), report)
