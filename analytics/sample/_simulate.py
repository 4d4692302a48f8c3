"""A simulated service business whose hidden truth is known.

The generative model, week by week over ``[start, end)``:

1. **Clients** belong to a segment (``smb``, ``mid_market``, ``enterprise``) that sets
   annual value and complaint rate. Contracts run in 12-month terms from
   ``contract_start`` with a notice period of 30, 60 or 90 days. A latent health
   (standard normal) drifts as a slow random walk. 3% of clients are planted
   *abusive* (angry and abusive contacts, much longer handling) and 5% *unprofitable*
   (low value, many complaints).
2. **Complaints** arrive as a Poisson process whose weekly rate (the world's, by segment)
   rises as health falls (x exp(-0.5 health)), x2.5 for abusive and x2.5 for unprofitable clients. Each has
   a true trigger (from the client's own mix of the eight triggers), a channel (4% public
   social media), a severity 1-4 (technical failures run more severe), a team and agent.
3. **Handling practices** are used with a probability set by the team (teams differ),
   rising with severity, so practices are confounded with severity. ``apologized`` is
   the exception: it is used mostly on mild, non-technical complaints and has no effect
   at all, so a naive comparison makes it look helpful. ``offered_options`` has no effect
   either. ``moved_private`` only applies to public complaints.
4. **Outcomes** of each complaint follow logistic models with the world's planted
   coefficients (:meth:`World.coefficient`; in the realistic world following up helps
   more after severe complaints and near renewal, fixing the root cause more for
   technical failures): a *scheduled repeat* (the same trigger comes back within 90 days
   of resolution; technical failures and severe complaints more often; fixing the root
   cause prevents it most), a *dispute*, and CSAT (ordered logit; P(CSAT >= 4) is the
   reported scale). Resolution type, response and resolution times, SLA, reopens,
   escalation, handling minutes and credits follow from severity, trigger and practices.
5. **Churn**: each complaint adds to the client's *burden* (more for severe, unresolved,
   repeated and slow complaints; less with the practices that help, by
   ``exp(churn coefficient)``); the burden fades by the world's ``decay`` each week. The
   weekly churn hazard is ``churn_per_week[segment] * exp(burden_coef * burden -
   health_coef * health + notice_coef * in_notice_window)``, where the notice window is
   the notice period before each renewal date (:data:`WORLDS` holds the strengths). The business
   ends relationships itself (``ended_by_us``) with planted abusive or unprofitable
   clients after a year, at 1.5% a week.
6. **Text** per trigger from fragment pools; 6% carry an e-mail address or phone
   number. The recorded trigger is missing for 8% of complaints and wrong for 6%.

:class:`Truth` keeps what was planted: effects on each scale, each client's weekly
burden and health (so the true churn probability at any cutoff can be computed),
each complaint's true trigger, and which clients are abusive or unprofitable.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtr

from analytics._time import utc
from analytics.io import History
from analytics.sample._messages import agent_replies, client_messages
from analytics.sample._text import complaint_texts
from analytics.schemas import column_rules
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


@dataclass
class Truth:
    """What the simulator planted.

    Attributes
    ----------
    effects : DataFrame
        One row per practice and outcome: ``coefficient`` on the simulator's scale and
        ``ate``, the average effect on the outcome probability over all complaints
        (repeat within 90 days, dispute, P(CSAT >= 4), churn within 180 days, hostility:
        an angry or abusive client contact after the first response), and
        ``ate_recorded``, the same over the complaints whose outcome the data can show:
        those resolved before the end (an unresolved complaint has no dispute or CSAT),
        and for churn those whose practice the data shows (see ``RECORDED_ONCE_RESOLVED``);
        a churn counts as the data records it, from the opening to 180 days later, unless
        we ended the client first.
    complaints : DataFrame
        Per complaint id: ``true_trigger``, ``repeat_of`` (the complaint whose trigger
        came back, if this is a planted repeat), ``p_repeat`` and ``p_dispute`` (the
        planted probabilities of a scheduled repeat and of a dispute), and
        ``repeat_scheduled`` (whether a repeat was scheduled; it comes only if the client
        is still a client when it falls due, within the simulated period), ``true_severity``,
        ``near_renewal`` (the client within 90 days of a renewal when it was opened),
        ``true_channel``, ``burden`` (what it added to its client's churn burden),
        ``used_<practice>`` for every practice (also where the data hides it),
        ``resolved_in_data``, and ``p_hostile``, the planted probability that a client
        contact after the first response is angry or abusive (NaN without such a
        contact), also as it would be with and without each practice
        (``hostile_with_<practice>``, ``hostile_without_<practice>``).
    hazard : ndarray
        Clients x weeks: the weekly churn hazard of each client (it applies while
        ``alive``).
    abusive, unprofitable : set of client ids
    """

    effects: pd.DataFrame
    complaints: pd.DataFrame
    abusive: set
    unprofitable: set
    start: pd.Timestamp
    client_ids: np.ndarray
    burden: np.ndarray  # clients x weeks, at the start of each week
    health: np.ndarray  # clients x weeks
    contract_start: np.ndarray  # contract start per client, for renewal dates
    notice_days: np.ndarray
    alive: np.ndarray  # clients x weeks: active at the start of the week
    hazard: np.ndarray  # clients x weeks
    base_hazard: np.ndarray  # per client: the segment's weekly hazard with no burden
    world: World
    churn_added: pd.DataFrame | None = None  # sampled complaint ids x practices: see added_effect

    def coefficient(self, practice: str, outcome: str) -> pd.Series:
        """The planted effect of ``practice`` on ``outcome`` for each complaint (it varies
        only where the world plants heterogeneity)."""
        c = self.complaints
        value = self.world.coefficient(practice, outcome, c["true_severity"].to_numpy(), (c["true_trigger"] == "technical_failure").to_numpy(),
                                       c["near_renewal"].to_numpy())
        return pd.Series(np.broadcast_to(value, len(c)), index=c.index, name=f"{practice}_{outcome}")

    def added_effect(self, practice: str, outcome: str) -> pd.Series:
        """The planted change in each complaint's probability of a repeat or a dispute had
        ``practice`` been added to its handling: 0 where it was used already, or cannot
        be (moving a complaint private that was not public). For churn within 180 days,
        the same for the complaints the churn window samples (up to 100,000 followed for
        the full 180 days; NaN for the others). For hostility (a client contact after the
        first response angry or abusive), the same where the client wrote after the first
        response (NaN elsewhere)."""
        c = self.complaints
        if outcome == "hostility":
            change = c[f"hostile_with_{practice}"] - c[f"hostile_without_{practice}"]
            used = c[f"used_{practice}"].to_numpy(bool) | ((c["true_channel"] != "social_public").to_numpy() if practice == "moved_private" else False)
            return change.where(~used, 0.0).where(c["p_hostile"].notna()).rename(f"{practice}_hostility")
        if outcome == "churn":
            sampled = c.index.isin(self.churn_added.index)
            return self.churn_added[practice].reindex(c.index).fillna(0.0).where(sampled).rename(f"{practice}_churn")
        probability = {"repeat": c["p_repeat"], "dispute": c["p_dispute"]}[outcome].to_numpy(float)
        used = c[f"used_{practice}"].to_numpy(bool)
        logit = np.log(probability / (1 - probability))
        change = _sigmoid(logit + self.coefficient(practice, outcome).to_numpy()) - probability
        applicable = c["true_channel"].to_numpy() == "social_public" if practice == "moved_private" else np.ones(len(c), bool)
        return pd.Series(np.where(used | ~applicable, 0.0, change), index=c.index, name=f"{practice}_{outcome}")

    @property
    def complaint_trigger(self) -> pd.Series:
        return self.complaints["true_trigger"]

    def churn_probability(self, cutoff, horizon: str = "90D") -> pd.Series:
        """The true probability that each client active at ``cutoff`` churns within ``horizon``.

        The hazard projected from the state at the cutoff: the burden decays as it
        would with no new complaints, health stays where it is, renewal windows come
        when the contract says. Clients not active at the cutoff are left out.
        """
        cutoff = utc(cutoff)
        week = int((cutoff - self.start).days // 7)
        weeks = max(1, int(round(pd.Timedelta(horizon).days / 7)))
        week = min(max(week, 0), self.burden.shape[1] - 1)
        alive = self.alive[:, week]
        steps = np.arange(weeks)
        world = self.world
        burden = self.burden[alive, week][:, None] * world.decay ** steps[None, :]
        cutoff_day = int(cutoff.tz_localize(None).to_datetime64().astype("datetime64[D]").astype(np.int64))
        days_in = cutoff_day + 7 * steps[None, :] - self.contract_start[alive].astype(np.int64)[:, None]
        notice = _in_notice_window(days_in, self.notice_days[alive][:, None])
        hazard = self.base_hazard[alive][:, None] * np.exp(world.burden_coef * burden - world.health_coef * self.health[alive, week][:, None] + world.notice_coef * notice)
        return pd.Series(1 - np.exp(-hazard.sum(axis=1)), index=pd.Index(self.client_ids[alive], name="client_id"), name="true_churn_probability")


def _hostility_effects(truth: pd.DataFrame, world: World) -> pd.DataFrame:
    """Rows of :attr:`Truth.effects` for hostility: over complaints with a client contact
    after the first response (where the data can show it)."""
    rows = []
    shown = truth["p_hostile"].notna().to_numpy()
    for practice in PRACTICES:
        change = (truth[f"hostile_with_{practice}"] - truth[f"hostile_without_{practice}"]).to_numpy()
        applicable = shown & ((truth["true_channel"] == "social_public").to_numpy() if practice == "moved_private" else True)
        recorded = applicable & (truth["resolved_in_data"].to_numpy() if practice in RECORDED_ONCE_RESOLVED else True)
        rows.append({"practice": practice, "outcome": "hostility", "coefficient": world.effects[practice].get("hostility", 0.0),
                     "ate": _mean(change[applicable]), "ate_recorded": _mean(change[recorded]),
                     "usage": _mean(truth[f"used_{practice}"].to_numpy()[applicable])})
    return pd.DataFrame(rows)


def _mean(values: np.ndarray) -> float:
    """The mean, NaN for none (a tiny world may have no client contact after a response)."""
    return float(values.mean()) if len(values) else float("nan")


def _median_resolution_days(severity, technical, root_cause_fixed):
    """Median of the lognormal days to resolve; fixing the root cause takes longer."""
    return (1.5 + 1.5 * severity + 3 * technical) * np.where(root_cause_fixed, 1.3, 1.0)


def _unresolved_logit(severity, took_ownership):
    return -3.2 + 0.4 * (severity - 2.5) - 1.0 * took_ownership


def _burden(weight, severity, unresolved, is_repeat, slow, churn_effect):
    """What a complaint adds to its client's churn burden (``weight``: per step of severity)."""
    return weight * severity * (1 + 1.0 * unresolved) * (1 + 0.6 * is_repeat) * (1 + 0.4 * slow) * np.exp(churn_effect)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _in_notice_window(days_in: np.ndarray, notice_days: np.ndarray) -> np.ndarray:
    """Whether a day ``days_in`` days after the contract start falls in the notice period
    before one of its yearly renewals."""
    return (days_in >= 0) & ((365 - days_in % 365) <= notice_days)


def simulate(n_clients: int = 600, start="2023-01-01", end="2026-01-01", random_state=0, world: str | World = "realistic") -> tuple[History, Truth]:
    """Simulate a service business; see the module docstring for the model and
    :data:`WORLDS` for the strengths ``world`` names (or pass a :class:`World`).

    Examples
    --------
    >>> history, truth = simulate(n_clients=50, random_state=1)
    >>> set(history.clients["status"]) <= {"active", "churned", "ended_by_us"}
    True
    """
    if not isinstance(world, World):
        if world not in WORLDS:
            raise ValueError(f"world must be one of {', '.join(WORLDS)} or a World, not {world!r}")
        world = WORLDS[world]
    rng = np.random.default_rng(random_state)
    start, end = utc(start), utc(end)
    n_weeks = int((end - start).days // 7)
    n = n_clients

    # --- clients ---
    segment = rng.choice(3, n, p=SEGMENT_SHARE)
    annual_value = SEGMENT_VALUE[segment] * rng.lognormal(0, 0.5, n)
    abusive = rng.random(n) < 0.03
    unprofitable = ~abusive & (rng.random(n) < 0.05)
    annual_value[unprofitable] = SEGMENT_VALUE[0] * rng.uniform(0.15, 0.4, unprofitable.sum())
    start_day = np.where(rng.random(n) < 0.7, rng.uniform(-3 * 365, 0, n), rng.uniform(0, (end - start).days - 120, n))
    contract_start = (start.tz_localize(None).to_datetime64() + (start_day * 86400).astype("timedelta64[s]")).astype("datetime64[D]")
    notice_days = rng.choice([30, 60, 90], n, p=[0.5, 0.3, 0.2])
    health = rng.normal(0, 1, n)
    trigger_mix = rng.dirichlet(np.full(len(TRIGGERS), 0.8), n)
    trigger_mix[:, list(TRIGGERS).index("other")] *= 0.3
    trigger_cum = np.cumsum(trigger_mix / trigger_mix.sum(1, keepdims=True), axis=1)
    base_hazard = np.asarray(world.churn_per_week)[segment]
    rate_mult = np.where(abusive, 2.5, 1.0) * np.where(unprofitable, 2.5, 1.0)
    team_skill = rng.normal(0, 0.5, (len(TEAMS), len(PRACTICES)))
    team_of_segment = np.array([[0.4, 0.3, 0.05, 0.15, 0.05, 0.05], [0.3, 0.3, 0.15, 0.1, 0.1, 0.05], [0.15, 0.15, 0.35, 0.1, 0.2, 0.05]])

    ended = np.zeros(n, bool)
    ended_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    status = np.full(n, "active", dtype=object)
    burden = np.zeros(n)
    burden_hist = np.zeros((n, n_weeks), np.float32)
    health_hist = np.zeros((n, n_weeks), np.float32)
    alive_hist = np.zeros((n, n_weeks), bool)
    hazard_hist = np.zeros((n, n_weeks), np.float32)
    pending = {"client": np.array([], int), "trigger": np.array([], int), "week": np.array([], int), "parent": np.array([], int)}
    batches = []
    start_s = start.tz_localize(None).to_datetime64().astype("datetime64[s]")
    contract_start_s = contract_start.astype("datetime64[s]")
    start_day_number = contract_start.astype(np.int64)  # days since 1970
    complaint_count = 0

    for week in range(n_weeks):
        week_start = start_s + np.timedelta64(7 * 86400 * week, "s")
        week_day = start_s.astype("datetime64[D]").astype(np.int64) + 7 * week
        alive = ~ended & (contract_start_s <= week_start)
        health += rng.normal(0, 0.06, n) - 0.01 * health
        burden_hist[:, week], health_hist[:, week], alive_hist[:, week] = burden, health, alive

        # new complaints, and repeats that fall due this week
        rate = np.asarray(world.complaints_per_week)[segment] * np.exp(-0.5 * health) * rate_mult * alive
        counts = rng.poisson(rate)
        new_client = np.repeat(np.arange(n), counts)
        new_trigger = (rng.random(len(new_client))[:, None] > trigger_cum[new_client]).sum(1)
        due = pending["week"] == week
        due_alive = due & alive[pending["client"]]
        client = np.concatenate([new_client, pending["client"][due_alive]])
        trigger = np.concatenate([new_trigger, pending["trigger"][due_alive]])
        parent = np.concatenate([np.full(len(new_client), -1), pending["parent"][due_alive]])
        pending = {k: v[~due] for k, v in pending.items()}
        m = len(client)
        if m == 0:
            burden *= world.decay
            continue
        ids = np.arange(complaint_count, complaint_count + m)
        complaint_count += m
        days_in = week_day - start_day_number  # days since contract start
        near_renewal = (days_in[client] >= 0) & (365 - days_in[client] % 365 <= 90)
        c = _complaints(world, rng, client, trigger, parent, ids, week_start, segment, abusive, health, team_skill, team_of_segment, near_renewal)

        # a scheduled repeat comes back after resolution, within 90 days
        repeat = c["repeat_scheduled"]
        delay_days = c["resolution_days"][repeat] + np.minimum(rng.exponential(REPEAT_DELAY_DAYS, repeat.sum()), REPEAT_WINDOW_DAYS - 1)
        pending = {
            "client": np.concatenate([pending["client"], client[repeat]]),
            "trigger": np.concatenate([pending["trigger"], trigger[repeat]]),
            "week": np.concatenate([pending["week"], week + np.ceil(delay_days / 7).astype(int)]),
            "parent": np.concatenate([pending["parent"], ids[repeat]]),
        }

        # each complaint adds to its client's burden; the practices that help add less
        burden += np.bincount(client, weights=c["burden"], minlength=n)
        notice = _in_notice_window(days_in, notice_days)
        hazard = base_hazard * np.exp(world.burden_coef * burden - world.health_coef * health + world.notice_coef * notice)
        hazard_hist[:, week] = hazard
        churn = alive & (rng.random(n) < 1 - np.exp(-hazard))
        tenure_weeks = days_in / 7
        exit_ = alive & ~churn & (abusive | unprofitable) & (tenure_weeks > 52) & (rng.random(n) < EXIT_HAZARD)
        for mask, label in ((churn, "churned"), (exit_, "ended_by_us")):
            ended |= mask
            status[mask] = label
            ended_at[mask] = week_start + (rng.uniform(0, 7, mask.sum()) * 86400).astype("timedelta64[s]")
        burden *= world.decay
        c["week"] = np.full(m, week)
        c["burden_before"] = burden_hist[client, week]
        batches.append(c)

    complaints = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    with ThreadPoolExecutor(max_workers=3) as pool:  # NumPy and Arrow release the GIL
        # the first week we may end an abusive or unprofitable client: after a year's tenure
        weeks_to_contract = (start_day_number - start_s.astype("datetime64[D]").astype(np.int64)) / 7
        exit_week = np.where(abusive | unprofitable, np.floor(52 + weeks_to_contract) + 1, np.inf)
        effects = pool.submit(_planted_effects, world, complaints, hazard_hist, start, end, exit_week)
        history, truth_frame = _assemble(pool, rng, world, complaints, n, segment, annual_value, contract_start, notice_days, status, ended_at, abusive, unprofitable, start, end)
        effects, churn_added = effects.result()
        effects = pd.concat([effects, _hostility_effects(truth_frame, world)], ignore_index=True)
        # simulation order -> the exported order of complaint ids
        position = np.empty(len(complaints["opened"]), dtype=np.int64)
        position[np.argsort(complaints["opened"], kind="stable")] = np.arange(len(position))
        churn_added.index = pd.Index(truth_frame.index[position[churn_added.index.to_numpy()]], name="complaint_id")
    client_ids = history.clients["client_id"].to_numpy(dtype=object)
    truth = Truth(
        effects=effects,
        complaints=truth_frame,
        abusive=set(client_ids[abusive]),
        unprofitable=set(client_ids[unprofitable]),
        start=start,
        client_ids=client_ids,
        burden=burden_hist,
        health=health_hist,
        contract_start=contract_start,
        notice_days=notice_days,
        alive=alive_hist,
        hazard=hazard_hist,
        base_hazard=base_hazard,
        world=world,
        churn_added=churn_added,
    )
    return history, truth


def _complaints(world, rng, client, trigger, parent, ids, week_start, segment, abusive, health, team_skill, team_of_segment, near_renewal) -> dict:
    """Attributes and outcomes of one week's complaints."""
    m = len(client)
    trig = TRIGGERS[trigger]
    technical = trig == "technical_failure"
    severity = 1 + (rng.random((m, 3)) < np.stack([0.75 + 0.1 * technical, 0.35 + 0.15 * technical - 0.05 * health[client], np.full(m, 0.12) + 0.1 * technical], 1)).cumprod(1).sum(1)
    severity = np.clip(severity, 1, 4)
    channel = rng.choice(len(CHANNELS), m, p=CHANNEL_SHARE)
    public = CHANNELS[channel] == "social_public"
    team = (rng.random(m)[:, None] > np.cumsum(team_of_segment[segment[client]], 1)).sum(1)
    team = np.where(public, list(TEAMS).index("Social Care"), np.where(trig == "billing", np.where(rng.random(m) < 0.6, list(TEAMS).index("Billing Desk"), team), team))
    sev_step = severity - 2.5
    used = {}
    for k, practice in enumerate(PRACTICES):
        base, per_severity = USAGE[practice]
        logit = base + team_skill[team, k] + per_severity * sev_step
        if practice == "apologized":
            logit = logit - 0.8 * technical
        used[practice] = rng.random(m) < _sigmoid(logit)
    used["moved_private"] &= public
    effect = {outcome: sum(world.coefficient(p, outcome, severity, technical, near_renewal) * used[p] for p in PRACTICES)
              for outcome in ("repeat", "dispute", "csat", "churn")}
    repeat_logit = REPEAT_BASE + REPEAT_BY_TRIGGER[trigger] + 0.3 * sev_step + effect["repeat"]
    repeat_scheduled = rng.random(m) < _sigmoid(repeat_logit)

    # times
    first_response_hours = rng.lognormal(np.log(SLA_HOURS[severity - 1] * 0.5), 0.9)
    resolution_days = rng.lognormal(np.log(_median_resolution_days(severity, technical, used["root_cause_fixed"])), RESOLUTION_SIGMA)
    unresolved = rng.random(m) < _sigmoid(_unresolved_logit(severity, used["took_ownership"]))
    codes = [RESOLUTIONS.index(r) for r in ("workaround", "credit", "explanation", "no_action", "fixed")]
    resolution = np.where(used["root_cause_fixed"], RESOLUTIONS.index("fixed"), rng.choice(codes, m, p=[0.25, 0.15, 0.35, 0.15, 0.10]))
    resolution = np.where(unresolved, RESOLUTIONS.index("unresolved"), resolution)
    dispute_logit = DISPUTE_BASE + 0.3 * sev_step + 1.0 * unresolved + effect["dispute"]
    csat_eta = 0.6 - 0.35 * sev_step - 1.2 * unresolved - 0.4 * (parent >= 0) + effect["csat"]
    csat = 1 + (rng.logistic(csat_eta, 1.0, m)[:, None] > CSAT_CUTS[None, :]).sum(1)
    burden_weight = np.asarray(world.burden_per_severity)[segment[client]]
    burden = _burden(burden_weight, severity, unresolved, parent >= 0, resolution_days > SLOW_DAYS, effect["churn"])
    opened = week_start + (rng.uniform(0, 7, m) * 86400).astype("timedelta64[s]")
    return {
        "id": ids,
        "client": client,
        "trigger": trigger,
        "parent": parent,
        "opened": opened,
        "severity": severity,
        "channel": channel,
        "team": team,
        "agent": team * 10 + rng.integers(0, 6, m),
        "first_response_hours": first_response_hours,
        "resolution_days": resolution_days,
        "unresolved": unresolved,
        "resolution": resolution,
        "repeat_logit": repeat_logit,
        "repeat_scheduled": repeat_scheduled,
        "dispute_logit": dispute_logit,
        "disputed": rng.random(m) < _sigmoid(dispute_logit),
        "csat_eta": csat_eta,
        "csat": csat,
        "csat_answered": rng.random(m) < 0.45,
        "reopens": rng.poisson(0.08 + 0.35 * (technical & ~used["root_cause_fixed"])),
        "escalated": rng.random(m) < _sigmoid(-2.8 + 0.7 * sev_step + 1.5 * abusive[client]),
        "handling_minutes": rng.lognormal(np.log(20 + 15 * severity), 0.6) * np.where(abusive[client], 3.0, 1.0),
        "burden": burden,
        "near_renewal": near_renewal,
        "burden_weight": burden_weight,
        **{f"p_{p}": used[p] for p in PRACTICES},
    }


def _assemble(pool, rng, world, c, n, segment, annual_value, contract_start, notice_days, status, ended_at, abusive, unprofitable, start, end):
    """Canonical tables from the simulated arrays."""
    end_s = end.tz_localize(None).to_datetime64().astype("datetime64[s]")
    client_ids = np.array([f"CL{i:06d}" for i in range(n)], dtype=object)
    names = _company_names(rng, n)
    term_days = 365
    end_ref = np.where(np.isnat(ended_at), end_s, ended_at).astype("datetime64[D]")
    terms = np.ceil(((end_ref - contract_start).astype(int)) / term_days).clip(1)
    contract_end = contract_start + (terms * term_days).astype("timedelta64[D]")
    end_reason = np.where(status == "churned", "client_left", np.where(abusive, "abusive_conduct", "unprofitable"))
    end_reason = pa.array(end_reason, mask=status == "active")
    clients = {
        "client_id": client_ids,
        "name": names,
        "segment": SEGMENTS[segment],
        "owner": np.array([f"AM{i:02d}" for i in range(1, 13)])[rng.integers(0, 12, n)],
        "contract_start": contract_start.astype("datetime64[s]"),
        "contract_end": contract_end.astype("datetime64[s]"),
        "notice_days": notice_days,
        "annual_value": np.round(annual_value, 2),
        "status": status,
        "ended_at": ended_at,
        "end_reason": end_reason,
        "region": np.array(["north", "south", "east", "west"])[rng.integers(0, 4, n)],
    }

    order = np.argsort(c["opened"], kind="stable")
    c = {k: v[order] for k, v in c.items()}
    m = len(c["id"])
    opened = c["opened"]
    first_response = opened + (c["first_response_hours"] * 3600).astype("timedelta64[s]")
    resolved = opened + (c["resolution_days"] * 86400).astype("timedelta64[s]")
    resolved = np.where(c["unresolved"] | (resolved >= end_s), np.datetime64("NaT"), resolved)
    first_response = np.where(first_response >= end_s, np.datetime64("NaT"), first_response)
    closed = resolved + (rng.uniform(0, 3, m) * 86400).astype("timedelta64[s]")
    closed = np.where(closed >= end_s, np.datetime64("NaT"), closed)
    done = ~np.isnat(resolved)
    sla_met = pa.array(c["first_response_hours"] <= SLA_HOURS[c["severity"] - 1], mask=np.isnat(first_response))
    recorded = c["trigger"].copy()
    wrong = rng.random(m) < 0.06
    recorded[wrong] = rng.integers(0, len(TRIGGERS), wrong.sum())
    recorded = _labels(recorded, TRIGGERS, known=rng.random(m) >= 0.08)
    complaint_ids = _ids("CP", m, 8)
    # texts and interactions draw from generators of their own, so that they can be
    # built on the second core while this thread assembles the complaints
    text_rng, interaction_rng, reply_rng = rng.spawn(3)
    texts = pool.submit(complaint_texts, c["trigger"], text_rng)
    interactions = pool.submit(_interactions, interaction_rng, world, c, complaint_ids, client_ids, opened, resolved, abusive, end_s)
    replies = pool.submit(agent_replies, {p: c[f"p_{p}"] for p in PRACTICES}, reply_rng)
    credit = np.where((c["resolution"] == RESOLUTIONS.index("credit")) & done, np.round(annual_value[c["client"]] * rng.uniform(0.002, 0.02, m), 2), 0.0)
    complaints = {
        "complaint_id": complaint_ids,
        "client_id": _labels(c["client"], client_ids),
        "opened_at": opened,
        "first_response_at": first_response,
        "resolved_at": resolved,
        "closed_at": closed,
        "channel": _labels(c["channel"], CHANNELS),
        "trigger": recorded,
        "category_raw": recorded,
        "severity": c["severity"],
        "text": texts.result(),
        "replies": replies.result(),
        "resolution": _labels(np.where(done, c["resolution"], RESOLUTIONS.index("unresolved")), RESOLUTIONS),
        "reopen_count": c["reopens"],
        "escalated": c["escalated"],
        "sla_met": sla_met,
        "csat": pa.array(c["csat"], mask=~(c["csat_answered"] & done)),
        "disputed": pa.array(c["disputed"], mask=~done),
        "team": _labels(c["team"], TEAMS),
        "agent": _labels(c["agent"], np.array([f"agent_{a:03d}" for a in range(100)])),
        "handling_minutes": np.round(c["handling_minutes"], 1),
        "credit_amount": credit,
        **{p: pa.array(c[f"p_{p}"], mask=~done if p in RECORDED_ONCE_RESOLVED else None) for p in PRACTICES},
    }
    complaints["moved_private"] = pa.array(c["p_moved_private"], mask=CHANNELS[c["channel"]] != "social_public")
    interactions, hostility = interactions.result()
    history = History(
        clients=_typed(clients, "clients"),
        complaints=_typed(complaints, "complaints"),
        interactions=_typed(interactions, "interactions"),
        quarantine=pd.DataFrame(),
    )
    position = np.empty(m, dtype=np.int64)
    position[c["id"]] = np.arange(m)  # simulation order -> exported order
    truth = pd.DataFrame({
        "true_trigger": pd.arrays.ArrowExtensionArray(_labels(c["trigger"], TRIGGERS)),
        "repeat_of": pd.arrays.ArrowExtensionArray(_labels(position[np.maximum(c["parent"], 0)], complaint_ids, known=c["parent"] >= 0)),
        "p_repeat": _sigmoid(c["repeat_logit"]),
        "repeat_scheduled": c["repeat_scheduled"],
        "p_dispute": _sigmoid(c["dispute_logit"]),
        "true_severity": c["severity"],
        "near_renewal": c["near_renewal"],
        "true_channel": CHANNELS[c["channel"]],
        "burden": c["burden"],
        **{f"used_{p}": c[f"p_{p}"] for p in PRACTICES},  # every practice used, also where the data does not show it
        "resolved_in_data": ~np.isnat(resolved),
        **hostility,
    }, index=pd.Index(history.complaints["complaint_id"], name="complaint_id"))
    return history, truth


def _interactions(rng, world, c, complaint_ids, client_ids, opened, resolved, abusive, end_s) -> tuple[dict, dict]:
    """Every contact of every complaint, with its tone and (inbound) the client's words,
    and the planted hostility per complaint: the chance that a contact of the client's
    after the first response is angry or abusive, with each practice and without."""
    m = len(complaint_ids)
    per = 1 + rng.poisson(0.4 + 0.3 * (c["severity"] - 1))
    row = np.repeat(np.arange(m), per)
    k = np.arange(len(row)) - np.repeat(np.cumsum(per) - per, per)
    span = np.where(np.isnat(resolved), 14 * 86400.0, (resolved - opened).astype("timedelta64[s]").astype(float))[row]
    at = opened[row] + (span * k / per[row] * rng.uniform(0.8, 1.0, len(row))).astype("timedelta64[s]")
    keep = at < end_s
    row, k, at = row[keep], k[keep], at[keep]
    anger = -1.0 + 0.45 * (c["severity"][row] - 1) + 0.8 * (c["parent"][row] >= 0) + 1.0 * c["unresolved"][row]
    is_abusive = abusive[c["client"][row]]
    inbound = k % 2 == 0
    # the handling calms (or not) what the client writes after the first response; an
    # abusive client stays abusive whatever the handling
    later = inbound & (at > opened[row] + (c["first_response_hours"][row] * 3600).astype("timedelta64[s]"))
    calmed = later & ~is_abusive
    effect = {p: world.coefficient(p, "hostility", None, None, None) for p in PRACTICES}
    calming = sum(effect[p] * c[f"p_{p}"] for p in PRACTICES)
    mean = anger + 2.2 * is_abusive + np.where(calmed, calming[row], 0.0)
    score = mean + rng.logistic(0, TONE_SCALE, len(row))
    tone = np.select([score < 0.3, score < ANGRY_FROM_SCORE, score < ABUSIVE_FROM_SCORE], ["calm", "frustrated", "angry"], "abusive")
    tone = np.where((tone == "abusive") & ~is_abusive & (rng.random(len(row)) < 0.8), "angry", tone)
    words = client_messages(tone, rng)
    interactions = {
        "interaction_id": _ids("IN", len(row), 9),
        "complaint_id": _labels(row, complaint_ids),
        "client_id": _labels(c["client"][row], client_ids),
        "at": at,
        "channel": _labels(c["channel"][row], CHANNELS),
        "direction": np.where(inbound, "inbound", "outbound"),
        "minutes": np.round(rng.lognormal(np.log(8), 0.7, len(row)) * np.where(is_abusive, 2.5, 1.0), 1),
        "tone": tone,
        "text": pc.if_else(pa.array(inbound), words, pa.nulls(len(row), pa.string())),
    }

    def hostile(shift):
        """Per complaint: P(any later contact is angry or abusive), NaN without one."""
        calm = np.log1p(-_sigmoid((mean[later] + np.where(calmed[later], shift[row[later]], 0.0) - ANGRY_FROM_SCORE) / TONE_SCALE))
        counted = np.bincount(row[later], minlength=m)
        return np.where(counted > 0, -np.expm1(np.bincount(row[later], weights=calm, minlength=m)), np.nan)

    hostility = {"p_hostile": hostile(np.zeros(m))}
    for p in PRACTICES:
        used = c[f"p_{p}"].astype(float)
        hostility[f"hostile_with_{p}"] = hostile(effect[p] * (1 - used))
        hostility[f"hostile_without_{p}"] = hostile(-effect[p] * used)
    return interactions, hostility


def _typed(arrays: dict[str, np.ndarray], table: str) -> pd.DataFrame:
    """The canonical Arrow-backed types, converted by pyarrow straight from the NumPy arrays."""
    rules = column_rules(table)
    columns = {}
    for name, values in arrays.items():
        dtype = rules[name].dtype if name in rules else pd.ArrowDtype(pa.string())
        if isinstance(values, np.ndarray) and values.dtype.kind == "M":
            # a real null: NaT's INT64_MIN left under the null mask overflows Arrow's arithmetic
            missing = np.isnat(values)
            values = pa.array(np.where(missing, np.datetime64(0, "us"), values.astype("datetime64[us]")), mask=missing)
        array = values.cast(dtype.pyarrow_dtype) if isinstance(values, pa.Array) else pa.array(values, type=dtype.pyarrow_dtype, from_pandas=True)
        columns[name] = pd.arrays.ArrowExtensionArray(array)
    return pd.DataFrame(columns)[list(rules) + [c for c in arrays if c not in rules]]


def _labels(codes: np.ndarray, labels, known: np.ndarray | None = None) -> pa.Array:
    """``labels[codes]`` as an Arrow string array, null where not ``known``; fast for millions of rows."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=None if known is None else ~known)
    return pa.DictionaryArray.from_arrays(indices, labels if isinstance(labels, pa.Array) else pa.array(labels)).cast(pa.string())


def _ids(prefix: str, n: int, width: int) -> pa.Array:
    """``prefix`` + a zero-padded running number: CP00000000, CP00000001, ...

    Written digit by digit into one fixed-width byte buffer: ids for tens of millions
    of rows cost well under a second.
    """
    size = len(prefix) + width
    data = np.empty((n, size), dtype=np.uint8)
    data[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    numbers = np.arange(n, dtype=np.int64)
    for position in range(width):
        data[:, size - 1 - position] = 48 + numbers % 10
        numbers //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _company_names(rng, n) -> np.ndarray:
    first = ["North", "Blue", "Silver", "Bright", "Oak", "Harbor", "Summit", "Crest", "Pine", "River", "Stone", "Iron"]
    second = ["field", "wave", "point", "bridge", "gate", "line", "works", "stone", "light", "path"]
    kind = ["Logistics", "Dental", "Partners", "Foods", "Legal", "Builders", "Health", "Media", "Retail", "Labs"]
    a, b, k = rng.integers(0, len(first), n), rng.integers(0, len(second), n), rng.integers(0, len(kind), n)
    return np.array([f"{first[i]}{second[j]} {kind[q]} {idx:04d}" for idx, (i, j, q) in enumerate(zip(a, b, k, strict=True))], dtype=object)


def _planted_effects(world, c, hazard_hist, start, end, exit_week) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Average effect of each practice on each outcome's probability, over all complaints
    and over those whose outcomes the data records (resolved before the end); and, for the
    complaints the churn window samples, each one's change in churn within 180 days had the
    practice been added (0 where it was used; NaN where it cannot be)."""
    resolved = c["opened"] + (c["resolution_days"] * 86400).astype("timedelta64[s]")
    recorded = ~c["unresolved"] & (resolved < end.tz_localize(None).to_datetime64())
    churn_window = _ChurnWindow(world, c, hazard_hist, start, exit_week)
    technical = TRIGGERS[c["trigger"]] == "technical_failure"
    rows, added = [], {}
    for practice in PRACTICES:
        used = c[f"p_{practice}"].astype(float)
        applicable = np.ones(len(used), bool) if practice != "moved_private" else (CHANNELS[c["channel"]] == "social_public")
        for outcome in ("repeat", "dispute", "csat", "churn"):
            coef = world.coefficient(practice, outcome, c["severity"], technical, c["near_renewal"])
            if outcome == "repeat":
                base = c["repeat_logit"] - coef * used
                on, off = _sigmoid(base + coef), _sigmoid(base)
            elif outcome == "dispute":
                base = c["dispute_logit"] - coef * used
                on, off = _sigmoid(base + coef), _sigmoid(base)
            elif outcome == "csat":
                base = c["csat_eta"] - coef * used
                on, off = _sigmoid(base + coef - CSAT_CUTS[2]), _sigmoid(base - CSAT_CUTS[2])
            else:
                shown = applicable & recorded if practice in RECORDED_ONCE_RESOLVED else applicable
                rows.append({"practice": practice, "outcome": outcome, "coefficient": float(np.mean(coef)),
                             "ate": churn_window.effect(practice, used, applicable),
                             "ate_recorded": churn_window.effect(practice, used, shown), "usage": float(used[applicable].mean())})
                added[practice] = churn_window.added(practice, used, applicable)
                continue
            rows.append({
                "practice": practice,
                "outcome": outcome,
                "coefficient": float(np.mean(coef)),
                "ate": float(np.mean((on - off)[applicable])),
                "ate_recorded": float(np.mean((on - off)[applicable & recorded])),
                "usage": float(used[applicable].mean()),
            })
    return pd.DataFrame(rows), pd.DataFrame(added, index=pd.Index(churn_window.k, name="simulated"))


class _ChurnWindow:
    """Churn within 180 days of a complaint, as the data records it, with the practice
    used and not.

    It starts from the hazard the client actually faced in the weeks after the complaint
    (health, renewal windows, the burden of every other complaint), takes out the
    complaint's own burden and that of its repeat, and puts back what they would be
    either way, over every path the simulator plants: the churn coefficient scales the
    own burden; taking ownership leaves fewer complaints unresolved and fixing the root
    cause resolves them more slowly, which both change the own burden; the repeat
    coefficient makes a repeat, with the average repeat's burden at the expected delay,
    more or less likely. A churn counts only between the complaint's opening and 180 days
    later (the complaint's first week and the last ones only in part), and only while we
    have not ended the client ourselves. Only complaints with those weeks simulated after
    them count; a fixed random subsample of 100,000 keeps it fast.
    """

    WEEKS = 27  # 180 days from any moment of a complaint's week end in the 27th week

    def __init__(self, world, c, hazard_hist, start, exit_week):
        self.world = world
        weeks = np.arange(self.WEEKS)
        child = np.full(len(c["id"]), -1)
        repeats = np.flatnonzero(c["parent"] >= 0)
        child[c["parent"][repeats]] = repeats  # ids are positions in simulation order

        eligible = np.flatnonzero(c["week"] + self.WEEKS <= hazard_hist.shape[1])
        k = self.k = np.random.default_rng(0).permutation(eligible)[:100_000]
        self.decay = world.decay ** weeks
        # the part of each week that falls in (opened, opened + 180 days]: a churn is
        # dated uniformly within its week
        days_in_week = (c["opened"][k] - start.tz_localize(None).to_datetime64()) / np.timedelta64(1, "D") - 7 * c["week"][k]
        window_end = days_in_week[:, None] + 180 - 7 * weeks
        self.counted = np.clip(window_end, 0, 7) / 7 - np.clip(days_in_week[:, None] - 7 * weeks, 0, 7) / 7
        self.exits = np.where(c["week"][k][:, None] + weeks >= exit_week[c["client"][k]][:, None], EXIT_HAZARD, 0.0)
        hazard = hazard_hist[c["client"][k][:, None], c["week"][k][:, None] + weeks].astype(float)
        ck = child[k]
        lag = np.where(ck >= 0, c["week"][ck] - c["week"][k], self.WEEKS)
        actual_repeat = np.where(weeks >= lag[:, None], c["burden"][ck][:, None] * world.decay ** np.maximum(weeks - lag[:, None], 0), 0)
        self.rest = hazard * np.exp(-world.burden_coef * (c["burden"][k][:, None] * self.decay + actual_repeat))

        expected_delay = REPEAT_DELAY_DAYS * (1 - np.exp(-(REPEAT_WINDOW_DAYS - 1) / REPEAT_DELAY_DAYS))
        lag = np.ceil((c["resolution_days"][k] + expected_delay) / 7)
        self.repeat = np.where(weeks >= lag[:, None], c["burden"][repeats].mean() * world.decay ** np.maximum(weeks - lag[:, None], 0), 0)
        self.c = {key: c[key][k] for key in ("severity", "unresolved", "resolution_days", "repeat_logit", "near_renewal", "burden_weight")}
        self.c["is_repeat"] = c["parent"][k] >= 0
        self.c["technical"] = TRIGGERS[c["trigger"][k]] == "technical_failure"
        self.c["churn_effect"] = sum(self._coefficient(p, "churn", self.c) * c[f"p_{p}"][k] for p in PRACTICES)

    def _coefficient(self, practice, outcome, c):
        return self.world.coefficient(practice, outcome, c["severity"], c["technical"], c["near_renewal"])

    def effect(self, practice, used, applicable) -> float:
        """The average change in churn, over the sampled complaints where ``applicable``."""
        return float(np.nanmean(self._change(practice, used, applicable)))

    def added(self, practice, used, applicable) -> np.ndarray:
        """Per sampled complaint, the change in churn had the practice been added: 0 where it
        was used, NaN where it does not apply."""
        change = self._change(practice, used, applicable)
        return np.where(used[self.k] > 0, 0.0, change)

    def _change(self, practice, used, applicable) -> np.ndarray:
        """Churn with the practice less churn without it, per sampled complaint (NaN where
        not ``applicable``)."""
        change = np.full(len(self.k), np.nan)
        keep = applicable[self.k]
        c = {key: value[keep] for key, value in self.c.items()}
        used = used[self.k][keep]
        coef = {outcome: self._coefficient(practice, outcome, c) for outcome in ("repeat", "churn")}

        def churn(arm):
            """Churn probability with the practice used (arm 1) or not (arm 0)."""
            p_unresolved = _sigmoid(_unresolved_logit(c["severity"], arm)) if practice == "took_ownership" else c["unresolved"].astype(float)
            if practice == "root_cause_fixed":
                median = _median_resolution_days(c["severity"], c["technical"], arm)
                p_slow = ndtr((np.log(median) - np.log(SLOW_DAYS)) / RESOLUTION_SIGMA)
            else:
                p_slow = (c["resolution_days"] > SLOW_DAYS).astype(float)
            p_repeat = _sigmoid(c["repeat_logit"] + coef["repeat"] * (arm - used))
            effect = c["churn_effect"] + coef["churn"] * (arm - used)
            left = 0.0
            for unresolved, slow in ((0, 0), (0, 1), (1, 0), (1, 1)):
                weight = np.where(unresolved, p_unresolved, 1 - p_unresolved) * np.where(slow, p_slow, 1 - p_slow)
                own = _burden(c["burden_weight"], c["severity"], unresolved, c["is_repeat"], slow, effect)
                without = self.rest[keep] * np.exp(self.world.burden_coef * own[:, None] * self.decay)
                with_repeat = without * np.exp(self.world.burden_coef * self.repeat[keep])
                left = left + weight * ((1 - p_repeat) * self._churned(without, keep) + p_repeat * self._churned(with_repeat, keep))
            return left

        change[keep] = churn(1) - churn(0)
        return change

    def _churned(self, hazard, keep):
        """Probability of a churn in the counted part of the window: the client must still
        be with us at the start of the week (neither left nor ended by us before)."""
        survive = np.exp(-hazard) * (1 - self.exits[keep])
        with_us = np.cumprod(np.hstack([np.ones((len(hazard), 1)), survive[:, :-1]]), axis=1)
        return (self.counted[keep] * with_us * -np.expm1(-hazard)).sum(1)
