"""Root causes on the sample and the real CFPB export: every figure adds up, and what
cannot be computed says so."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analytics.features import snapshots
from analytics.io import History, load_history
from analytics.models import backtest, repeat_rates, repeat_risk, time_to_repeat
from analytics.rootcause import (
    PositivityWarning,
    infer_triggers,
    most,
    pareto,
    practice_effects,
    public_to_private,
    rates,
    topics,
)


@pytest.fixture(scope="module")
def cfpb(cfpb_path):
    return load_history(cfpb_path, profile="cfpb")


def test_pareto_adds_up(sample_history):
    table = pareto(sample_history, "trigger", "cost", hourly_cost=90).table
    c = sample_history.complaints
    assert table["complaints"].sum() == len(c)
    expected = (c["handling_minutes"].astype(float).fillna(0) / 60 * 90 + c["credit_amount"].astype(float).fillna(0)).sum()
    assert table["cost"].sum() == pytest.approx(expected)
    assert table["cost"].is_monotonic_decreasing and table["cumulative_share"].iloc[-1] == pytest.approx(1)
    rated = table.dropna(subset=["repeat_rate"])
    assert ((rated["repeat_rate_low"] <= rated["repeat_rate"]) & (rated["repeat_rate"] <= rated["repeat_rate_high"])).all()
    clients = sample_history.clients
    assert 0 < table["churned_value"].max() <= clients.loc[clients["status"] == "churned", "annual_value"].sum()


def test_cfpb_dispute_rates_and_what_the_export_lacks(cfpb):
    by_product = rates(cfpb, "category_raw")
    answered = cfpb.complaints.loc[cfpb.complaints["disputed"].notna()]
    mortgage = answered.loc[answered["category_raw"] == "Mortgage", "disputed"].astype(bool)
    row = by_product.set_index("category_raw").loc["Mortgage"]
    assert row["complaints"] == len(mortgage) and row["rate"] == pytest.approx(mortgage.mean())
    assert row["rate_low_95"] < row["rate"] < row["rate_high_95"]
    top = most(cfpb, "client_id", top=5)
    assert top["disputed"].is_monotonic_decreasing and len(top) == 5
    assert pareto(cfpb, "category_raw").notes[0].startswith("Handling cost needs")
    with pytest.raises(ValueError, match="do not record 'team'"):
        rates(cfpb, "team")


def test_practice_effects_find_what_the_sample_planted(sample_history):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PositivityWarning)
        effects = practice_effects(sample_history, outcome=["repeat", "dispute", "churn"], bootstrap=100)
    t = effects.table.set_index(["practice", "outcome"])
    assert (t["low_pts"] <= t["effect_pts"]).all() and (t["effect_pts"] <= t["high_pts"]).all()
    assert t.loc[("root_cause_fixed", "repeat"), "high_pts"] < 0  # planted: the strongest cut in repeats
    assert t.loc[("set_expectations", "dispute"), "high_pts"] < 0
    # planted with no effect but used on milder complaints: the naive difference flatters it, the adjusted one does not
    for outcome in ("repeat", "dispute", "churn"):
        assert t.loc[("apologized", outcome), "low_pts"] < 0 < t.loc[("apologized", outcome), "high_pts"]
    apologised = t.loc[("apologized", "churn")]  # it goes with milder complaints, which lose fewer clients
    assert apologised["naive_pts"] < apologised["effect_pts"] - 0.5
    sentence = effects.sentences("repeat")[0]
    assert "pts, 95% CI" in sentence and "complaints" in sentence


def test_positivity_failure_is_warned(sample_history):
    complaints = sample_history.complaints.copy()
    complaints["followed_up"] = (complaints["severity"] >= 3).astype("boolean")  # decided by severity alone
    forced = History(sample_history.clients, complaints, sample_history.interactions, sample_history.quarantine, sample_history.report)
    with pytest.warns(PositivityWarning, match="followed up"):
        effects = practice_effects(forced, outcome="dispute", practices=["followed_up"], bootstrap=20)
    assert effects.table["poor_overlap"].iloc[0] > 0.05


def test_public_complaints_by_time_to_a_private_channel(sample_history):
    """Each public complaint goes by its first contact on another channel; a bucket holds its
    lower edge, not its upper one; a later public reply moves nothing."""
    c = sample_history.complaints
    public = c.loc[c["channel"] == "social_public"].head(42)
    after = {"within 1 hour": ["59min"], "1 to 4 hours": ["1h", "3h59min"], "4 to 24 hours": ["4h", "23h"], "after a day": ["24h", "30h"]}
    offsets = [pd.Timedelta(o) for found in after.values() for o in found] * 6
    history = with_contacts(sample_history, public, offsets, "email")
    history = with_contacts(history, public.head(10), [pd.Timedelta("1min")] * 10, "social_public")  # a public reply first
    table, how = public_to_private(history)
    assert how.startswith("Public complaints by the time")
    never = int((c["channel"] == "social_public").sum()) - len(public)
    assert table.set_index("moved")["complaints"].to_dict() == {moved: 6 * len(found) for moved, found in after.items()} | {"never moved": never}
    assert table["moved"].tolist() == [*after, "never moved"]  # soonest first
    assert public_to_private(sample_history)[1].startswith("The interactions do not show when")


def with_contacts(history, complaints, offsets, channel):
    """``history`` with a contact on ``channel`` after each of ``complaints``, ``offsets`` after its opening."""
    contacts = pd.DataFrame({
        "interaction_id": [f"X{channel}{i}" for i in range(len(complaints))], "complaint_id": complaints["complaint_id"].to_numpy(),
        "client_id": complaints["client_id"].to_numpy(), "at": (pd.to_datetime(complaints["opened_at"], utc=True) + pd.to_timedelta(offsets)).to_numpy(),
        "channel": channel, "direction": "outbound", "minutes": 5.0, "tone": "calm", "text": None,
    })
    interactions = pd.concat([history.interactions, contacts.astype(history.interactions.dtypes.to_dict())], ignore_index=True)
    return History(history.clients, history.complaints, interactions, history.quarantine, history.report)


def test_rates_count_a_missing_yes_or_no_as_not_recorded(sample_history):
    c = sample_history.complaints.copy()
    answered = c.index[c["disputed"].notna()]
    c.loc[answered[:40], "sla_met"] = pd.NA
    c.loc[answered[40:80], "channel"] = pd.NA
    history = History(sample_history.clients, c, sample_history.interactions)
    for column in ("sla_met", "channel"):
        table = rates(history, column).set_index(column)
        assert table.loc["not recorded", "complaints"] == 40 and table["complaints"].sum() == len(answered)
    assert set(rates(history, "sla_met")["sla_met"]) == {"True", "False", "not recorded"}


def test_the_workshop_s_counts_and_curves_are_the_same_on_spark_from_a_saved_folder(spark, sample_history, tmp_path):
    """Rates, the most disputed, public complaints' moves and time-to-repeat curves: Spark
    reading the saved folder gives what DuckDB gives in this process."""
    from analytics.models import time_to_repeat_by
    from analytics.rootcause import most, rates

    c = sample_history.complaints
    public = c.loc[c["channel"] == "social_public"]
    folder = with_contacts(sample_history, public, pd.to_timedelta(np.arange(len(public)) % 40, unit="h"), "email").save(tmp_path / "saved")
    for analysis in (lambda h, engine: rates(h, ["sla_met", "channel"], engine=engine), lambda h, engine: most(h, "team", "escalated", engine=engine),
                     lambda h, engine: public_to_private(h, engine=engine)[0]):
        pd.testing.assert_frame_equal(analysis(folder, spark), analysis(History.read(folder), None), check_dtype=False)
    ours, theirs = (time_to_repeat_by(h, ["trigger", "root_cause_fixed"], engine=e) for h, e in ((folder, spark), (sample_history, None)))
    for column, curves in theirs.items():
        pd.testing.assert_frame_equal(ours[column].table, curves.table, rtol=1e-12)
        pd.testing.assert_frame_equal(ours[column].curves, curves.curves, rtol=1e-12)
        assert ours[column].repeated == curves.repeated > 1_000


def test_topics_show_redacted_examples(sample_history):
    texts = sample_history.complaints["text"].copy()
    texts.iloc[:300] = texts.iloc[:300] + " Reach me at jo.doe@example.com or (212) 555-0199."
    found = topics(texts, n_topics=6)
    assert len(found.terms) == 6 and found.terms["complaints"].sum() == texts.notna().sum()
    shown = " ".join(found.examples["example"])
    assert "jo.doe@example.com" not in shown and "555-0199" not in shown
    assert found.examples.groupby("topic")["example"].apply(lambda s: s.is_unique).all()


def test_a_text_sharing_no_word_with_any_topic_has_none(sample_history):
    texts = pd.concat([sample_history.complaints["text"].dropna().head(400), pd.Series(["Xylophone quagmire.", "Zebra"], index=[-1, -2])])
    found = topics(texts, n_topics=4)
    assert found.topic.loc[[-1, -2]].tolist() == [-1, -1]  # not counted in the first topic
    assert found.terms["complaints"].sum() == (found.topic >= 0).sum() == len(texts) - 2


def test_practices_left_out_on_purpose_are_not_called_unrecorded(sample_history):
    effects = practice_effects(sample_history, outcome="repeat", practices=["followed_up"], bootstrap=20)
    assert effects.table["practice"].tolist() == ["followed_up"]
    assert not [note for note in effects.notes if "not recorded" in note]
    lacking = History(sample_history.clients, sample_history.complaints.drop(columns=["apologized"]), sample_history.interactions)
    notes = practice_effects(lacking, outcome="repeat", practices=["followed_up", "apologized"], bootstrap=20).notes
    assert "Practices not recorded in this history, so not estimated: apologised." in notes


def test_inferred_triggers_never_overwrite_and_report_macro_f1(sample_history):
    before = sample_history.complaints["trigger"].copy()
    inferred = infer_triggers(sample_history)
    assert inferred.macro_f1 > 0.8
    recorded = sample_history.complaints.set_index("complaint_id")["trigger"]
    assert (recorded.reindex(inferred.table["complaint_id"]).isna() | (recorded.reindex(inferred.table["complaint_id"]) == "other")).all()
    assert inferred.table["inferred"].all() and inferred.table["probability"].between(0, 1).all()
    pd.testing.assert_series_equal(sample_history.complaints["trigger"], before)


def test_repeat_classifier_is_judged_on_later_complaints(sample_history):
    from analytics.sample import simulate
    from analytics.sample._export import SAMPLE_CLIENTS, SAMPLE_END, SAMPLE_SEED, SAMPLE_START

    risk = repeat_risk(sample_history)
    assert risk.metrics["test_complaints"] > 1000
    # judged against the planted probability of a repeat on the same complaints: about 2,700
    # complaints, a fifth repeated, put either AUC's standard error near 0.012
    _, truth = simulate(SAMPLE_CLIENTS, SAMPLE_START, SAMPLE_END, random_state=SAMPLE_SEED)
    planted = truth.complaints["p_repeat"].reindex(risk.predictions["complaint_id"]).to_numpy()
    oracle = roc_auc_score(risk.predictions["repeated"], planted)
    assert risk.metrics["roc_auc"] >= oracle - 0.03, (risk.metrics["roc_auc"], oracle)
    resolved = sample_history.complaints.set_index("complaint_id")["resolved_at"]
    assert (pd.to_datetime(resolved.reindex(risk.predictions["complaint_id"]), utc=True) >= risk.test_from).all()
    assert risk.predictions["reason_1"].str.endswith(" pts").mean() > 0.9
    table = repeat_rates(sample_history)
    assert table["repeat_rate"].is_monotonic_decreasing and (table["low_95"] <= table["repeat_rate"]).all()
    curves = time_to_repeat(sample_history, "root_cause_fixed")
    fixed = curves.summary.set_index("group")
    assert fixed.loc["True", "repeated_90"] < fixed.loc["False", "repeated_90"]  # planted: fixing the root cause prevents repeats


def test_missing_columns_give_the_sentence_that_names_them(cfpb_path):
    """On an export without triggers, resolution times, handling minutes or a clients table,
    each analysis names what it lacks, not something else."""
    from analytics.features import repeats
    from analytics.io import load_history
    from analytics.models import time_to_repeat
    from analytics.rootcause import pareto

    cfpb = load_history(cfpb_path, "cfpb")
    with pytest.raises(ValueError, match="cannot rank by cost: Handling cost needs handling minutes or credits"):
        pareto(cfpb, "category_raw", "cost")
    with pytest.raises(ValueError, match="cannot rank by churned_value: Churned value needs client status"):
        pareto(cfpb, "category_raw", "churned_value")
    assert len(pareto(cfpb, "category_raw").table) == cfpb.complaints["category_raw"].nunique()
    with pytest.raises(ValueError, match="repeats need trigger and resolved_at on the complaints"):
        repeats(cfpb)
    with pytest.raises(ValueError, match="repeats need trigger and resolved_at"):
        time_to_repeat(cfpb, "category_raw")
    with pytest.raises(ValueError, match="repeat rates need trigger and resolved_at on the complaints"):
        repeat_rates(cfpb)
    with pytest.raises(ValueError, match="no column 'region'"):
        time_to_repeat(cfpb, "region")


@pytest.mark.parametrize("bootstrap", [0, 9, 2.5, True])
def test_too_few_resamples_are_refused_before_any_fitting(sample_history, bootstrap):
    with pytest.raises(ValueError, match=r"bootstrap must be a whole number of at least 10 resamples \(200 is the default\), not"):
        practice_effects(sample_history, outcome="repeat", bootstrap=bootstrap)
    with pytest.raises(ValueError, match="at least 10 resamples"):
        backtest(snapshots(sample_history, cutoffs=["2025-01-01"]), bootstrap=bootstrap)


def test_repeat_rates_name_the_level_of_their_intervals(sample_history):
    wide, narrow = repeat_rates(sample_history), repeat_rates(sample_history, alpha=0.2)
    assert {"low_95", "high_95"} <= set(wide.columns) and {"low_80", "high_80"} <= set(narrow.columns)
    assert ((narrow["low_80"] > wide["low_95"]) & (narrow["high_80"] < wide["high_95"])).all()


def test_practice_effect_inputs_are_found_in_the_engine_from_a_saved_folder(spark, sample_history, tmp_path):
    """The outcomes practices are judged on, with practices and tone read from text: the
    history in memory, and its saved folder on DuckDB and on Spark, give the same rows in the
    same order; the repeats agree with :func:`repeats`, found apart; and the practice effects
    measured from the folder are those measured in memory."""
    from analytics.features import repeats
    from analytics.rootcause import OUTCOMES, complaint_outcomes, practice_effects
    from analytics.text import read_handling

    read = read_handling(sample_history, replace=True)
    in_memory, notes = complaint_outcomes(read, list(OUTCOMES))
    assert notes == [] and in_memory["tone_read"].all() and in_memory["practices_read"].all()
    assert in_memory[list(OUTCOMES)].notna().sum().gt(1_000).all() and in_memory["prior_complaints_365"].max() > 3
    flags = repeats(read, "90D")
    apart = flags["repeated"].where(flags["complete"].astype(bool)).astype("boolean")
    pd.testing.assert_series_equal(in_memory["repeat"], apart, check_names=False)
    folder = read.save(tmp_path / "read")
    for engine in (None, spark):
        on_engine, engine_notes = complaint_outcomes(folder, list(OUTCOMES), engine=engine)
        pd.testing.assert_frame_equal(on_engine, in_memory)
        assert engine_notes == notes
    asked = {"outcome": ["repeat", "hostility"], "practices": ["root_cause_fixed", "apologized"], "bootstrap": 20}
    effects = practice_effects(read, **asked).table
    assert set(effects["read_from_text"]) == {"practice", "practice and tone"}
    pd.testing.assert_frame_equal(practice_effects(folder, **asked, engine=spark).table, effects)


def test_wilson_intervals_for_every_group_at_once_are_scipy_s_one_at_a_time():
    from scipy.stats import binomtest

    from analytics._stats import wilson

    rng = np.random.default_rng(0)
    n = rng.integers(1, 5_000, 2_000)
    k = rng.binomial(n, rng.random(len(n)))
    k[:20], k[20:40] = 0, n[20:40]  # none, and every one
    for alpha in (0.05, 0.1):
        low, high = wilson(k, n, alpha)
        one_at_a_time = [binomtest(int(a), int(b)).proportion_ci(confidence_level=1 - alpha, method="wilson") for a, b in zip(k, n, strict=True)]
        np.testing.assert_allclose(low, [ci.low for ci in one_at_a_time], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(high, [ci.high for ci in one_at_a_time], rtol=1e-12, atol=1e-15)
