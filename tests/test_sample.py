"""The simulator does what its Truth says, and the shipped sample is reproducible."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from analytics.cli import app
from analytics.sample import simulate
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
    complaints["came_back"] = complaints.index.isin(came_back)
    # only complaints whose repeat could be seen: resolved early enough, client still there
    end = pd.Timestamp("2025-01-01", tz="UTC")
    clients = history.clients.set_index("client_id")
    stayed = complaints["client_id"].map(clients["status"]).eq("active")
    visible = complaints["resolved_at"].lt(end - pd.Timedelta("200D")).fillna(False) & stayed
    for fixed in (True, False):
        group = complaints.loc[visible & complaints["root_cause_fixed"].eq(fixed).fillna(False)]
        p = group["p_repeat"].to_numpy(dtype=float)
        _within(group["came_back"].mean(), p.mean(), np.sqrt((p * (1 - p)).sum()) / len(p))
    fixed = complaints.loc[visible & complaints["root_cause_fixed"].eq(True).fillna(False), "came_back"].mean()
    unfixed = complaints.loc[visible & complaints["root_cause_fixed"].eq(False).fillna(False), "came_back"].mean()
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
    assert 0.05 < recorded.isna().mean() < 0.12
    wrong = (recorded.notna() & (recorded != true)).mean()
    assert 0.02 < wrong < 0.1
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

    history, _ = simulate(150, random_state=3)
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
