"""Next best action: conditional practice effects and the advice drawn from them, judged
against what the simulator planted and against figures computed by hand."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analytics.io import History
from analytics.rootcause import NextBestAction
from analytics.rootcause._next_action import NO_BENEFIT, _clustered_least_squares, _shrunk, open_complaints
from analytics.sample import WORLDS, simulate

SPLIT = pd.Timestamp("2025-01-01", tz="UTC")


@pytest.fixture(scope="module")
def world():
    return simulate(2000, random_state=3)


@pytest.fixture(scope="module")
def fitted(world):
    history, _ = world
    return NextBestAction(outcomes=("repeat", "dispute")).fit(history.as_of(SPLIT))


def _later(history):
    opened = pd.to_datetime(history.complaints["opened_at"], utc=True)
    return history.complaints.loc[opened >= SPLIT, "complaint_id"]


def test_advice_on_later_complaints_beats_one_practice_for_everyone(world, fitted):
    """On complaints opened after the fit, the planted gain of the advised practice beats
    adding the practice best on average to every complaint, and gets most of the way to
    the oracle's (each complaint's truly best practice). Seed 0 of the benchmark: 95% of
    the oracle's extra gain on disputes; here a third is the floor, well below what ten
    seeds gave (benchmarks/next_best_action.py)."""
    history, truth = world
    later = _later(history)
    for outcome in ("repeat", "dispute"):
        practices = sorted({p for p, o in fitted.effects_ if o == outcome})
        planted = pd.DataFrame({p: truth.added_effect(p, outcome).reindex(later).to_numpy() for p in practices}, index=later)
        advice = fitted.recommend(history, later, outcome=outcome).table.set_index("complaint_id").reindex(later)
        ours = np.mean([planted.at[c, p] if isinstance(p, str) else 0.0 for c, p in advice["practice"].items()])
        single = planted.mean().min()
        oracle = np.minimum(planted.min(axis=1), 0).mean()
        assert ours < single, outcome
        assert (ours - single) / (oracle - single) > 1 / 3, outcome


def test_advice_never_repeats_what_was_done_and_keeps_private_moves_for_public_complaints(world, fitted):
    history, _ = world
    later = _later(history)
    options = fitted.effects(history, later)
    c = history.complaints.set_index("complaint_id")
    done = c.loc[options["complaint_id"]]
    for practice in fitted.practices or ("followed_up", "root_cause_fixed", "took_ownership"):
        mine = options["practice"].to_numpy() == practice
        assert not done.loc[mine, practice].fillna(False).astype(bool).any(), practice
    private = options.loc[options["practice"] == "moved_private", "complaint_id"]
    assert (c.loc[private, "channel"] == "social_public").all()
    advice = fitted.recommend(history, later, outcome="repeat").table
    assert len(advice) == len(later) and advice["complaint_id"].is_unique
    shown = advice.loc[advice["reliable"]].iloc[0]
    assert shown.advice.startswith(("Follow up", "Fix the root cause", "Take ownership", "Offer options", "Set realistic", "Move"))
    assert "repeat risk" in shown.advice and "95% CI" in shown.advice and "→" in shown.advice


def test_default_advice_is_for_the_open_complaints(world, fitted):
    history, _ = world
    advice = fitted.recommend(history, outcome="dispute")
    assert set(advice.table["complaint_id"]) == set(history.complaints.loc[open_complaints(history.complaints), "complaint_id"])
    assert advice.counts().sum() == len(advice.table)


def test_subgroup_intervals_cover_the_planted_effect_of_fixing_the_root_cause(world, fitted):
    """The planted effect of fixing the root cause on repeats is stronger for technical
    failures (-2.2 on the logit against -1.4). Put on the recorded scale (a repeat counts
    only when both complaints' triggers were recorded alike), the subgroup intervals
    cover it for most subgroups: at 95% each, at least 80% of ~25 subgroups (the
    binomial's 1st percentile is about 84%)."""
    history, truth = world
    known = history.as_of(SPLIT)
    table = fitted.summary()
    rows = table.loc[(table["practice"] == "root_cause_fixed") & (table["outcome"] == "repeat") & (table["by"] == "severity x trigger")]
    from analytics.rootcause._next_action import complaint_frame

    frame = complaint_frame(known, ["repeat"])[0].set_index("complaint_id")
    frame = frame.loc[frame["root_cause_fixed"].notna() & frame["repeat"].notna()]
    label = frame["severity"].astype("string").fillna("not recorded") + " / " + frame["trigger"].astype("string").fillna("not recorded")
    t = truth.complaints.reindex(frame.index)
    coef = truth.coefficient("root_cause_fixed", "repeat").reindex(frame.index).to_numpy()
    logit = np.log(t["p_repeat"] / (1 - t["p_repeat"])).to_numpy() - coef * t["used_root_cause_fixed"].to_numpy()
    switched_on = 1 / (1 + np.exp(-(logit + coef))) - 1 / (1 + np.exp(-logit))
    recorded, scheduled = frame["repeat"].astype(float).to_numpy(), t["repeat_scheduled"].to_numpy(bool)
    covered = []
    for r in rows.itertuples():
        members = (label == r.subgroup).to_numpy()
        factor = recorded[members & scheduled].mean() - recorded[members & ~scheduled].mean()
        covered.append(r.low_pts <= 100 * switched_on[members].mean() * factor <= r.high_pts)
    assert len(covered) >= 20 and np.mean(covered) >= 0.8
    technical = rows.loc[rows["trigger"] == "technical_failure", "effect_pts"].mean()
    assert technical < rows.loc[rows["trigger"] != "technical_failure", "effect_pts"].mean()


def test_where_nothing_works_the_advice_says_so():
    """A world where no practice changes repeats: advice must not claim a reliable benefit
    for most complaints (chance alone, over five practices with intervals held together,
    gives a reliable-looking one rarely)."""
    null = {p: {o: 0.0 for o in ("repeat", "dispute", "csat", "churn")} for p in WORLDS["realistic"].effects}
    flat = dataclasses.replace(WORLDS["realistic"], effects=null, followed_up_severe=0.0, followed_up_near_renewal=0.0, root_cause_technical=0.0)
    history, _ = simulate(1500, random_state=11, world=flat)
    nba = NextBestAction(outcomes=("repeat",)).fit(history.as_of(SPLIT))
    advice = nba.recommend(history, _later(history), outcome="repeat").table
    assert advice["reliable"].mean() < 0.2
    assert advice.loc[~advice["reliable"], "advice"].str.startswith(NO_BENEFIT).all()
    claimed = nba.summary()["differs"].mean()
    assert claimed < 0.15  # 5% expected at the 95% level; 15% is ~3 standard errors over ~100 subgroups


def test_clustered_least_squares_matches_group_means_by_hand():
    """With one indicator per group the coefficients are the group means and the CR1
    variance of each is G/(G-1) * (n-1)/(n-k) * sum over clients of (their residuals'
    sum)^2 / n_group^2."""
    rng = np.random.default_rng(0)
    group = np.repeat([0, 1], [40, 60])
    clients = rng.integers(0, 30, 100)
    y = rng.normal(group * 2.0, 1.0)
    coef, cov = _clustered_least_squares(np.eye(2)[group], y, clients)
    frame = pd.DataFrame({"g": group, "c": clients, "y": y})
    means = frame.groupby("g")["y"].mean()
    assert coef == pytest.approx(means.to_numpy())
    frame["r"] = frame["y"] - frame["g"].map(means)
    G = len(np.unique(clients))
    for g in (0, 1):
        sums = frame.loc[frame["g"] == g].groupby("c")["r"].sum()
        expected = G / (G - 1) * 99 / 98 * (sums**2).sum() / (frame["g"] == g).sum() ** 2
        assert cov[g, g] == pytest.approx(expected)


def test_shrinkage_takes_noise_back_to_the_average_and_keeps_a_real_spread():
    """Per modifier: its departures from the average shrink by tau2 / (tau2 + variance),
    tau2 their mean square less their mean variance (0 when noise explains them)."""
    modifier_of = np.array(["trigger", "trigger", "segment", "segment"], dtype=object)
    coef = np.array([-0.05, 0.2, -0.2, 0.01, -0.01])
    shrunk, cov = _shrunk(coef, np.diag([1e-4, 1e-4, 1e-4, 4e-4, 4e-4]), modifier_of)
    tau2 = 0.04 - 1e-4
    assert shrunk[:3] == pytest.approx([-0.05, 0.2 * tau2 / (tau2 + 1e-4), -0.2 * tau2 / (tau2 + 1e-4)])
    assert shrunk[3:].tolist() == [0.0, 0.0]  # departures smaller than their noise: the average
    assert cov[0, 0] == 1e-4 and cov[3, 3] == 0.0


def test_a_history_without_practices_is_told_why(sample_history):
    bare = History(sample_history.clients, sample_history.complaints.drop(
        columns=["took_ownership", "offered_options", "set_expectations", "root_cause_fixed", "followed_up", "moved_private"]),
        sample_history.interactions)
    with pytest.raises(ValueError, match="records none of the handling practices"):
        NextBestAction().fit(bare)
    with pytest.raises(ValueError, match="not fitted"):
        NextBestAction().recommend(sample_history)


def test_the_uplift_curve_starts_at_nothing_and_ends_where_treating_everyone_does(world, fitted):
    """Treating every later complaint prevents the same whatever the order: the ranked and
    the random curve meet at 100%, and both start at 0."""
    history, _ = world
    curve = fitted.uplift(history, "root_cause_fixed", "repeat", complaints=_later(history), points=10)
    assert curve["share_treated"].tolist() == pytest.approx(np.linspace(0, 1, 11).tolist())
    assert curve.iloc[0][["prevented_per_100_model", "prevented_per_100_random"]].tolist() == [0.0, 0.0]
    assert curve.iloc[-1]["prevented_per_100_model"] == pytest.approx(curve.iloc[-1]["prevented_per_100_random"])
    assert curve.iloc[-1]["prevented_per_100_random"] > 0  # fixing the root cause prevents repeats
