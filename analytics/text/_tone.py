"""Tone read from what clients wrote: calm, frustrated, angry or abusive.

Sentiment comes from VADER (a lexicon and rules tuned to short, informal text; it reads
capitals, exclamation marks, "but" and negation), abuse from alt-profanity-check (a
linear model trained on offensive language, shipped inside its package). The cues below
add what neither scores: the words of someone kept waiting, of someone threatening to
leave or sue, and whether offensive words are aimed at people (abuse) or at the situation
("this stupid system": anger).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.taxonomy import Tone
from analytics.text._masks import plain_text

ABUSIVE_FROM = 0.6  # probability of offensive language from which a message is abusive
ANGRY_BELOW = -0.6  # VADER compound score up to which a message is angry
NEGATIVE_BELOW = -0.05  # VADER's own threshold for negative text
FRUSTRATION = (r"\b(?:still|again|yet another|how many times|(?:second|third|fourth|fifth) time|waiting|chas(?:e|ing)|nobody|no one|"
               r"keep (?:having|getting|being)|every time|on hold|fed up|tired of|any update|still no)\b")
ANGER = (r"\b(?:unacceptable|outrageous|ridiculous|disgrace(?:ful)?|furious|livid|appalling|pathetic|shambles|joke|worst|sick of|"
         r"lawyers?|legal action|solicitor|small claims|cancel(?:ling)? (?:our|my|the) (?:contract|account|subscription)|"
         r"take (?:our|my) business elsewhere)\b")
SHOUTING = r"!{2,}|\b[A-Z]{4,}\b.*\b[A-Z]{4,}\b"
# offensive words aimed at people are abuse; aimed at the situation ("stupid system"), anger
AT_PEOPLE = r"\b(?:you|your|you're|youre|u|ur|yourself|yourselves|people|staff|agents?|idiots?|morons?|clowns?|imbeciles?|muppets?)\b"


def read_tone(texts: pd.Series) -> pd.Series:
    """The tone of each text (a client's message) as a canonical tone value; missing or
    empty texts give a missing value.

    >>> read_tone(pd.Series(["Thanks, that works now.", "Still waiting on an answer.",
    ...                      "This is completely unacceptable!!", "You useless idiots."])).tolist()
    ['calm', 'frustrated', 'angry', 'abusive']
    """
    from profanity_check import predict_prob
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    clean = plain_text(texts)
    present = clean.notna() & (clean.str.len() > 0)
    values = clean[present].astype(str).tolist()
    tone = pd.Series(pd.NA, index=texts.index, dtype="string", name="tone")
    if not values:
        return tone
    analyzer = SentimentIntensityAnalyzer()
    compound = np.array([analyzer.polarity_scores(text)["compound"] for text in values])
    offensive = predict_prob(values)
    array = pa.array(values, type=pa.string())
    lower = pc.utf8_lower(array)
    frustrated_words = pc.match_substring_regex(lower, FRUSTRATION).to_numpy(zero_copy_only=False)
    angry_words = pc.match_substring_regex(lower, ANGER).to_numpy(zero_copy_only=False)
    shouting = pc.match_substring_regex(array, SHOUTING).to_numpy(zero_copy_only=False)
    at_people = pc.match_substring_regex(lower, AT_PEOPLE).to_numpy(zero_copy_only=False)
    negative = compound <= NEGATIVE_BELOW
    offending = offensive >= ABUSIVE_FROM
    tone[present] = np.select(
        [offending & at_people, offending | (compound <= ANGRY_BELOW) | angry_words | (shouting & negative), negative | frustrated_words],
        [Tone.ABUSIVE.value, Tone.ANGRY.value, Tone.FRUSTRATED.value],
        Tone.CALM.value,
    )
    return tone
