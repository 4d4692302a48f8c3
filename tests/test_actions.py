"""The action list: whom to call first, and a next step that follows from the client's own
complaints and from what this business's data shows works. Every rule is checked against
the history itself, not against the code's own intermediate figures."""

import re

import numpy as np
import pandas as pd
import pytest

from analytics.actions import AT_RISK_SHARE, RISK_JUMP_PTS, action_list
from analytics.health import HealthScore
from analytics.labels import PRACTICE_WORDS
from analytics.quarterly import quarterly_review
from analytics.rootcause._next_action import ADVICE

CUTOFF = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.fixture(scope="module")
def actions(sample_history):
    return action_list(sample_history, CUTOFF)


@pytest.fixture(scope="module")
def known(sample_history):
    return sample_history.as_of(CUTOFF)


def test_the_list_is_the_riskiest_tenth_ordered_by_value_at_risk(actions, sample_history):
    t = actions.table
    review = quarterly_review(sample_history, "2025Q4", bootstrap=20)  # the same cutoff, reached another way
    riskiest = review.clients.head(round(len(review.clients) * AT_RISK_SHARE))
    assert len(t) == len(riskiest) and set(t["client_id"]) == set(riskiest["client_id"])
    assert t["value_at_risk"].is_monotonic_decreasing and t["rank"].tolist() == list(range(1, len(t) + 1))
    np.testing.assert_allclose(t["value_at_risk"], t["probability"] * t["annual_value"])
    pd.testing.assert_frame_equal(review.actions.table, t)


def test_renewal_and_notice_dates_follow_the_contract(actions, sample_history):
    clients = sample_history.clients.set_index("client_id").loc[actions.table["client_id"]]
    renewal = pd.to_datetime(actions.table["renewal_date"].to_numpy(), utc=True)
    start = pd.to_datetime(clients["contract_start"].to_numpy(), utc=True).normalize()
    # an anniversary of the contract's start (in 365-day years), within the coming year
    assert ((renewal - start).days % 365 == 0).all()
    ahead = (renewal - CUTOFF).days
    assert ((ahead > 0) & (ahead <= 365)).all()
    notice = pd.to_datetime(actions.table["notice_date"].to_numpy(), utc=True)
    assert ((renewal - notice).days == clients["notice_days"].to_numpy()).all()


def test_each_next_step_is_true_of_the_client(actions, known):
    c = known.complaints
    for row in actions.table.itertuples():
        mine = c.loc[c["client_id"] == row.client_id]
        step = row.next_step
        opened = re.search(r"of (\d{4}-\d{2}-\d{2})", step)
        if step.startswith("Take ownership of the open"):
            match = mine.loc[mine["opened_at"].dt.strftime("%Y-%m-%d") == opened[1]]
            assert (match["resolved_at"].isna() & match["closed_at"].isna()).any(), step
            days = int(re.search(r"\(([\d,]+) days? open\)", step)[1].replace(",", ""))
            assert days == (CUTOFF - match["opened_at"].min()).days
            continue
        assert (mine["resolved_at"].notna() | mine["closed_at"].notna()).all(), f"{row.client_id} has an open complaint, which comes first: {step}"
        recent = mine.loc[mine["opened_at"] >= CUTOFF - pd.Timedelta(days=90)]
        added = next((p for p, words in ADVICE.items() if step.startswith(f"{words} on the")), None)
        if added:  # a practice not yet used on the client's latest complaint of the last 90 days
            latest = recent.loc[recent["opened_at"] == recent["opened_at"].max()]
            assert latest["opened_at"].dt.strftime("%Y-%m-%d").iloc[0] == opened[1], step
            assert not latest[added].fillna(False).astype(bool).any(), step
            assert row.evidence.startswith(PRACTICE_WORDS[added]) and "churn within 180 days" in row.evidence
            if row.notice_date < CUTOFF:
                assert f"in the notice period since {row.notice_date:%Y-%m-%d}" in step
            elif row.notice_date < CUTOFF + pd.Timedelta(days=90):
                assert f"before the notice date, {row.notice_date:%Y-%m-%d}" in step
        elif step.startswith("Renewal conversation"):
            assert row.notice_date < CUTOFF + pd.Timedelta(days=90)
        else:
            assert step.startswith("Check-in call") and not row.notice_date < CUTOFF + pd.Timedelta(days=90)
    kinds = actions.table["next_step"].str.extract(r"^(Take|Fix|Follow|Renewal|Check-in|Set|Offer|Move)")[0]
    assert kinds.notna().all() and kinds.nunique() >= 4  # the sample calls for every kind of step


def test_a_practice_is_only_asked_for_where_its_whole_interval_shows_a_benefit(actions):
    for evidence in actions.table["evidence"]:
        numbers = re.search(r"([+-]\d+\.\d) pts \(95% CI ([+-]\d+\.\d) to ([+-]\d+\.\d)\)", evidence)
        if numbers:
            effect, low, high = map(float, numbers.groups())
            assert low <= effect <= high < 0
    cited = actions.evidence.loc[actions.evidence["high_pts"] < 0]
    assert len(cited)  # the sample's planted practices do help


def test_the_main_reason_sets_the_client_apart_and_raises_its_risk(actions):
    reasons = actions.table["main_reason"]
    points = reasons.str.extract(r": \+(\d+\.\d) pts$")[0].astype(float)
    assert points.notna().all() and (points > 0).all()
    # not one reason every client on the list shares
    assert reasons.str.rsplit(":", n=1).str[0].value_counts().iloc[0] < 0.2 * len(reasons)


def test_alerts_say_what_happened(actions, sample_history):
    a = actions.alerts
    assert len(a)
    jumped = a["alert"].str.extract(r"risk up (\d+) pts")[0].dropna().astype(int)
    rise = (a.loc[jumped.index, "probability"] - a.loc[jumped.index, "probability_before"]) * 100
    assert (rise >= RISK_JUMP_PTS).all() and (np.abs(rise.round() - jumped) <= 1).all()
    newly = a.loc[a["alert"].str.contains("newly at risk"), "client_id"]
    assert set(newly) <= set(actions.table["client_id"])
    healthy, watch = HealthScore()._policy()["bands"]["healthy"], HealthScore()._policy()["bands"]["watch"]
    fell = a.loc[a["alert"].str.contains("health fell")]

    def band(score):
        return np.select([score >= healthy, score >= watch], [2, 1], 0)

    assert (band(fell["health"].to_numpy()) < band(fell["health_before"].to_numpy())).all()
    counts = actions.alert_counts()
    assert counts["newly at risk"] == len(newly) and counts["health fell a band"] == len(fell)


def test_csv_and_excel_hold_the_list_as_shown(actions, tmp_path):
    csv = pd.read_csv(actions.to_csv(tmp_path / "a.csv"), keep_default_na=False, na_values=[""])
    excel = pd.read_excel(actions.to_excel(tmp_path / "a.xlsx"), sheet_name=None)
    shown = actions.readable()
    assert list(csv.columns) == list(shown.columns) == list(excel["actions"].columns)
    assert csv["client"].tolist() == shown["client"].tolist() == excel["actions"]["client"].tolist()
    np.testing.assert_allclose(csv["value at risk"], shown["value at risk"])
    assert csv["value at risk"].is_monotonic_decreasing
    assert len(excel["alerts"]) == len(actions.alerts)


def test_every_open_complaint_gets_a_practice_to_add_or_is_told_none_helps(actions, known):
    c = known.complaints
    waiting = c.loc[c["resolved_at"].isna() & c["closed_at"].isna(), "complaint_id"]
    advised = actions.open_complaints
    assert len(waiting) and set(advised["complaint_id"]) == set(waiting)
    reliable = advised.loc[advised["reliable"]]
    assert (reliable["high_pts"] < 0).all() and reliable["advice"].str.contains("repeat risk").all()
    assert advised.loc[~advised["reliable"], "advice"].str.startswith("No practice shows a reliable benefit").all()
    shown = actions.open_readable()
    assert list(shown.columns)[-1] == "practice to add (measured here)" and len(shown) == len(waiting)
    opened = pd.to_datetime(advised["opened_at"], utc=True)
    assert (advised["days_open"] == (CUTOFF - opened).dt.days).all()


def test_a_large_history_measures_the_evidence_on_whole_clients(sample_history, monkeypatch):
    import analytics._next_steps as steps_module

    monkeypatch.setattr(steps_module, "EVIDENCE_COMPLAINTS", 4000)
    table, notes = steps_module.measured_evidence(sample_history)
    measured = re.search(r"random ([\d,]+) of ([\d,]+) clients \(([\d,]+) of ([\d,]+) complaints\)", notes[0])
    clients, complaints = int(measured[1].replace(",", "")), int(measured[3].replace(",", ""))
    assert 3000 < complaints <= 4000 and clients < len(sample_history.clients)
    assert table["complaints"].max() <= complaints and len(table)
