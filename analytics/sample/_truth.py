"""What the simulator planted: the effects of each practice on each scale, per complaint
and on average, and each client's weekly churn hazard, against which the package's
estimates are judged."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from analytics._time import utc
from analytics.sample._world import (
    CHANNELS,
    CSAT_CUTS,
    EXIT_HAZARD,
    PRACTICES,
    RECORDED_ONCE_RESOLVED,
    REPEAT_DELAY_DAYS,
    REPEAT_WINDOW_DAYS,
    RESOLUTION_SIGMA,
    SLOW_DAYS,
    TRIGGERS,
    World,
    complaint_burden,
    in_notice_window,
    median_resolution_days,
    sigmoid,
    unresolved_logit,
)


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

    Examples
    --------
    >>> from analytics.sample import simulate
    >>> history, truth = simulate(n_clients=200, random_state=3)
    >>> truth.effects.columns[:4].tolist()
    ['practice', 'outcome', 'coefficient', 'ate']
    >>> len(truth.complaints) == len(history.complaints), truth.abusive <= set(history.clients["client_id"])
    (True, True)
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
        change = sigmoid(logit + self.coefficient(practice, outcome).to_numpy()) - probability
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
        notice = in_notice_window(days_in, self.notice_days[alive][:, None])
        hazard = self.base_hazard[alive][:, None] * np.exp(world.burden_coef * burden - world.health_coef * self.health[alive, week][:, None] + world.notice_coef * notice)
        return pd.Series(1 - np.exp(-hazard.sum(axis=1)), index=pd.Index(self.client_ids[alive], name="client_id"), name="true_churn_probability")


def hostility_effects(truth: pd.DataFrame, world: World) -> pd.DataFrame:
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


def planted_effects(world, c, hazard_hist, start, end, exit_week) -> tuple[pd.DataFrame, pd.DataFrame]:
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
                on, off = sigmoid(base + coef), sigmoid(base)
            elif outcome == "dispute":
                base = c["dispute_logit"] - coef * used
                on, off = sigmoid(base + coef), sigmoid(base)
            elif outcome == "csat":
                base = c["csat_eta"] - coef * used
                on, off = sigmoid(base + coef - CSAT_CUTS[2]), sigmoid(base - CSAT_CUTS[2])
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
            p_unresolved = sigmoid(unresolved_logit(c["severity"], arm)) if practice == "took_ownership" else c["unresolved"].astype(float)
            if practice == "root_cause_fixed":
                median = median_resolution_days(c["severity"], c["technical"], arm)
                p_slow = ndtr((np.log(median) - np.log(SLOW_DAYS)) / RESOLUTION_SIGMA)
            else:
                p_slow = (c["resolution_days"] > SLOW_DAYS).astype(float)
            p_repeat = sigmoid(c["repeat_logit"] + coef["repeat"] * (arm - used))
            effect = c["churn_effect"] + coef["churn"] * (arm - used)
            left = 0.0
            for unresolved, slow in ((0, 0), (0, 1), (1, 0), (1, 1)):
                weight = np.where(unresolved, p_unresolved, 1 - p_unresolved) * np.where(slow, p_slow, 1 - p_slow)
                own = complaint_burden(c["burden_weight"], c["severity"], unresolved, c["is_repeat"], slow, effect)
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
