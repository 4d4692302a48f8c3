"""Masks are holes, not words: the placeholders exports and our own redaction leave in
text are taken out before text is read, so that no topic or classifier learns them."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# the CFPB's masks (XX/XX/2019, XXXX, {$39.00}), bracketed placeholders like our own
# ([email], [phone]) and asterisked ones (****1234, ***)
MASKS = (
    r"\b[Xx]{2}/[Xx]{2}/(?:[Xx]{2,4}|\d{2,4})\b",
    r"\b[Xx]{2,}\b",
    r"\{\$?[\d,.]*\}",
    r"\[(?:email|phone|url|iban|card|number|name|redacted|removed)\]",
    r"\*{3,}\d*",
)
MASK = "|".join(MASKS)
# helpdesk APIs hand messages over as HTML ("<p>Hi</p>"): tags become spaces, the common
# entities their characters
TAG = r"<[^>]{0,200}>"
ENTITIES = {"&nbsp;": " ", "&#39;": "'", "&apos;": "'", "&quot;": '"', "&lt;": "<", "&gt;": ">", "&amp;": "&"}


def strip_masks(texts: pd.Series) -> pd.Series:
    """``texts`` with masking tokens removed and the spaces they leave joined.

    >>> strip_masks(pd.Series(["On XX/XX/2019 I paid {$39.00} to XXXX XXXX, see [email]"])).iloc[0]
    'On I paid to , see'
    """
    array = pa.array(texts.astype("string").to_numpy(dtype=object, na_value=None), type=pa.string())
    array = pc.replace_substring_regex(array, MASK, "")
    array = pc.utf8_trim_whitespace(pc.replace_substring_regex(array, r"\s{2,}", " "))
    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=texts.index, name=texts.name)


def plain_text(texts: pd.Series) -> pd.Series:
    """``texts`` as a reader should see them: HTML tags and entities undone, masks taken out.

    >>> plain_text(pd.Series(["<p>We&#39;re sorry, XXXX.</p><p>Please DM us.</p>"])).iloc[0]
    "We're sorry, . Please DM us."
    """
    array = pa.array(texts.astype("string").to_numpy(dtype=object, na_value=None), type=pa.string())
    array = pc.replace_substring_regex(array, TAG, " ")
    for entity, character in ENTITIES.items():
        array = pc.replace_substring(array, entity, character)
    return strip_masks(pd.Series(pd.arrays.ArrowExtensionArray(array), index=texts.index, name=texts.name))
