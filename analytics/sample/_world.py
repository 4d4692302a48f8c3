"""The simulated business's mechanics: the worlds' strengths, the practices' planted
effects, and the formulas that both the simulation and its planted truth use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.taxonomy import Practice, Resolution, Trigger

TRIGGERS = np.array([t.value for t in Trigger])
RESOLUTIONS = [r.value for r in Resolution]
PRACTICES = [p.value for p in Practice]
SEGMENTS = np.array(["smb", "mid_market", "enterprise"])
SEGMENT_SHARE = [0.55, 0.30, 0.15]
SEGMENT_VALUE = np.array([12_000.0, 60_000.0, 250_000.0])  # median annual value
CHANNELS = np.array(["email", "phone", "chat", "web", "in_person", "social_public"])
CHANNEL_SHARE = [0.34, 0.24, 0.18, 0.15, 0.05, 0.04]
TEAMS = np.array(["Support North", "Support South", "Tier 2", "Billing Desk", "Field Service", "Social Care"])
SLA_HOURS = np.array([48.0, 24.0, 8.0, 4.0])  # first response due, by severity 1-4
EXIT_HAZARD = 0.015

#: The ``subtle`` world's planted effect of each practice, on the logit (repeat, dispute,
#: csat), as a log multiplier of the complaint's churn burden (churn), or on the tone score
#: of the client's contacts after the first response (hostility; see ``_interactions``).
#: Zero: no effect.
SUBTLE_EFFECTS = {
    "listened_validated": {"repeat": 0.0, "dispute": -0.5, "csat": 0.6, "churn": -0.2, "hostility": -1.0},
    "apologized": {"repeat": 0.0, "dispute": 0.0, "csat": 0.0, "churn": 0.0, "hostility": -0.3},
    "took_ownership": {"repeat": -0.3, "dispute": -0.6, "csat": 0.4, "churn": -0.2, "hostility": -0.4},
    "offered_options": {"repeat": 0.0, "dispute": 0.0, "csat": 0.0, "churn": 0.0, "hostility": 0.0},
    "set_expectations": {"repeat": -0.2, "dispute": -0.7, "csat": 0.3, "churn": -0.1, "hostility": -0.2},
    "root_cause_fixed": {"repeat": -1.4, "dispute": -0.3, "csat": 0.3, "churn": -0.5, "hostility": 0.0},
    "followed_up": {"repeat": -0.6, "dispute": -0.2, "csat": 0.5, "churn": -0.4, "hostility": 0.0},
    "moved_private": {"repeat": 0.0, "dispute": -0.8, "csat": 0.4, "churn": -0.3, "hostility": 0.0},
}
#: The ``realistic`` world's: the same on repeats, disputes and CSAT; on churn, larger
#: multipliers of a burden that itself weighs far more (see :data:`WORLDS`).
REALISTIC_EFFECTS = {
    practice: dict(effects, churn={"listened_validated": -0.3, "took_ownership": -0.4, "set_expectations": -0.2, "root_cause_fixed": -0.6,
                                   "followed_up": -0.3, "moved_private": -0.5}.get(practice, 0.0))
    for practice, effects in SUBTLE_EFFECTS.items()
}


@dataclass(frozen=True)
class World:
    """How strongly complaints and their handling move a simulated business.

    Attributes
    ----------
    complaints_per_week : complaints a client of each segment (smb, mid-market,
        enterprise) makes a week at health 0
    churn_per_week : each segment's weekly churn hazard with no burden, health 0 and
        outside the notice window
    burden_coef, health_coef, notice_coef : log-hazard per unit of complaint burden, per
        unit of health (lower health, more churn), and in the notice window before renewal
    burden_per_severity : what a resolved, first, timely complaint of a client of each
        segment adds to the burden per step of severity (x2 unresolved, x1.6 a repeat,
        x1.4 slow): a large client, with more users, complains more often, and each
        complaint weighs less
    decay : the share of the burden left after a week
    effects : each practice's planted effect per outcome (see :data:`SUBTLE_EFFECTS`)
    followed_up_severe, followed_up_near_renewal : added to following up's churn effect
        after a severe complaint (3 or 4), and for a client within 90 days of renewal
    root_cause_technical : added to fixing the root cause's repeat effect on technical
        failures

    Examples
    --------
    >>> from dataclasses import replace
    >>> from analytics.sample import WORLDS, simulate
    >>> sorted(WORLDS)
    ['realistic', 'subtle']
    >>> calmer = replace(WORLDS["realistic"], burden_coef=0.0)  # complaints never drive churn
    >>> history, truth = simulate(n_clients=200, random_state=3, world=calmer)
    >>> len(history.clients)
    200
    """

    complaints_per_week: tuple
    churn_per_week: tuple
    burden_coef: float
    health_coef: float
    notice_coef: float
    burden_per_severity: tuple
    decay: float
    effects: dict
    followed_up_severe: float = 0.0
    followed_up_near_renewal: float = 0.0
    root_cause_technical: float = 0.0

    def coefficient(self, practice: str, outcome: str, severity, technical, near_renewal):
        """The planted effect of ``practice`` on ``outcome`` for complaints of the given
        severity, technical or not, of clients near renewal or not."""
        coefficient = self.effects[practice].get(outcome, 0.0)  # a world may plant no effect on an outcome
        if practice == "followed_up" and outcome == "churn":
            coefficient = coefficient + self.followed_up_severe * (np.asarray(severity) >= 3) + self.followed_up_near_renewal * np.asarray(near_renewal)
        if practice == "root_cause_fixed" and outcome == "repeat":
            coefficient = coefficient + self.root_cause_technical * np.asarray(technical)
        return coefficient


#: ``realistic`` (the default): annual logo churn and the complaint-churn relation in the
#: published ranges cited in data/README.md; ``subtle``: the first simulator's world, in
#: which churn is barely predictable and handling moves it by tenths of a point.
WORLDS = {
    "realistic": World(
        complaints_per_week=(0.03, 0.04, 0.05), churn_per_week=(0.0005, 0.0002, 0.00008),
        burden_coef=1.0, health_coef=0.7, notice_coef=2.2, burden_per_severity=(1.4, 1.1, 0.8), decay=0.95, effects=REALISTIC_EFFECTS,
        followed_up_severe=-0.5, followed_up_near_renewal=-0.4, root_cause_technical=-0.8,
    ),
    "subtle": World(
        complaints_per_week=(0.18, 0.26, 0.38), churn_per_week=(0.0012, 0.0012, 0.0012),
        burden_coef=0.8, health_coef=0.4, notice_coef=1.2, burden_per_severity=(0.08, 0.08, 0.08), decay=0.93, effects=SUBTLE_EFFECTS,
    ),
}
EFFECTS = WORLDS["realistic"].effects

# how likely each practice is used: base logit, change per severity step
USAGE = {
    "listened_validated": (0.6, 0.35),
    "apologized": (0.4, -0.6),
    "took_ownership": (-0.2, 0.4),
    "offered_options": (-0.4, 0.4),
    "set_expectations": (-0.1, 0.3),
    "root_cause_fixed": (-0.6, 0.5),
    "followed_up": (-0.5, 0.4),
    "moved_private": (0.3, 0.3),
}
REPEAT_BASE = -1.2
REPEAT_TRIGGER = {"technical_failure": 0.8, "billing": 0.2, "product_quality": 0.3}
REPEAT_BY_TRIGGER = np.array([REPEAT_TRIGGER.get(t, 0.0) for t in TRIGGERS])
DISPUTE_BASE = -1.4
CSAT_CUTS = np.array([-2.2, -1.0, 0.2, 1.6])  # ordered logit: CSAT > k for k = 1..4
REPEAT_WINDOW_DAYS = 90
RECORDED_ONCE_RESOLVED = ("root_cause_fixed", "followed_up")  # practices the data shows only for resolved complaints
REPEAT_DELAY_DAYS = 25  # mean days from resolution to a scheduled repeat, before the window caps it
RESOLUTION_SIGMA = 0.8  # of log days to resolve
SLOW_DAYS = 10  # a complaint resolved after this many days weighs more on its client
# a contact's tone: its score (complaint's anger plus logistic noise of this scale) cut at
# 0.3 (frustrated), 1.6 (angry) and 3.0 (abusive)
TONE_SCALE = 0.8
ANGRY_FROM_SCORE = 1.6
ABUSIVE_FROM_SCORE = 3.0


def median_resolution_days(severity, technical, root_cause_fixed):
    """Median of the lognormal days to resolve; fixing the root cause takes longer."""
    return (1.5 + 1.5 * severity + 3 * technical) * np.where(root_cause_fixed, 1.3, 1.0)


def unresolved_logit(severity, took_ownership):
    return -3.2 + 0.4 * (severity - 2.5) - 1.0 * took_ownership


def complaint_burden(weight, severity, unresolved, is_repeat, slow, churn_effect):
    """What a complaint adds to its client's churn burden (``weight``: per step of severity)."""
    return weight * severity * (1 + 1.0 * unresolved) * (1 + 0.6 * is_repeat) * (1 + 0.4 * slow) * np.exp(churn_effect)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def in_notice_window(days_in: np.ndarray, notice_days: np.ndarray) -> np.ndarray:
    """Whether a day ``days_in`` days after the contract start falls in the notice period
    before one of its yearly renewals."""
    return (days_in >= 0) & ((365 - days_in % 365) <= notice_days)
