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

Long because the week-by-week loop keeps every client's state in arrays that each step
reads and writes. The world's strengths live in ``_world``, the planted truth in
``_truth``, the exported tables in ``_tables`` and ``_export``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics._time import utc
from analytics.io import History
from analytics.sample._messages import agent_replies, client_messages
from analytics.sample._text import complaint_texts
from analytics.sample._truth import Truth, hostility_effects, planted_effects
from analytics.sample._world import (
    ABUSIVE_FROM_SCORE,
    ANGRY_FROM_SCORE,
    CHANNEL_SHARE,
    CHANNELS,
    CSAT_CUTS,
    DISPUTE_BASE,
    EXIT_HAZARD,
    PRACTICES,
    RECORDED_ONCE_RESOLVED,
    REPEAT_BASE,
    REPEAT_BY_TRIGGER,
    REPEAT_DELAY_DAYS,
    REPEAT_WINDOW_DAYS,
    RESOLUTION_SIGMA,
    RESOLUTIONS,
    SEGMENT_SHARE,
    SEGMENT_VALUE,
    SEGMENTS,
    SLA_HOURS,
    SLOW_DAYS,
    TEAMS,
    TONE_SCALE,
    TRIGGERS,
    USAGE,
    WORLDS,
    World,
    complaint_burden,
    in_notice_window,
    median_resolution_days,
    sigmoid,
    unresolved_logit,
)
from analytics.schemas import column_rules


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
        notice = in_notice_window(days_in, notice_days)
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
        effects = pool.submit(planted_effects, world, complaints, hazard_hist, start, end, exit_week)
        history, truth_frame = _assemble(pool, rng, world, complaints, n, segment, annual_value, contract_start, notice_days, status, ended_at, abusive, unprofitable, start, end)
        effects, churn_added = effects.result()
        effects = pd.concat([effects, hostility_effects(truth_frame, world)], ignore_index=True)
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
        used[practice] = rng.random(m) < sigmoid(logit)
    used["moved_private"] &= public
    effect = {outcome: sum(world.coefficient(p, outcome, severity, technical, near_renewal) * used[p] for p in PRACTICES)
              for outcome in ("repeat", "dispute", "csat", "churn")}
    repeat_logit = REPEAT_BASE + REPEAT_BY_TRIGGER[trigger] + 0.3 * sev_step + effect["repeat"]
    repeat_scheduled = rng.random(m) < sigmoid(repeat_logit)

    # times
    first_response_hours = rng.lognormal(np.log(SLA_HOURS[severity - 1] * 0.5), 0.9)
    resolution_days = rng.lognormal(np.log(median_resolution_days(severity, technical, used["root_cause_fixed"])), RESOLUTION_SIGMA)
    unresolved = rng.random(m) < sigmoid(unresolved_logit(severity, used["took_ownership"]))
    codes = [RESOLUTIONS.index(r) for r in ("workaround", "credit", "explanation", "no_action", "fixed")]
    resolution = np.where(used["root_cause_fixed"], RESOLUTIONS.index("fixed"), rng.choice(codes, m, p=[0.25, 0.15, 0.35, 0.15, 0.10]))
    resolution = np.where(unresolved, RESOLUTIONS.index("unresolved"), resolution)
    dispute_logit = DISPUTE_BASE + 0.3 * sev_step + 1.0 * unresolved + effect["dispute"]
    csat_eta = 0.6 - 0.35 * sev_step - 1.2 * unresolved - 0.4 * (parent >= 0) + effect["csat"]
    csat = 1 + (rng.logistic(csat_eta, 1.0, m)[:, None] > CSAT_CUTS[None, :]).sum(1)
    burden_weight = np.asarray(world.burden_per_severity)[segment[client]]
    burden = complaint_burden(burden_weight, severity, unresolved, parent >= 0, resolution_days > SLOW_DAYS, effect["churn"])
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
        "disputed": rng.random(m) < sigmoid(dispute_logit),
        "csat_eta": csat_eta,
        "csat": csat,
        "csat_answered": rng.random(m) < 0.45,
        "reopens": rng.poisson(0.08 + 0.35 * (technical & ~used["root_cause_fixed"])),
        "escalated": rng.random(m) < sigmoid(-2.8 + 0.7 * sev_step + 1.5 * abusive[client]),
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
        "p_repeat": sigmoid(c["repeat_logit"]),
        "repeat_scheduled": c["repeat_scheduled"],
        "p_dispute": sigmoid(c["dispute_logit"]),
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
        calm = np.log1p(-sigmoid((mean[later] + np.where(calmed[later], shift[row[later]], 0.0) - ANGRY_FROM_SCORE) / TONE_SCALE))
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
