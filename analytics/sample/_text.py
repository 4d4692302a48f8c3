"""Complaint text with real variety: fragments per trigger, combined at random."""

import numpy as np

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
CONTACTS = [" You can reach me at {email}.", " Call me on {phone}.", " My email is {email}, phone {phone}."]
FIRST = ["alex", "sam", "jordan", "maria", "li", "priya", "tom", "fatima", "noah", "emma"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net"]


def complaint_texts(triggers: np.ndarray, rng: np.random.Generator, contact_share: float = 0.06) -> np.ndarray:
    """One text per complaint; ``contact_share`` of them carry an e-mail address or phone number."""
    n = len(triggers)
    texts = np.empty(n, dtype=object)
    # spaces are part of the fragments, so that an empty fragment leaves no double space
    openers = np.array([f"{o} " if o else "" for o in OPENERS], dtype=object)[rng.integers(0, len(OPENERS), n)]
    impacts = np.array([f" {i}" if i else "" for i in IMPACTS], dtype=object)[rng.integers(0, len(IMPACTS), n)]
    asks = np.array([f" {a}" if a else "" for a in ASKS], dtype=object)[rng.integers(0, len(ASKS), n)]
    for trigger, phrases in PROBLEMS.items():
        rows = np.flatnonzero(triggers == trigger)
        if len(rows):
            texts[rows] = np.array(phrases, dtype=object)[rng.integers(0, len(phrases), len(rows))]
    # a sentence starts with a capital unless it follows "Hi team," and the like
    starts = np.flatnonzero(~np.char.endswith(openers.astype(str), ", "))
    texts[starts] = [t[:1].upper() + t[1:] for t in texts[starts]]
    texts = openers + texts + "." + impacts + asks
    contact = np.flatnonzero(rng.random(n) < contact_share)
    for row in contact:
        name = FIRST[rng.integers(len(FIRST))]
        email = f"{name}.{rng.integers(10, 99)}@{DOMAINS[rng.integers(len(DOMAINS))]}"
        phone = f"+44 20 7{rng.integers(100, 999)} {rng.integers(1000, 9999)}"
        texts[row] += CONTACTS[rng.integers(len(CONTACTS))].format(email=email, phone=phone)
    return texts
