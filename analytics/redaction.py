"""Redaction: e-mail addresses, phone numbers, card-like and account-like numbers and URLs
replaced before any text is shown or exported."""

from __future__ import annotations

import re

import phonenumbers

URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"']+", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
# 13 to 19 digits, optionally grouped by spaces or dashes: card-like when the Luhn check passes
CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
# a run of digits with separators holding 6 or more digits, optionally behind a short
# letter prefix ("ACC-00123456", "IBAN GB29 NWBK 6016 1331 9268 19" is caught piecewise)
NUMBER = re.compile(r"(?<![\w.,#])(?:[A-Za-z]{1,4}[-#]?|#)?\d(?:[ ./-]?\d){5,}(?![\w])")
DECIMAL = re.compile(r"\d+\.\d+")


KINDS = ("url", "email", "card", "phone", "number")
#: what reports redact everywhere: identifiers (client ids, complaint ids) stay readable
CONTACT_DETAILS = ("email", "phone")


def redact(text, region: str = "US", kinds=KINDS) -> str:
    """``text`` with e-mail addresses, URLs, card-like numbers, phone numbers and other
    long account-like numbers replaced by ``[email]``, ``[url]``, ``[card]``, ``[phone]``
    and ``[number]`` (only the ``kinds`` asked for). Phone numbers are found by
    libphonenumber, national formats read as ``region``'s; dates and amounts are kept.

    >>> redact("Mail jo.doe@example.com or call (212) 555-0199 about card 4111 1111 1111 1111")
    'Mail [email] or call [phone] about card [card]'
    >>> redact("Refund of $1,250.00 promised on 2024-05-01 for account ACC-00123456")
    'Refund of $1,250.00 promised on 2024-05-01 for account [number]'
    """
    if text is None or text != text:  # None or NaN
        return text
    text = str(text)
    if "url" in kinds:
        text = URL.sub("[url]", text)
    if "email" in kinds:
        text = EMAIL.sub("[email]", text)
    if "card" in kinds:
        text = CARD.sub(lambda m: "[card]" if _luhn(m.group()) else m.group(), text)
    if "phone" in kinds and any(c.isdigit() for c in text):
        for match in reversed(list(phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE))):
            if _looks_like_phone(text, match.start, match.end):
                text = text[: match.start] + "[phone]" + text[match.end :]
    if "number" in kinds:
        text = NUMBER.sub(lambda m: m.group() if _is_date(m.group()) or DECIMAL.fullmatch(m.group()) else "[number]", text)
    return text


def _luhn(candidate: str) -> bool:
    digits = [int(d) for d in candidate if d.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def _looks_like_phone(text: str, start: int, end: int) -> bool:
    """libphonenumber's loosest matching also takes decimals and bare amounts: keep a match
    only if it is not part of a larger number, not a date, and written like a phone number
    (separated groups, a + or brackets, or at least 10 digits)."""
    raw = text[start:end]
    before, after = text[start - 1 : start], text[end : end + 2]
    if before.isdigit() or before in (".", ",") or after[:1].isdigit() or (after[:1] in (".", ",") and after[1:].isdigit()):
        return False
    if _is_date(raw):
        return False
    digits = sum(c.isdigit() for c in raw)
    if raw.isdigit():
        return digits >= 10
    return "." not in raw or "+" in raw or raw.count(".") >= 2  # 555.123.4567, not a decimal


DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def _is_date(candidate: str) -> bool:
    return DATE.fullmatch(candidate.strip()) is not None
