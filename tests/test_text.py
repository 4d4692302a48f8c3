"""Redaction on a corpus of tricky cases: what must go, and what must stay readable."""

import pytest

from analytics.rootcause.text import CONTACT_DETAILS, redact

CASES = [
    ("Write to jo.doe+billing@example.co.uk today", "Write to [email] today"),
    ("<a.b@c.io>", "<[email]>"),
    ("call (212) 555-0199 or 212.555.0199", "call [phone] or [phone]"),
    ("international +44 20 7946 0958, ext later", "international [phone], ext later"),
    ("tel:+1-212-555-0199", "tel:[phone]"),
    ("digits only 2125550199", "digits only [phone]"),
    ("card 4111-1111-1111-1111 declined", "card [card] declined"),
    ("see https://portal.example.com/t?id=9&u=jo and www.example.org/x", "see [url] and [url]"),
    ("account ACC-00123456 locked", "account [number] locked"),
    ("order #123456789 missing", "order [number] missing"),
    # kept: dates, amounts, short references, decimals, ordinary numbers
    ("Refund of $1,250.00 promised on 2024-05-01", "Refund of $1,250.00 promised on 2024-05-01"),
    ("due 05/01/2024, ticket 4521, 3 days late", "due 05/01/2024, ticket 4521, 3 days late"),
    ("ratio 0.0345621234 and 4380.136581", "ratio 0.0345621234 and 4380.136581"),
    ("1,234,567,890 records", "1,234,567,890 records"),
    ("<script>alert('x')</script>", "<script>alert('x')</script>"),  # escaping is the display's job, not redaction's
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_redaction_corpus(text, expected):
    assert redact(text) == expected


def test_contact_details_only_keeps_identifiers():
    assert redact("CL000389 wrote from a@b.com, +1 212 555 0199, order 123456789", kinds=CONTACT_DETAILS) == "CL000389 wrote from [email], [phone], order 123456789"


def test_missing_text_stays_missing():
    assert redact(None) is None
    assert redact(float("nan")) != redact(float("nan"))  # NaN is kept, not turned into "nan"
