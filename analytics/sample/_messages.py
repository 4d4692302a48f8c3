"""What agents and clients wrote, with the handling and tone planted in it.

Replies say each practice used in one of several ways, some of them without the stock
phrases a reader looks for ("losing a day of work is the last thing you needed"); a reply
may also say something close to a practice not used ("we are not able to offer a refund").
Client messages carry their tone in varied words, some without the words a lexicon knows.
Assembled by Arrow from fragment pools, so that millions cost seconds.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analytics.sample._text import _pick

#: per practice: how agents say it was done
SAID = {
    "listened_validated": [
        "I understand how frustrating this must be.", "I completely understand why you are upset.",
        "That must have been really stressful for your team.", "I can see why this has caused so much trouble.",
        "You're right to expect better from us.", "Thank you for explaining what happened in so much detail.",
        "I hear you, and I know how much this matters to you.", "Losing a day of work over this is the last thing you needed.",
        "It is clear how much this has disrupted your week.", "Your concern is completely valid.",
    ],
    "apologized": [
        "I'm so sorry about this.", "We apologise for the inconvenience.", "Sorry for the trouble this has caused.",
        "Please accept our apologies.", "My apologies for the mix-up.", "I am truly sorry that this happened.",
        "We regret the disruption this caused.", "That should never have happened to you.",
    ],
    "took_ownership": [
        "I will personally make sure this gets sorted.", "This one is on us.", "We dropped the ball here.",
        "I'm taking ownership of this case until it's resolved.", "I'll be your single point of contact from now on.",
        "That was our mistake.", "Leave it with me.", "I have put my name on this ticket and will see it to the end.",
        "I'm not handing this to anyone else.",
    ],
    "offered_options": [
        "You can either keep the current plan or switch to monthly billing.", "There are two options here: a credit on your next invoice or a refund.",
        "Would you prefer a call or an email summary?", "Alternatively, we can send a replacement today.",
        "We could also offer a temporary workaround.", "A refund or a replacement, whichever suits you best.",
        "Let me know if a replacement or a refund works better for you.",
    ],
    "set_expectations": [
        "You will hear from me by Thursday.", "We expect the fix to be live within 48 hours.", "You'll have an update by the end of the day.",
        "The next update will come tomorrow morning.", "It usually takes about three working days.",
        "The engineer is booked for the morning of the 14th.", "Our engineers are aiming to finish the work this week.",
    ],
    "root_cause_fixed": [
        "We found the root cause and fixed it.", "We have deployed a permanent fix so this won't happen again.",
        "Our engineers corrected the underlying configuration error.", "We changed our process so this should not happen again.",
        "The faulty part is replaced and the source of the fault removed.", "The rule that caused the double charge has been rewritten.",
        "I have escalated this to our engineering team to fix the cause.",
    ],
    "followed_up": [
        "Just checking in to make sure everything is working now.", "Following up on last week's issue: is everything still running smoothly?",
        "I wanted to check that the fix has held.", "How have things been since the update?",
        "A quick note a week on: has the problem come back at all?", "Hope the new setup is treating you well.",
    ],
    "moved_private": [
        "Please DM us your account number.", "Could you send us a direct message with your details?", "Our DMs are open.",
        "Let's continue this by email.", "Please email us at the support address and we'll pick it up.",
        "We've followed you so we can chat one-to-one.",
    ],
}
#: per practice: what an agent who did not do it may write that sounds close
NOT_SAID = {
    "listened_validated": ["I understand you'd like an update on your ticket.", "Thank you for contacting us."],
    "apologized": ["No need to apologise for chasing us.", "Sorry, could you confirm your account number?"],
    "took_ownership": ["This appears to be an issue on your side.", "That is outside our control, unfortunately."],
    "offered_options": ["Unfortunately we are not able to offer a refund.", "There are no other options at this stage."],
    "set_expectations": ["I can't give you a firm date yet.", "We don't have an ETA at the moment."],
    "root_cause_fixed": ["We are still investigating what caused this.", "As a workaround, please restart the sync."],
    "followed_up": ["If you need anything else, feel free to reply to this email.", "Feel free to get back to us."],
    "moved_private": ["You can find our opening hours on the website."],
}
NOT_SAID_SHARE = 0.2  # of replies without a practice that say something close to it
GREETINGS = ["Hi,", "Hello,", "Hello there,", "Good morning,", "Thanks for reaching out.", ""]
FILLERS = ["I've looked at your account.", "Our team has reviewed the case.", "", "", "I've read through the history of this ticket."]
SIGN_OFFS = ["Best regards, Support", "Kind regards", "Thanks", "", "Regards, the Service Team"]

#: per tone: how clients say it
TONE_SAID = {
    "calm": [
        "Thanks for the update.", "Could you let me know when this will be fixed?", "Just confirming that I received your email.",
        "Appreciate the quick response.", "Can you tell me what the next step is?", "Is there any news on this?",
        "The report had an error in it, can you check?", "We noticed the export failed last night, please have a look.",
    ],
    "frustrated": [
        "I'm still waiting for an answer on this.", "This is the second time I've had to ask.", "I've been chasing this for days now.",
        "It's getting really frustrating.", "Nobody has told us what is going on.", "We keep getting the same error.",
        "Honestly, I expected this to be sorted by now.", "Disappointed that this still isn't fixed.",
    ],
    "angry": [
        "This is completely unacceptable.", "I am furious about how this has been handled!", "Your service has been a disgrace.",
        "If this is not fixed today we will cancel our contract.", "We are talking to our lawyers.",
        "THIS IS THE THIRD TIME THIS HAS HAPPENED!!", "I'm absolutely livid.", "I have had enough of excuses. Fix it now.",
    ],
    "abusive": [
        "You people are useless idiots.", "Fix this damn mess, you morons.", "What a bunch of incompetent clowns.",
        "Are you all stupid or just lazy?", "This is bullshit and you know it.", "Put me through to someone who isn't a moron.",
    ],
}
CONTEXT = ["About the invoice from last month.", "Our reference is in the subject line.", "This concerns our main site.", "", "", ""]


def agent_replies(used: dict[str, np.ndarray], rng: np.random.Generator) -> pa.Array:
    """One text per complaint: what its agents replied, saying each practice ``used`` (a
    boolean array per practice) in one of several ways; following up comes as a later
    message."""
    n = len(next(iter(used.values())))
    pieces = [_choice(GREETINGS, n, rng)]
    for practice, phrases in SAID.items():
        if practice == "followed_up":
            continue
        pieces.append(_sentence(used[practice], phrases, NOT_SAID[practice], rng))
        if practice == "apologized":
            pieces.append(_choice(FILLERS, n, rng))
    pieces.append(_choice(SIGN_OFFS, n, rng))
    later = _sentence(used["followed_up"], SAID["followed_up"], NOT_SAID["followed_up"], rng)
    first = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.binary_join_element_wise(*pieces, " "), r"\s{2,}", " "))
    return pc.if_else(pc.equal(later, ""), first, pc.binary_join_element_wise(first, later, "\n\n"))


def client_messages(tone: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """One message per contact in the given ``tone`` (canonical values): one or two
    different sentences in that tone, sometimes with context."""
    n = len(tone)
    names = list(TONE_SAID)
    pool = [phrase for phrases in TONE_SAID.values() for phrase in phrases]
    sizes = np.array([len(TONE_SAID[name]) for name in names])
    offsets = np.cumsum(sizes) - sizes
    code = np.select([tone == name for name in names], list(range(len(names))))
    size = sizes[code]
    first = rng.integers(0, 1 << 30, n) % size
    second = (first + 1 + rng.integers(0, 1 << 30, n) % (size - 1)) % size
    pieces = [
        _pick(offsets[code] + first, pool),
        pc.if_else(pa.array(rng.random(n) < 0.4), _pick(offsets[code] + second, pool), ""),
        _choice(CONTEXT, n, rng),
    ]
    return pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.binary_join_element_wise(*pieces, " "), r"\s{2,}", " "))


def _sentence(used: np.ndarray, phrases: list[str], not_said: list[str], rng: np.random.Generator) -> pa.Array:
    n = len(used)
    close = ~used & (rng.random(n) < NOT_SAID_SHARE)
    said = pc.if_else(pa.array(used), _choice(phrases, n, rng), _choice(not_said, n, rng))
    return pc.if_else(pa.array(used | close), said, "")


def _choice(pool: list[str], n: int, rng: np.random.Generator) -> pa.Array:
    return _pick(rng.integers(0, len(pool), n), pool)
