"""Handling practices read from what agents wrote.

Agents' replies are formulaic ("I'm sorry to hear that", "please DM us your order
number"), so each practice is recognised by cue phrases of customer-service writing, each
with a weight: how surely the phrase means the practice. A phrase that says the opposite
("we are not able to offer", "still investigating the cause") counts against it. Cues are
RE2 patterns run by Arrow on whole columns, so a hundred thousand replies take seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.schemas import PRACTICES
from analytics.text._masks import plain_text

STRONG, WEAK = 0.9, 0.6
# how much a contrary phrase leaves of the confidence
CONTRARY = 0.25
# a practice is read as used from this confidence on
USED_FROM = 0.5

_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|today|tonight|\d)"
_PRIVATE = r"(?:dm|dms|direct message|private message|pm|inbox)"

#: per practice: (pattern, weight) cues, then contrary patterns
CUES: dict[str, tuple[list[tuple[str, float]], list[str]]] = {
    "listened_validated": ([
        (r"\bi (?:completely |totally |fully |really |can )?understand\b", STRONG),
        (r"\b(?:i|we) hear you\b", STRONG),
        (r"\bthat (?:must|would|will|sounds)(?: have)? (?:be |been )?(?:so |really |very |incredibly |extremely )?(?:frustrating|annoying|stressful|difficult|upsetting|disappointing|maddening)", STRONG),
        (r"\byour frustration\b", STRONG),
        (r"\bunderstandabl[ey]\b", STRONG),
        (r"\byou(?:'re| are) (?:absolutely |completely |quite )?right\b", STRONG),
        (r"\bi can (?:see|imagine) (?:why|how|that)\b", STRONG),
        (r"\b(?:makes|make) (?:complete |total |perfect )?sense (?:that|you)\b", WEAK),
        (r"\bthank(?:s| you) for (?:explaining|laying|walking|telling|bringing|raising|flagging|sharing|the detail)", WEAK),
    ], []),
    "apologized": ([
        (r"\b(?:i|we)(?:'m|'re| am| are)? (?:so |very |truly |really |terribly |deeply |sincerely )?sorry\b", STRONG),
        (r"\bsorry (?:to hear|about|for|that)\b", STRONG),
        (r"\bapologi[sz](?:e|ing)\b", STRONG),
        (r"\b(?:my|our|sincere|sincerest) apologies\b", STRONG),
        (r"\bplease accept (?:my|our)\b", WEAK),
    ], [r"\bno (?:need to )?apolog"]),
    "took_ownership": ([
        (r"\b(?:i|i'll|i will|i'm going to|i am going to) (?:personally )?(?:take care of|look after|own|see (?:this|it) through|take responsibility|take ownership)", STRONG),
        (r"\bi(?:'ll| will) (?:personally )?(?:make sure|ensure)\b", STRONG),
        (r"\b(?:this|that)(?: one)? (?:is|was) on (?:us|me)\b", STRONG),
        (r"\b(?:we|i) (?:dropped the ball|got (?:this|that|it) wrong|made (?:a|an) (?:mistake|error)|messed (?:this |that )?up|let you down)", STRONG),
        (r"\b(?:our|my) (?:mistake|fault|error)\b", STRONG),
        (r"\b(?:take|taking|takes) (?:full )?(?:ownership|responsibility)\b", STRONG),
        (r"\b(?:your|the) (?:single |main |direct )?point of contact\b", WEAK),
        (r"\bleave it with me\b", WEAK),
    ], [r"\bnot (?:our|my) (?:fault|responsibility|problem|doing)\b", r"\boutside (?:of )?(?:our|my) (?:control|responsibility|remit)\b",
        r"\b(?:on|with) (?:your|the customer's) (?:side|end)\b"]),
    "offered_options": ([
        (r"\byou (?:can|could) (?:either|choose|pick|opt)\b", STRONG),
        (r"\b(?:two|three|a few|several|some|a couple of) (?:options|choices|ways)\b", STRONG),
        (r"\bwould you (?:prefer|rather)\b", STRONG),
        (r"\b(?:if you(?:'d)? prefer|whichever (?:suits|works|you prefer))\b", STRONG),
        (r"\balternatively\b", STRONG),
        (r"\b(?:we|i) (?:can|could) (?:also )?offer\b", WEAK),
        (r"\boption (?:is|would be)\b", WEAK),
    ], [r"\b(?:not able|unable) to offer\b", r"\bcan(?:no|')t offer\b", r"\bno (?:other )?(?:options?|alternatives?)\b", r"\bnothing (?:more|else) we can\b"]),
    "set_expectations": ([
        (r"\bwithin (?:the next )?(?:\d+|one|two|three|four|five|a few|a couple of) (?:business |working )?(?:hours?|days?|weeks?)\b", STRONG),
        (r"\bby (?:the )?end of (?:the )?(?:day|week|month|today|tomorrow)\b", STRONG),
        (r"\b(?:by|on|before|until) " + _DAY, STRONG),
        (r"\b(?:expect|eta|estimated|timeline|time ?frame)\b", WEAK),
        (r"\bnext update\b", STRONG),
        (r"\bit (?:will|should|usually|normally|typically) takes? (?:about |around |up to )?(?:\d|one|two|three|a few|a couple)", STRONG),
    ], [r"\bcan(?:no|')t (?:give|promise|commit to|say) (?:you )?(?:a |an |any )?(?:firm )?(?:date|timeline|time ?frame|eta|time)\b",
        r"\bno (?:eta|timeline|date|time ?frame)\b", r"\b(?:don't|do not) (?:yet |currently )?(?:have|know) (?:a |an |any )?(?:date|timeline|eta|time ?frame)\b"]),
    "root_cause_fixed": ([
        (r"\broot cause\b", WEAK),
        (r"\b(?:underlying|actual|real|source of the) (?:cause|issue|problem|fault)\b", WEAK),
        (r"\b(?:fixed|resolved|corrected|patched|repaired|addressed|removed|eliminated) (?:the |that )?(?:underlying|root|source|cause)", STRONG),
        (r"\b(?:does(?:n't| not)|won't|will not|can't|cannot|shouldn't|should not) happen again\b", STRONG),
        (r"\b(?:deployed|rolled out|released|shipped|applied|put in place) (?:a |the )?(?:permanent )?(?:fix|patch|change|correction|safeguard)", STRONG),
        (r"\bpermanent(?:ly)? (?:fix|fixed|solution|resolved)\b", STRONG),
        (r"\bchanged (?:our|the) (?:process|procedure|setup|configuration|workflow)\b", STRONG),
        (r"\bescalated (?:this |it )?to (?:our|the) (?:engineering|product|development|technical|tier 2)", WEAK),
    ], [r"\b(?:still|currently) (?:investigating|looking into|working on|trying to find)\b", r"\b(?:not yet|yet to be) (?:fixed|resolved|identified|found)\b",
        r"\b(?:don't|do not) (?:yet )?know (?:the |what )(?:cause|caused)", r"\bworkaround\b"]),
    "followed_up": ([
        (r"\b(?:just )?(?:checking|following) (?:in|up|back)\b", STRONG),
        (r"\bwanted to (?:make sure|check|see|confirm)\b", STRONG),
        (r"\b(?:is|are) (?:everything|it|all|things) (?:still )?(?:working|ok|okay|running|fine|sorted|back to normal)\b", STRONG),
        (r"\bhow (?:are|is|have) (?:things|everything|it) (?:going|working|been)\b", STRONG),
        (r"\b(?:a|one|two|a few) (?:days?|weeks?) (?:on|later|since)\b", WEAK),
    ], [r"\b(?:if|when) (?:you need|anything else)", r"\bfeel free to (?:reply|get back|follow up)"]),
    "moved_private": ([
        (r"\b(?:dm|pm|message|inbox) us\b", STRONG),
        (r"\bsend us (?:a |your )?" + _PRIVATE, STRONG),
        (r"\b(?:via|by|in|through|over|in a) " + _PRIVATE + r"\b", STRONG),
        (r"\b(?:dms|inbox) (?:are|is) open\b", STRONG),
        (r"\b(?:continue|take) (?:this|the conversation|it) (?:privately|offline|in private|by email|over email|by phone)\b", STRONG),
        (r"\b(?:privately|offline)\b", WEAK),
        (r"\b(?:email|call|ring) us (?:at|on|directly)\b", WEAK),
    ], []),
}


def practice_confidence(texts: pd.Series) -> pd.DataFrame:
    """For each text, how sure the cues are that each practice was used (0 to 1): the
    noisy-or of the weights of the cues found, cut to a quarter where a contrary phrase is
    found too. Missing texts give NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.text import practice_confidence
    >>> sure = practice_confidence(pd.Series(["I am so sorry for the trouble; I will call you on Friday to check it holds.", None]))
    >>> (sure[["apologized", "followed_up"]] > 0.5).iloc[0].to_dict(), bool(sure.iloc[1].isna().all())
    ({'apologized': True, 'followed_up': False}, True)
    """
    array = _prepared(texts)
    missing = np.asarray(pc.is_null(array).to_numpy(zero_copy_only=False), dtype=bool)
    out = {}
    for practice in PRACTICES:
        cues, contrary = CUES[practice]
        absent = np.ones(len(array))
        for pattern, weight in cues:
            absent *= np.where(_matches(array, pattern), 1 - weight, 1.0)
        confidence = 1 - absent
        if contrary:
            confidence = np.where(_matches(array, "|".join(contrary)), confidence * CONTRARY, confidence)
        out[practice] = np.where(missing, np.nan, confidence)
    return pd.DataFrame(out, index=texts.index)


def read_practices(texts: pd.Series) -> pd.DataFrame:
    """Which handling practices each text (an agent's replies) shows: one boolean column per
    canonical practice name, on the index of ``texts``; missing texts give missing values.

    >>> read_practices(pd.Series(["I'm so sorry to hear that. Please DM us your order number."])).iloc[0].to_dict()
    {'listened_validated': False, 'apologized': True, 'took_ownership': False, 'offered_options': False, 'set_expectations': False, 'root_cause_fixed': False, 'followed_up': False, 'moved_private': True}
    """
    confidence = practice_confidence(texts)
    return (confidence >= USED_FROM).astype("boolean").mask(confidence.isna())


def _prepared(texts: pd.Series) -> pa.Array:
    """Lower-cased, masks out, typographic apostrophes made plain."""
    array = pa.array(plain_text(texts).to_numpy(dtype=object, na_value=None), type=pa.string())
    return pc.replace_substring(pc.utf8_lower(array), "\u2019", "'")


def _matches(array: pa.Array, pattern: str) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.match_substring_regex(array, pattern), False).to_numpy(zero_copy_only=False), dtype=bool)
