"""Complaint text with real variety: fragments per trigger, combined at random."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analytics.taxonomy import Trigger

OPENERS = [
    "Hi team,", "Hello,", "To whom it may concern,", "Good morning,", "", "", "Urgent:",
    "Following up again.", "I am writing to complain.", "Not happy.",
]
PROBLEMS = {
    "unmet_expectations": [
        "the onboarding did not include what we were promised in the proposal",
        "the report you delivered is nowhere near what was agreed",
        "we were told the migration would take a week and it is now a month",
        "the service level we pay for is not what we get",
        "your sales rep promised weekly check-ins that never happened",
        "the new plan does not cover the features we signed up for",
    ],
    "poor_communication": [
        "nobody has answered my last three emails",
        "we were not told about the maintenance window",
        "every time I call I get a different answer",
        "the ticket was closed without anyone telling us",
        "I had to chase your team for an update for days",
        "the changes to our account were never explained",
    ],
    "technical_failure": [
        "the dashboard has been down since this morning",
        "the integration keeps failing with a timeout error",
        "our data export is corrupted again",
        "the API returns 500 errors for every request",
        "the sync job crashed and we lost a day of records",
        "login fails for half of our users",
    ],
    "lack_of_accountability": [
        "your team keeps blaming our setup instead of fixing the issue",
        "nobody is taking responsibility for the outage",
        "we were passed between four departments",
        "the account manager says it is not his problem",
        "you promised a root cause analysis and never sent it",
    ],
    "billing": [
        "we were charged twice this month",
        "the invoice does not match the contract rate",
        "a refund we were promised has not arrived",
        "there are fees on the invoice nobody explained",
        "we were billed for seats we cancelled",
    ],
    "delivery_delay": [
        "the delivery is two weeks late",
        "the project milestone slipped again",
        "the replacement unit still has not shipped",
        "our order has been stuck in processing",
        "the go-live date was pushed back without notice",
    ],
    "product_quality": [
        "the units we received are faulty",
        "the quality of the last batch is unacceptable",
        "the translation was full of mistakes",
        "the new version is much worse than the old one",
        "the parts do not meet the agreed specification",
    ],
    "other": [
        "I have a general concern about the account",
        "something is not right and I need someone to look",
        "we need to discuss the relationship",
        "I want to raise an issue with how things are going",
    ],
}
IMPACTS = [
    "This is costing us money.", "Our customers are noticing.", "My boss is asking questions.",
    "We cannot keep working like this.", "This is the second time this quarter.", "",
    "We are reconsidering the contract.", "Please treat this as a priority.", "",
]
ASKS = [
    "Please call me back.", "Can someone fix this today?", "I expect a credit.",
    "What are you going to do about it?", "Please escalate.", "Let me know.", "",
    "I want to speak to a manager.",
]
FIRST = ["alex", "sam", "jordan", "maria", "li", "priya", "tom", "fatima", "noah", "emma"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net"]


def complaint_texts(trigger_codes: np.ndarray, rng: np.random.Generator, contact_share: float = 0.06) -> pa.Array:
    """One text per complaint, for trigger codes indexing :class:`~analytics.taxonomy.Trigger`.

    Texts are assembled from fragment pools by Arrow, so that millions cost seconds;
    ``contact_share`` of them carry an e-mail address or phone number.
    """
    n = len(trigger_codes)
    openers = [f"{o} " if o else "" for o in OPENERS]
    impacts = [f" {i}" if i else "" for i in IMPACTS]
    asks = [f" {a}" if a else "" for a in ASKS]
    phrases, offsets, sizes = [], [], []
    for trigger in Trigger:
        offsets.append(len(phrases))
        sizes.append(len(PROBLEMS[trigger.value]))
        phrases += [f"{p}." for p in PROBLEMS[trigger.value]]
    capitalised = [p[:1].upper() + p[1:] for p in phrases]
    opener = rng.integers(0, len(openers), n)
    codes = np.asarray(trigger_codes)
    problem = np.asarray(offsets)[codes] + (rng.random(n) * np.asarray(sizes)[codes]).astype(int)
    # a sentence starts with a capital unless it follows "Hi team," and the like
    follows_comma = np.array([o.endswith(", ") for o in openers])[opener]
    problem = np.where(follows_comma, problem, problem + len(phrases))
    impact = rng.integers(0, len(impacts), n)
    ask = rng.integers(0, len(asks), n)
    pieces = [
        _pick(opener, openers),
        _pick(problem, phrases + capitalised),
        _pick(impact, impacts),
        _pick(ask, asks),
    ]
    texts = pc.binary_join_element_wise(*pieces, "")
    with_contact = rng.random(n) < contact_share
    contacts = _contacts(int(with_contact.sum()), rng)
    return pc.replace_with_mask(texts, pa.array(with_contact), pc.binary_join_element_wise(texts.filter(pa.array(with_contact)), contacts, ""))


def _contacts(k: int, rng: np.random.Generator) -> pa.Array:
    """``k`` made-up contact sentences with an e-mail address, a phone number or both."""

    def number(low, high):
        return pa.array(rng.integers(low, high, k)).cast(pa.string())

    name = _pick(rng.integers(0, len(FIRST), k), FIRST)
    domain = _pick(rng.integers(0, len(DOMAINS), k), DOMAINS)
    email = pc.binary_join_element_wise(name, ".", number(10, 99), "@", domain, "")
    phone = pc.binary_join_element_wise("+44 20 7", number(100, 999), " ", number(1000, 9999), "")
    form = rng.integers(0, 3, k)
    sentences = [
        pc.binary_join_element_wise(" You can reach me at ", email, ".", ""),
        pc.binary_join_element_wise(" Call me on ", phone, ".", ""),
        pc.binary_join_element_wise(" My email is ", email, ", phone ", phone, ".", ""),
    ]
    return pc.case_when(pc.make_struct(pa.array(form == 0), pa.array(form == 1)), *sentences)


def _pick(codes: np.ndarray, pool: list[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(pool)).cast(pa.string())
