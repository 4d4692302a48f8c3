"""The simulator does what its Truth says, and the shipped sample is reproducible."""

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analytics.cli import app
from analytics.sample import simulate
from analytics.taxonomy import Trigger
from tests.conftest import SAMPLE


def test_default_sample_command_reproduces_the_committed_files(tmp_path):
    result = CliRunner().invoke(app, ["sample", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for table in ("clients", "complaints", "interactions"):
        assert (tmp_path / f"{table}.parquet").read_bytes() == (SAMPLE / f"{table}.parquet").read_bytes(), table


def test_sample_is_small_and_documented():
    assert sum(p.stat().st_size for p in SAMPLE.iterdir()) <= 5 * 2**20
    assert "synthetic" in (SAMPLE.parent / "README.md").read_text(encoding="utf-8").lower()


@pytest.fixture(scope="module")
def world():
    return simulate(4000, "2022-01-01", "2025-01-01", random_state=11)


def _within(observed, expected, se, k=4.0):
    assert abs(observed - expected) <= k * se, f"observed {observed:.4f}, planted {expected:.4f}, se {se:.4f}"


def test_repeats_follow_the_planted_probability_with_and_without_root_cause_fixing(world):
    history, truth = world
    complaints = history.complaints.set_index("complaint_id").join(truth.complaints)
    came_back = set(truth.complaints["repeat_of"].dropna())
    # a repeat comes only if scheduled (and the client is still there when it falls due)
    assert complaints.loc[list(came_back), "repeat_scheduled"].all()
    # scheduled at the planted rate; judged on every resolved complaint, since the
    # clients who stay are fewer among those whose repeat came (it weighs on churn)
    resolved = complaints["resolved_at"].notna()
    for fixed in (True, False):
        group = complaints.loc[resolved & complaints["root_cause_fixed"].eq(fixed).fillna(False)]
        p = group["p_repeat"].to_numpy(dtype=float)
        _within(group["repeat_scheduled"].mean(), p.mean(), np.sqrt((p * (1 - p)).sum()) / len(p))
    fixed = complaints.loc[resolved & complaints["root_cause_fixed"].eq(True).fillna(False), "repeat_scheduled"].mean()
    unfixed = complaints.loc[resolved & complaints["root_cause_fixed"].eq(False).fillna(False), "repeat_scheduled"].mean()
    assert fixed < unfixed - 0.05  # a root cause left unfixed makes the trigger come back


def test_technical_failures_recur_more(world):
    history, truth = world
    p = truth.complaints.groupby("true_trigger")["p_repeat"].mean()
    assert p["technical_failure"] == p.max()


def test_disputes_follow_the_planted_probability(world):
    history, truth = world
    resolved = history.complaints.loc[history.complaints["disputed"].notna()].set_index("complaint_id")
    p = truth.complaints.loc[resolved.index, "p_dispute"].to_numpy(dtype=float)
    _within(resolved["disputed"].astype(bool).mean(), p.mean(), np.sqrt((p * (1 - p)).sum()) / len(p))


def test_churn_count_matches_the_planted_hazard(world):
    history, truth = world
    expected = float((1 - np.exp(-truth.hazard.astype(float)))[truth.alive].sum())
    observed = int((history.clients["status"] == "churned").sum())
    _within(observed, expected, np.sqrt(expected))


def test_true_churn_probability_is_defined_for_active_clients(world):
    history, truth = world
    p = truth.churn_probability("2024-06-30", "90D")
    assert p.between(0, 1).all() and p.index.is_unique
    active = history.as_of("2024-06-30").clients
    assert set(p.index) <= set(active["client_id"])


def test_planted_groups_are_marked_and_costly(world):
    history, truth = world
    assert 0.01 < len(truth.abusive) / len(history.clients) < 0.06
    tones = history.interactions.assign(abusive=history.interactions["client_id"].isin(truth.abusive))
    share = tones.groupby("abusive")["tone"].apply(lambda t: (t == "abusive").mean())
    assert share[True] > 5 * share[False]
    minutes = history.complaints.groupby(history.complaints["client_id"].isin(truth.abusive))["handling_minutes"].mean()
    assert minutes[True] > 2 * minutes[False]
    ended = history.clients.loc[history.clients["status"] == "ended_by_us", "client_id"]
    assert set(ended) <= truth.abusive | truth.unprofitable


def test_recorded_trigger_is_sometimes_missing_or_wrong_and_texts_vary(world):
    history, truth = world
    recorded = history.complaints.set_index("complaint_id")["trigger"]
    true = truth.complaint_trigger.loc[recorded.index].to_numpy()
    n = len(recorded)
    # planted: 8% missing; 6% redrawn at random among the triggers (so 8 in 9 of those change),
    # then blanked with the rest: binomial shares, within 4 standard errors
    _within(recorded.isna().mean(), 0.08, np.sqrt(0.08 * 0.92 / n))
    wrong = (recorded.notna() & (recorded != true)).mean()
    expected = 0.06 * (1 - 1 / len(Trigger)) * 0.92
    _within(wrong, expected, np.sqrt(expected * (1 - expected) / n))
    texts = history.complaints["text"].groupby(true)
    assert (texts.nunique() > 500).all()  # not one template per trigger
    assert (texts.apply(lambda t: t.value_counts(normalize=True).max()) < 0.01).all()
    assert history.complaints["text"].str.contains("@").mean() > 0.01


def test_practices_are_confounded_with_severity(world):
    history, _ = world
    by_severity = history.complaints.groupby("severity")[["root_cause_fixed", "apologized"]].mean()
    assert by_severity["root_cause_fixed"].is_monotonic_increasing
    assert by_severity["apologized"].is_monotonic_decreasing


def test_injected_defects_are_each_caught_and_nothing_else_is(tmp_path):
    from analytics.io import load_history
    from analytics.sample import write_export

    history, _ = simulate(400, random_state=3)
    injected = write_export(history, tmp_path, defects=0.03, random_state=5)
    assert len(injected) >= 30 and injected["kind"].nunique() >= 8
    loaded = load_history(tmp_path, now="2026-06-01")
    quarantined = loaded.quarantine.loc[loaded.quarantine["table"] == "complaints"]
    expected = injected.dropna(subset=["check"])
    assert set(quarantined["row"]) == set(expected["row"])
    found = quarantined.groupby("row")["check"].apply(set)
    for item in expected.itertuples():
        assert item.check in found[item.row], (item.kind, found[item.row])
    unmapped = loaded.report.unmapped
    spelled = int((injected["kind"] == "unknown_channel_spelling").sum())
    assert unmapped.loc[unmapped["column"] == "channel", "rows"].sum() == spelled
    counts = loaded.report.counts.set_index("table")
    assert counts.loc["complaints", "rows_read"] == len(history.complaints) + injected["kind"].isin(["duplicate_id", "exact_duplicate"]).sum()


def test_missing_times_are_real_nulls_that_arithmetic_skips():
    history, _ = simulate(200, random_state=3)
    c = history.complaints
    later = c.groupby(["client_id", "trigger"])["opened_at"].shift(-1)
    gap = later - c["resolved_at"]  # raised ArrowInvalid: overflow while NaT's INT64_MIN sat under the nulls
    both = later.notna() & c["resolved_at"].notna()
    assert gap.notna().eq(both).all() and both.any()
    assert (c["closed_at"] - c["resolved_at"]).dropna().ge(pd.Timedelta(0)).all()
    ended = history.clients["ended_at"]
    assert ended.isna().any() and (ended - history.clients["contract_start"]).notna().eq(ended.notna()).all()


def _churn_by_complaint(history, truth, cutoffs):
    """Per active client and cutoff: the oracle probability, churn within 90 days, and
    whether the client complained in the 90 days before."""
    clients = history.clients.set_index("client_id")
    opened = history.complaints["opened_at"]
    rows = []
    for cutoff in cutoffs:
        p = truth.churn_probability(cutoff)
        ended = clients.loc[p.index, "ended_at"]
        churned = clients.loc[p.index, "status"].eq("churned") & ended.ge(cutoff) & ended.lt(cutoff + pd.Timedelta(days=90))
        recent = history.complaints.loc[opened.lt(cutoff) & opened.ge(cutoff - pd.Timedelta(days=90)), "client_id"]
        rows.append(pd.DataFrame({"p": p.to_numpy(), "churned": churned.fillna(False).to_numpy(bool), "complained": p.index.isin(set(recent)),
                                  "segment": clients.loc[p.index, "segment"].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def test_the_realistic_world_has_the_published_strength(world):
    from sklearn.metrics import roc_auc_score

    history, truth = world
    rows = _churn_by_complaint(history, truth, pd.date_range("2022-07-01", "2024-07-01", freq="QS", tz="UTC"))
    rate = rows.groupby("complained")["churned"].mean()
    # clients who complained churn 2-4x as often (data/README.md); about 20,000 client-quarters
    # with a few thousand churns put the ratio's standard error near 0.15
    assert 2.0 <= rate[True] / rate[False] <= 4.0, rate
    assert 0.75 <= roc_auc_score(rows["churned"], rows["p"]) <= 0.85
    annual = 1 - (1 - rows.groupby("segment")["churned"].mean()) ** 4
    assert annual["smb"] > annual["mid_market"] > annual["enterprise"]
    assert 0.15 <= annual["smb"] <= 0.40 and 0.03 <= annual["enterprise"] <= 0.12, annual
    churn = truth.effects.loc[truth.effects["outcome"] == "churn"].set_index("practice")["ate"] * 100
    assert churn[["root_cause_fixed", "followed_up", "took_ownership"]].lt(-2).all(), churn  # points, not tenths
    assert churn[["apologized", "offered_options"]].eq(0).all()


def test_the_subtle_world_keeps_churn_barely_predictable():
    from sklearn.metrics import roc_auc_score

    history, truth = simulate(1500, "2022-01-01", "2025-01-01", random_state=11, world="subtle")
    rows = _churn_by_complaint(history, truth, pd.date_range("2022-07-01", "2024-07-01", freq="QS", tz="UTC"))
    assert 0.58 <= roc_auc_score(rows["churned"], rows["p"]) <= 0.70
    churn = truth.effects.loc[truth.effects["outcome"] == "churn", "ate"] * 100
    assert churn.abs().max() < 0.5


def test_handling_helps_more_where_the_world_plants_it(world):
    history, truth = world
    c = truth.complaints
    follow = truth.coefficient("followed_up", "churn")
    severe, near = c["true_severity"].ge(3), c["near_renewal"].astype(bool)
    assert follow[severe & near].max() < follow[~severe & ~near].min()  # more negative: helps more
    fix = truth.coefficient("root_cause_fixed", "repeat")
    technical = c["true_trigger"].eq("technical_failure")
    assert fix[technical].max() < fix[~technical].min()
    # seen in the outcomes: fixing the root cause cuts planted repeats more for technical failures
    used = history.complaints.set_index("complaint_id")["root_cause_fixed"].reindex(c.index)
    p = c["p_repeat"]
    cut = {t: p[used.eq(False) & (technical == t)].mean() - p[used.eq(True) & (technical == t)].mean() for t in (True, False)}
    assert cut[True] > cut[False] + 0.05, cut


def test_each_complaints_added_effect_is_what_was_planted_for_it(world):
    """Per complaint: no gain from a practice already used, none from moving a complaint
    private that was not public; on repeats the logistic change computed here; on churn,
    following up helps more after severe complaints near renewal, as planted."""
    _, truth = world
    c = truth.complaints
    for practice in ("followed_up", "root_cause_fixed", "moved_private"):
        for outcome in ("repeat", "dispute", "churn"):
            added = truth.added_effect(practice, outcome)
            assert (added[c[f"used_{practice}"]].dropna() == 0).all()
            if practice == "moved_private":
                assert (added[c["true_channel"] != "social_public"].dropna() == 0).all()
    fresh = ~c["used_root_cause_fixed"]
    logit = np.log(c["p_repeat"] / (1 - c["p_repeat"]))
    by_hand = 1 / (1 + np.exp(-(logit + truth.coefficient("root_cause_fixed", "repeat")))) - c["p_repeat"]
    np.testing.assert_allclose(truth.added_effect("root_cause_fixed", "repeat")[fresh], by_hand[fresh])
    follow = truth.added_effect("followed_up", "churn")
    sampled = follow.notna() & ~c["used_followed_up"]
    severe_near = c["true_severity"].ge(3) & c["near_renewal"].astype(bool)
    assert sampled.sum() > 1000 and follow[sampled & severe_near].mean() < 2 * follow[sampled & ~severe_near].mean() < 0


def test_an_unknown_world_is_named():
    with pytest.raises(ValueError, match="realistic, subtle"):
        simulate(10, world="harsh")


def test_practice_effects_recover_the_planted_sizes_not_only_their_signs(world):
    """Disputes and CSAT are recorded as they happened for resolved complaints, so the
    adjusted effect of every practice must land within 4 standard errors of the planted
    average effect over those complaints (the standard error read off the 95% bootstrap
    interval: its width over 3.92). On this world every estimate lands within 2.6 of them."""
    from analytics.rootcause import practice_effects

    history, truth = world
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        measured = practice_effects(history, outcome=["dispute", "csat"], bootstrap=200).table.set_index(["practice", "outcome"])
    planted = truth.effects.set_index(["practice", "outcome"])["ate_recorded"] * 100
    checked = 0
    for (practice, outcome), row in measured.iterrows():
        se = (row["high_pts"] - row["low_pts"]) / 3.92
        _within(row["effect_pts"], planted[practice, outcome], se)
        checked += 1
    assert checked == 16  # eight practices, two outcomes
    strong = measured.loc[("set_expectations", "dispute")]
    assert strong["high_pts"] < 0 and abs(planted["set_expectations", "dispute"]) > 2  # a size that matters, found
