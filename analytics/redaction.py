"""Redaction: e-mail addresses, phone numbers, IBANs, card-like and account-like numbers and
URLs replaced before any text is shown or exported."""

from __future__ import annotations

import re

import phonenumbers
from stdnum import iban

__all__ = ["redact"]

URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"']+", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
# written as cards are: 13 to 19 digits in one run, in fours (4-4-4-4, up to 19 digits) or
# as 4-6-5; card-like when the Luhn check passes
CARD = re.compile(r"(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})(?![\w-])")
# a run of digits with separators holding 6 or more digits, optionally behind a short
# letter prefix ("ACC-00123456", "IBAN GB29 NWBK 6016 1331 9268 19" is caught piecewise)
NUMBER = re.compile(r"(?<![\w.,#])(?:[A-Za-z]{1,4}[-#]?|#)?\d(?:[ ./-]?\d){5,}(?![\w])")
DECIMAL = re.compile(r"\d+\.\d+")
# a country code, two check digits and 11 to 30 letters and digits, grouped or not (checked by its checksum)
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")


KINDS = ("url", "email", "iban", "card", "phone", "number")
#: what reports redact everywhere; identifiers (client ids, complaint ids) stay readable
PERSONAL_DETAILS = ("email", "iban", "card", "phone")
#: national phone formats tried, besides international ones (+44 ..., 0049 ...): each pass finds that country's
REGIONS = ("US", "GB", "DE", "FR", "IN", "AU")
PHONE_DIGITS = 7  # no country's phone numbers are shorter in practice


def redact(text, regions=REGIONS, kinds=KINDS) -> str:
    """``text`` with e-mail addresses, URLs, IBANs, card-like numbers, phone numbers and
    other long account-like numbers replaced by ``[email]``, ``[url]``, ``[iban]``,
    ``[card]``, ``[phone]`` and ``[number]`` (only the ``kinds`` asked for). Phone numbers
    are found by libphonenumber, national formats read as each of ``regions``' (a region
    code or several); IBANs and cards are replaced only when their check digits hold;
    dates and amounts are kept.

    >>> redact("Mail jo.doe@example.com or call (212) 555-0199 about card 4111 1111 1111 1111")
    'Mail [email] or call [phone] about card [card]'
    >>> redact("Refund of $1,250.00 promised on 2024-05-01 for account ACC-00123456")
    'Refund of $1,250.00 promised on 2024-05-01 for account [number]'
    >>> redact("Ring 020 7946 0959 or 0049 30 901820, pay to GB29 NWBK 6016 1331 9268 19")
    'Ring [phone] or [phone], pay to [iban]'
    """
    if text is None or text != text:  # None or NaN
        return text
    text = str(text)
    if "url" in kinds:
        text = URL.sub("[url]", text)
    if "email" in kinds:
        text = EMAIL.sub("[email]", text)
    if "iban" in kinds:
        text = IBAN.sub(_iban, text)
    if "card" in kinds:
        text = CARD.sub(lambda m: "[card]" if _luhn(m.group()) else m.group(), text)
    if "phone" in kinds and sum(c.isdigit() for c in text) >= PHONE_DIGITS:  # fewer digits cannot hold a phone number: skip the matcher
        text = _phones(text, (regions,) if isinstance(regions, str) else regions)
    if "number" in kinds:
        text = NUMBER.sub(lambda m: m.group() if _is_date(m.group()) or DECIMAL.fullmatch(m.group()) else "[number]", text)
    return text


def _iban(match: re.Match) -> str:
    """``[iban]`` for the longest valid IBAN the match starts with (it may run into a next word)."""
    candidate = match.group()
    while len(candidate.replace(" ", "")) >= 15:
        if iban.is_valid(candidate):
            return "[iban]" + match.group()[len(candidate):]
        candidate = candidate[:-1].rstrip()
    return match.group()


def _phones(text: str, regions) -> str:
    """Every span any region's reading takes for a phone number, overlapping spans joined."""
    spans = sorted(
        (m.start, m.end)
        for region in regions
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
        if _looks_like_phone(text, m.start, m.end)
    )
    joined: list[list[int]] = []
    for start, end in spans:
        if joined and start <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    for start, end in reversed(joined):
        text = text[:start] + "[phone]" + text[end:]
    return text


def _luhn(candidate: str) -> bool:
    digits = [int(d) for d in candidate if d.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def _looks_like_phone(text: str, start: int, end: int) -> bool:
    """libphonenumber's loosest matching also takes decimals and bare amounts: keep a match
    only if it is not part of a larger number, not a date, holds at least 7 digits (no
    country's numbers are shorter in practice; "(95% CI" is no phone number) and is written
    like a phone number (separated groups, a + or brackets, or at least 10 digits)."""
    raw = text[start:end]
    before, after = text[start - 1 : start], text[end : end + 2]
    if before.isdigit() or before in (".", ",") or after[:1].isdigit() or (after[:1] in (".", ",") and after[1:].isdigit()):
        return False
    if _is_date(raw):
        return False
    digits = sum(c.isdigit() for c in raw)
    if digits < PHONE_DIGITS:
        return False
    if raw.isdigit():
        return digits >= 10
    return "." not in raw or "+" in raw or raw.count(".") >= 2  # 555.123.4567, not a decimal


DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


def _is_date(candidate: str) -> bool:
    return DATE.fullmatch(candidate.strip()) is not None
