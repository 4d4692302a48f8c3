"""The rules users rely on, each checked on a case worked out by hand (tiny histories, known
values), so that a broken rule fails here: these are the tests mutation testing found
missing (see the README's contributing section for ``mutmut``).

Mutants left alive in event-log folding, the quarantine, practice-effect outcomes and the
review's value and cost, and why none can change what a user sees:

- ``utc=True`` dropped where the times are canonical columns, already in UTC;
- a dtype dropped where pandas infers the same one (a boolean mask, a boolean array), and
  ``ensure_ascii=None`` (falsy, as False) or ``orient="RECORDS"`` (read in any case);
- ``ignore_index`` on concatenations read by position and renumbered afterwards, and the
  sort algorithm of quarantine entries whose row and column differ;
- the value standing in for a missing time or status of an event set aside (it is never
  sorted or matched);
- the default 90-day repeat window written out, ``earliest=None`` (falsy, as False), a
  ``complete`` flag missing only where the repeat is, and a complaint index that is always
  0, 1, 2, ... (the canonical tables are renumbered), so ``reindex`` and ``index=None`` agree;
- a ticket's ``_row``, not read after the fold (a failed ticket's rows come from its events);
- a reason array not repeated per export row: only events set aside carry a reason per row,
  and each stands for one export row.
"""

import numpy as np
import pandas as pd
import pytest

from analytics._stats import wilson
from analytics.features import snapshots
from analytics.io import History
from analytics.models import rolling_origin
from analytics.redaction import PERSONAL_DETAILS, redact
from analytics.rootcause import practice_effects
from analytics.schemas import empty_table


def _history(complaints: list[dict], start="2023-01-01", end_events=()) -> History:
    """One client "A" from ``start``; ``complaints`` as dicts of canonical columns
    (timestamps as strings); ``end_events``: timestamps of contacts that extend the data."""
    clients = empty_table("clients").reindex(range(1))
    clients["client_id"] = pd.array(["A"], dtype=clients["client_id"].dtype)
    clients["contract_start"] = pd.array([pd.Timestamp(start, tz="UTC")], dtype=clients["contract_start"].dtype)
    table = empty_table("complaints").reindex(range(len(complaints)))
    for column in {key for row in complaints for key in row}:
        values = [row.get(column) for row in complaints]
        if column.endswith("_at"):
            values = [pd.Timestamp(v, tz="UTC") if v is not None else None for v in values]
        table[column] = pd.array(values, dtype=table[column].dtype)
    table["complaint_id"] = pd.array([f"C{i}" for i in range(len(complaints))], dtype=table["complaint_id"].dtype)
    table["client_id"] = pd.array(["A"] * len(complaints), dtype=table["client_id"].dtype)
    contacts = empty_table("interactions").reindex(range(len(end_events)))
    if len(end_events):
        contacts["interaction_id"] = pd.array([f"I{i}" for i in range(len(end_events))], dtype=contacts["interaction_id"].dtype)
        contacts["complaint_id"] = pd.array(["C0"] * len(end_events), dtype=contacts["complaint_id"].dtype)
        contacts["client_id"] = pd.array(["A"] * len(end_events), dtype=contacts["client_id"].dtype)
        contacts["at"] = pd.array([pd.Timestamp(t, tz="UTC") for t in end_events], dtype=contacts["at"].dtype)
    return History(clients, table, contacts)


@pytest.mark.parametrize(("opened", "counted"), [
    ("2024-04-01 00:00:00", 0),  # exactly at the cutoff: not yet known
    ("2024-03-31 23:59:59.999999", 1),  # a microsecond before it: known
    ("2024-04-01", 0),  # a date without a time is midnight: at the cutoff
    ("2024-03-31", 1),
])
def test_a_complaint_counts_only_at_cutoffs_after_it_opened(opened, counted):
    history = _history([{"opened_at": opened, "resolved_at": "2024-04-05", "trigger": "billing", "severity": 2}], end_events=["2024-12-01"])
    row = snapshots(history, ["2024-04-01"]).iloc[0]
    assert row["complaints_90"] == counted and row["complaints_to_date"] == counted
    assert row["open_complaints"] == counted  # resolved after the cutoff: still open then


def test_monthly_cutoffs_put_a_complaint_in_the_first_month_after_it():
    # opened 2024-03-15: 17 days before the April cutoff, 47 before May, 78 before June, 108 before July
    history = _history([{"opened_at": "2024-03-15", "resolved_at": "2024-03-16", "trigger": "billing", "severity": 2}], end_events=["2024-12-01"])
    months = pd.date_range("2024-02-01", "2024-07-01", freq="MS", tz="UTC")
    rows = snapshots(history, list(months)).set_index(pd.to_datetime(snapshots(history, list(months))["cutoff"]).dt.strftime("%Y-%m-%d"))
    assert rows.loc["2024-03-01", "complaints_30"] == 0 and rows.loc["2024-04-01", "complaints_30"] == 1
    assert rows.loc["2024-05-01", "complaints_30"] == 0 and rows.loc["2024-05-01", "complaints_90"] == 1
    assert rows.loc["2024-06-01", "complaints_90"] == 1 and rows.loc["2024-07-01", "complaints_90"] == 0


def test_a_frequency_without_a_period_end_in_the_data_is_named():
    history = _history([{"opened_at": "2024-03-01", "resolved_at": "2024-03-02", "trigger": "billing"}])
    with pytest.raises(ValueError, match=r"no 'ME' period ends between the first and last complaint \(2024-03-01 to 2024-03-01\)"):
        snapshots(history, "ME")
    with pytest.raises(ValueError, match="no cutoff given"):
        snapshots(history, [])


@pytest.mark.parametrize(("cutoff", "censored"), [
    ("2024-04-01", True),  # the data ends 2024-05-01, a month into the 90-day horizon
    ("2024-02-02", True),  # the horizon ends 2024-05-02, a day after the data
    ("2024-02-01", False),  # it ends as the data does: the outcome is known
    ("2024-01-31", False),
])
def test_a_label_is_censored_when_its_horizon_runs_past_the_data(cutoff, censored):
    history = _history([{"opened_at": "2023-06-01", "resolved_at": "2023-06-02", "trigger": "billing"}], end_events=["2024-05-01"])
    assert bool(snapshots(history, [cutoff], "90D").iloc[0]["censored"]) == censored


@pytest.mark.parametrize("cutoffs", ["ME", "QE"])
def test_backtest_trains_only_on_labels_ended_by_the_test_cutoff(cutoffs):
    moments = pd.date_range("2023-01-01", "2025-01-01", freq="MS" if cutoffs == "ME" else "QS", tz="UTC")
    rows = pd.DataFrame({"cutoff": np.repeat(moments, 3), "client_id": np.tile(["A", "B", "C"], len(moments)), "censored": False})
    horizon = pd.Timedelta("90D")
    splits = list(rolling_origin(rows, "90D"))
    assert splits
    for cutoff, train, test in splits:
        trained_on = pd.to_datetime(rows.loc[train, "cutoff"])
        assert (trained_on + horizon <= pd.Timestamp(cutoff, tz="UTC")).all()
        # every row whose horizon ended by then is used: the rule is not stricter than it says
        assert train.sum() == int((pd.to_datetime(rows["cutoff"]) + horizon <= pd.Timestamp(cutoff, tz="UTC")).sum())
        assert (pd.to_datetime(rows.loc[test, "cutoff"]) == pd.Timestamp(cutoff, tz="UTC")).all()


def test_wilson_intervals_are_the_textbook_95_percent_ones():
    # Wilson (1927) score interval at z = 1.959964: 5/10 -> 0.2366 to 0.7634; 0/10 -> 0 to 0.2775; 10/10 -> 0.7225 to 1
    low, high = wilson([5, 0, 10, 0], [10, 10, 10, 0])
    np.testing.assert_allclose(low[:3], [0.236593, 0.0, 0.722467], atol=1e-6)
    np.testing.assert_allclose(high[:3], [0.763407, 0.277533, 1.0], atol=1e-6)
    assert np.isnan(low[3]) and np.isnan(high[3])
    with pytest.raises(ValueError):  # successes without their trials are a caller's mistake, not a shorter answer
        wilson([1, 2], [3])


@pytest.mark.parametrize(("text", "expected"), [
    ("card 4111 1111 1111 1111", "card [card]"),  # passes the Luhn check
    ("card 4111 1111 1111 1112", "card 4111 1111 1111 1112"),  # fails it: a reference number, kept
    ("ref 1234567812345678", "ref 1234567812345678"),
])
def test_only_numbers_passing_the_luhn_check_are_cards(text, expected):
    assert redact(text, kinds=("card",)) == expected  # cards alone: a failed card may still read as a phone number


@pytest.mark.parametrize(("text", "expected"), [
    ("account ACC-123456 locked", "account [number] locked"),  # six digits: an account-like number
    ("account ACC-12345 locked", "account ACC-12345 locked"),  # five: kept
    ("order 123456", "order [number]"),
])
def test_account_like_numbers_start_at_six_digits(text, expected):
    assert redact(text) == expected


def test_the_churn_outcome_counts_only_complaints_followed_for_180_days(sample_history):
    effects = practice_effects(sample_history, outcome="churn", practices=["followed_up"], bootstrap=20)
    c = sample_history.complaints
    moments = [c[column].max() for column in ("opened_at", "first_response_at", "resolved_at", "closed_at")]
    end = max([*moments, sample_history.interactions["at"].max(), sample_history.clients["ended_at"].max()])
    followed = c["followed_up"].notna() & (c["opened_at"] + pd.Timedelta(days=180) <= end)
    assert effects.table.loc[0, "complaints"] == int(followed.sum())


def test_cost_to_serve_charges_every_escalation_of_the_last_year(sample_history):
    from analytics.review import load_policy, relationship_review

    policy = load_policy()
    cheap = relationship_review(sample_history, policy=policy | {"value": policy["value"] | {"escalation_cost": 0.0}})
    dear = relationship_review(sample_history, policy=policy | {"value": policy["value"] | {"escalation_cost": 1000.0}})
    extra = (dear.clients["cost_to_serve_12m"] - cheap.clients["cost_to_serve_12m"]).to_numpy()
    # escalations counted from the history itself: complaints of the last year marked escalated
    known = sample_history.as_of(dear.cutoff).complaints
    year = known.loc[known["opened_at"] >= dear.cutoff - pd.Timedelta(days=365)]
    escalated = year.loc[year["escalated"].fillna(False).astype(bool)].groupby("client_id").size()
    counted = dear.clients["client_id"].map(escalated).fillna(0).to_numpy()
    assert extra.sum() > 0 and (extra >= 0).all()
    np.testing.assert_allclose(extra, 1000.0 * dear.clients["escalations_365"].to_numpy())
    # the review estimates the count from the escalation rate; it must agree with the history's within one
    assert np.mean(np.abs(extra / 1000.0 - counted) <= 1) > 0.97


@pytest.mark.parametrize(("text", "expected"), [
    ("call 555-0199 today", "call [phone] today"),  # seven digits: the shortest phone number redacted
    ("call (212) 155-0199", "call [phone]"),  # possible but not an assigned number: still redacted
    ("call 212.555.0199 now", "call [phone] now"),  # dots between groups, not a decimal
    ("x +44.20.7946.0959", "x [phone]"),
    ("iban NO93 8601 1117 947 ok", "iban [iban] ok"),  # the shortest IBAN (Norway, 15 characters)
    ("total 1234567.89 due", "total 1234567.89 due"),  # an amount, not a phone number
    ("paid 1,234,567,890 in total", "paid 1,234,567,890 in total"),
    ("ref 0.1234567", "ref 0.1234567"),
])
def test_phone_numbers_and_ibans_at_the_edges(text, expected):
    assert redact(text, kinds=PERSONAL_DETAILS) == expected


def _with(history: History, clients: dict | None = None, contacts: list[dict] | None = None) -> History:
    """``history`` with client columns set (one value each) and, when given, ``contacts``
    (dicts of interaction columns; ``at`` as text) in place of its interactions."""
    table = history.clients.copy()
    for column, value in (clients or {}).items():
        value = pd.Timestamp(value, tz="UTC") if column.endswith("_at") else value
        table[column] = pd.array([value], dtype=table[column].dtype)
    rows = contacts or []
    interactions = empty_table("interactions").reindex(range(len(rows)))
    for column in {key for row in rows for key in row}:
        values = [pd.Timestamp(r[column], tz="UTC") if column == "at" else r.get(column) for r in rows]
        interactions[column] = pd.array(values, dtype=interactions[column].dtype)
    if rows:
        interactions["interaction_id"] = pd.array([f"I{i}" for i in range(len(rows))], dtype=interactions["interaction_id"].dtype)
        interactions["client_id"] = pd.array(["A"] * len(rows), dtype=interactions["client_id"].dtype)
    return History(table, history.complaints, interactions if contacts is not None else history.interactions)


def test_each_practice_outcome_on_complaints_worked_out_by_hand():
    from analytics.rootcause import complaint_outcomes

    history = _with(_history([
        # billing again 44 days after C0 was resolved: C0 repeated; C1's 90 days end before the data does
        {"opened_at": "2024-01-01", "resolved_at": "2024-01-02", "trigger": "billing", "disputed": True, "csat": 4, "first_response_at": "2024-01-01 10:00",
         "severity": 3, "channel": "email", "team": "Tier 1", "followed_up": True},
        {"opened_at": "2024-02-15", "resolved_at": "2024-02-16", "trigger": "billing", "disputed": False, "csat": 3, "first_response_at": "2024-02-15 10:00",
         "followed_up": False},
        # opened less than 180 days before the data ends, and never resolved: its dispute is not yet known
        # (it used to count: the check read "resolved | ~has(...)", and ~ of a Python True is -2)
        {"opened_at": "2024-08-01", "trigger": "billing", "disputed": True, "first_response_at": "2024-08-01 10:00"},
        # 366 days after C0 (2024 is a leap year): C0 is outside its prior year, C1 and C2 inside
        {"opened_at": "2025-01-01"},
        # listed last but the earliest: billing again with C0 within 90 days of its resolution
        {"opened_at": "2023-12-01", "resolved_at": "2023-12-02", "trigger": "billing"},
    ]), clients={"status": "churned", "ended_at": "2024-07-20", "segment": "smb"}, contacts=[
        {"complaint_id": "C0", "at": "2024-01-01 09:00", "direction": "inbound", "tone": "angry"},  # before the first response
        {"complaint_id": "C0", "at": "2024-01-01 11:00", "direction": "inbound", "tone": "calm"},
        {"complaint_id": "C1", "at": "2024-02-15 11:00", "direction": "inbound", "tone": "abusive"},
        {"complaint_id": "C1", "at": "2024-02-15 12:00", "direction": "outbound", "tone": "calm"},
        {"complaint_id": "C2", "at": "2024-08-01 11:00", "direction": "outbound", "tone": "angry"},  # the agent's: not the client's
    ])
    history.complaints["practices_read"] = pd.array([False, True, None, None, None], dtype="boolean")
    outcomes = ["repeat", "dispute", "csat", "churn", "hostility"]
    frame, notes = complaint_outcomes(history, outcomes)
    assert notes == [] and frame["complaint_id"].tolist() == ["C0", "C1", "C2", "C3", "C4"] and (frame["client_id"] == "A").all()
    assert all(str(frame[column].dtype) == "boolean" for column in [*outcomes, "followed_up", "practices_read"])
    got = frame.set_index("complaint_id").astype("object").where(lambda f: f.notna(), None)
    assert got[outcomes].to_dict(orient="index") == {
        "C0": {"repeat": True, "dispute": True, "csat": True, "churn": False, "hostility": False},  # left 201 days after: not within 180
        "C1": {"repeat": False, "dispute": False, "csat": False, "churn": True, "hostility": True},  # left 156 days after
        "C2": {"repeat": None, "dispute": None, "csat": None, "churn": None, "hostility": None},
        "C3": {"repeat": None, "dispute": None, "csat": None, "churn": None, "hostility": None},
        "C4": {"repeat": True, "dispute": None, "csat": None, "churn": False, "hostility": None},  # left 232 days after
    }
    # the confounders the effects are adjusted for, "not recorded" where missing
    assert got[["severity", "trigger", "channel", "team", "segment", "prior_complaints_365"]].to_dict(orient="list") == {
        "severity": ["3"] + ["not recorded"] * 4, "trigger": ["billing", "billing", "billing", "not recorded", "billing"],
        "channel": ["email"] + ["not recorded"] * 4, "team": ["Tier 1"] + ["not recorded"] * 4,
        "segment": ["smb"] * 5, "prior_complaints_365": [1, 2, 3, 2, 0],
    }
    assert got["followed_up"].tolist() == [True, False, None, None, None] and got["practices_read"].tolist() == [False, True, None, None, None]
    assert "apologized" in got and got["apologized"].isna().all()


def test_client_value_and_cost_to_serve_worked_out_by_hand():
    from analytics._value import client_value

    now = pd.DataFrame({
        "client_id": ["A", "B"], "segment": ["smb", "enterprise"], "cutoff": pd.to_datetime(["2025-01-01", "2025-01-01"], utc=True),
        "annual_value": [10_000.0, 50_000.0], "complaints_365": [3, 2], "escalation_rate_365": [2 / 3, np.nan],
        "handling_minutes_365": [600.0, np.nan], "credits_365": [200.0, np.nan], "dispute_rate_365": [1 / 3, np.nan],
        "complaints_90": [1, 1], "escalation_rate_90": [1.0, np.nan], "handling_minutes_90": [120.0, 0.0], "credits_90": [50.0, 0.0],
        "angry_contacts_90": [2, 0], "abusive_contacts_90": [1, 0], "angry_contacts_365": [6, 0], "abusive_contacts_365": [2, 0],
        "days_to_renewal": [45, 200], "notice_days": [30, np.nan],
    })
    table = client_value(now, {"margin": 0.3, "hourly_cost": 60.0, "escalation_cost": 250.0}).set_index("client_id")
    a, b = table.loc["A"], table.loc["B"]
    # A: 10 hours at 60 + 200 credits + 2 escalations at 250 = 1,300; the last 90 days: 2 h, 50, 1 escalation = 420
    assert (a["margin"], a["cost_to_serve_12m"], a["net_value_12m"], a["net_value_pace"]) == (3_000.0, 1_300.0, 1_700.0, 3_000.0 - 4 * 420.0)
    assert (a["escalations_365"], a["handling_hours_365"], a["tone_trend"]) == (2.0, 10.0, 3 - 8 / 4)
    assert a["renewal_date"] == pd.Timestamp("2025-02-15", tz="UTC") and a["notice_by"] == pd.Timestamp("2025-01-16", tz="UTC")
    # B spent nothing recorded (two complaints, no escalation rate: none escalated): no cost, the
    # whole margin; no notice period: the notice date is the renewal
    assert (b["cost_to_serve_12m"], b["net_value_12m"], b["net_value_pace"]) == (0.0, 15_000.0, 15_000.0)
    assert b["notice_by"] == b["renewal_date"] == pd.Timestamp("2025-07-20", tz="UTC")
    # figures the review shows as the snapshot has them
    passed = ["segment", "annual_value", "complaints_365", "dispute_rate_365", "angry_contacts_365", "abusive_contacts_365", "credits_365", "notice_days"]
    pd.testing.assert_frame_equal(table[passed].reset_index(drop=True), now[passed], check_dtype=False)
    assert (b["escalations_365"], b["handling_hours_365"]) == (0.0, 0.0)  # nothing recorded: none
    # a recorded contract end ahead is the renewal
    ends = pd.Series(pd.to_datetime(["2025-03-31", None], utc=True))
    assert client_value(now, {"margin": 0.3, "hourly_cost": 60.0, "escalation_cost": 250.0}, ends)["renewal_date"].tolist() == [
        pd.Timestamp("2025-03-31", tz="UTC"), pd.Timestamp("2025-07-20", tz="UTC")]


def test_client_value_without_cost_columns_spends_nothing_and_without_value_is_unknown():
    from analytics._value import client_value

    now = pd.DataFrame({"client_id": ["A", "B"], "cutoff": pd.to_datetime(["2025-01-01"] * 2, utc=True), "days_to_renewal": [10, 20], "complaints_365": [4, 1]})
    table = client_value(now, {"margin": 0.3, "hourly_cost": 60.0, "escalation_cost": 250.0})
    assert table["annual_value"].isna().all() and table["client_id"].tolist() == ["A", "B"]
    row = table.iloc[0]
    assert row["cost_to_serve_12m"] == 0.0 and np.isnan(row["annual_value"]) and np.isnan(row["net_value_12m"]) and np.isnan(row["net_value_pace"])
    assert all(np.isnan(row[c]) for c in ("dispute_rate_365", "handling_hours_365", "escalations_365", "tone_trend", "notice_days"))
    assert row["complaints_365"] == 4.0 and pd.isna(row["segment"]) and row["notice_by"] == row["renewal_date"] == pd.Timestamp("2025-01-11", tz="UTC")


def test_a_planted_hazard_ratio_is_recovered_within_its_interval():
    """Clients leave after an exponential time, twice as fast when x = 1 (a hazard ratio of
    2, planted); snapshots every quarter carry x. The Cox fit must give 2 within four of its
    standard errors, read off its 95% interval, and an interval of that width."""
    from analytics.models import ChurnHazards

    rng = np.random.default_rng(7)
    n, end_day = 3_000, 730
    x = rng.integers(0, 2, n)
    leaves = rng.exponential(1_000 / 2.0**x)  # days; the hazard is 1/1000 a day, doubled where x = 1
    start = pd.Timestamp("2022-01-01", tz="UTC")
    clients = empty_table("clients").reindex(range(n))
    clients["client_id"] = pd.array([f"K{i}" for i in range(n)], dtype=clients["client_id"].dtype)
    clients["contract_start"] = pd.array([start] * n, dtype=clients["contract_start"].dtype)
    churned = leaves < end_day
    clients["status"] = pd.array(np.where(churned, "churned", "active"), dtype=clients["status"].dtype)
    ended = [start + pd.Timedelta(days=float(d)) if c else None for d, c in zip(leaves, churned, strict=True)]
    clients["ended_at"] = pd.array(ended, dtype=clients["ended_at"].dtype)
    contacts = empty_table("interactions").reindex(range(1))
    contacts["interaction_id"], contacts["client_id"] = pd.array(["I0"], dtype="string"), pd.array(["K0"], dtype="string")
    contacts["at"] = pd.array([start + pd.Timedelta(days=end_day)], dtype=contacts["at"].dtype)  # the data ends here
    history = History(clients, empty_table("complaints"), contacts.astype({"interaction_id": contacts["interaction_id"].dtype}))
    quarters = np.arange(0, end_day, 91)
    rows = pd.DataFrame([(f"K{i}", start + pd.Timedelta(days=int(q)), int(q), x[i]) for i in range(n) for q in quarters if q < leaves[i]],
                        columns=["client_id", "cutoff", "tenure_days", "x"])
    hazards = ChurnHazards(covariates=["x"]).fit(history, rows)
    fitted = hazards.summary.set_index("covariate").loc["x"]
    standard_error = (np.log(fitted["high_95"]) - np.log(fitted["low_95"])) / (2 * 1.959964)
    # about 2,000 leave within the two years: the standard error of the log hazard ratio is near
    # sqrt(1 / 1000 + 1 / 1000) = 0.045 (here 1.91, 95% CI 1.75 to 2.08, with 1,967 leavers)
    assert 0.04 < standard_error < 0.07
    assert abs(np.log(fitted["hazard_ratio"]) - np.log(2.0)) < 4 * standard_error


@pytest.mark.parametrize(("start", "cutoff", "days"), [
    ("2023-03-15", "2024-01-01", 74),  # 15 March 2024 (2024 is a leap year: a 365-day year would say 73)
    ("2023-03-15", "2024-03-15", 365),  # on the anniversary: the next one
    ("2020-02-29", "2025-03-01", 364),  # a 29 February start renews on 28 February in other years
])
def test_days_to_renewal_count_to_the_start_s_next_anniversary(start, cutoff, days):
    history = _history([{"opened_at": "2023-06-01"}], start=start, end_events=["2025-06-01"])
    rows = snapshots(history, [cutoff], "90D", features=["complaints_90"])
    assert rows["days_to_renewal"].tolist() == [days]


def test_a_renewal_date_is_the_recorded_contract_end_where_it_lies_ahead():
    from analytics._value import renewal_dates

    cutoff = pd.Series(pd.to_datetime(["2025-01-01"] * 3, utc=True))
    ends = pd.Series(pd.to_datetime(["2025-06-30", "2024-06-30", None, "2025-01-01"], utc=True))
    dates = renewal_dates(pd.concat([cutoff, cutoff.iloc[:1]], ignore_index=True), pd.Series([74, 74, 74, 74]), ends)
    # ahead: the contract's end; passed or unknown: the start's anniversary, 74 days on; ending that day: that day
    assert dates.tolist() == [pd.Timestamp("2025-06-30", tz="UTC"), pd.Timestamp("2025-03-16", tz="UTC"), pd.Timestamp("2025-03-16", tz="UTC"),
                              pd.Timestamp("2025-01-01", tz="UTC")]


def test_churn_within_180_days_at_its_edges():
    """The client left on 2024-07-20; the data ends 180 days after that."""
    from analytics.rootcause import complaint_outcomes

    history = _with(_history([
        {"opened_at": "2024-01-21"},  # left 181 days after: not within 180
        {"opened_at": "2024-01-22"},  # left exactly 180 days after: within
        {"opened_at": "2024-07-20"},  # opened the moment the client left: not left after it; followed exactly 180 days
        {"opened_at": "2024-07-21"},  # followed 179 days: not yet known
    ], end_events=["2025-01-16"]), clients={"status": "churned", "ended_at": "2024-07-20"},
        contacts=[{"complaint_id": "C0", "at": "2025-01-16", "direction": "outbound"}])
    frame, _ = complaint_outcomes(history, ["churn"])
    assert frame["churn"].astype("object").where(frame["churn"].notna(), None).tolist() == [False, True, False, None]


@pytest.mark.parametrize(("client_columns", "churn_note"), [({}, True), ({"status": "churned"}, True), ({"ended_at": "2024-07-20"}, True),
                                                           ({"status": "churned", "ended_at": "2024-03-01"}, False)])
def test_outcomes_a_history_does_not_record_are_named_not_guessed(client_columns, churn_note):
    from analytics.rootcause import complaint_outcomes

    # a trigger but no resolution time; a first response but no tone of the client's contacts
    history = _with(_history([{"opened_at": "2024-01-01", "trigger": "billing", "first_response_at": "2024-01-01 10:00"}], end_events=["2025-01-01"]),
                    clients=client_columns)
    frame, notes = complaint_outcomes(history, ["repeat", "dispute", "csat", "churn", "hostility"])
    assert notes == [
        "Repeats need resolution times and triggers, which this history does not record.",
        "Disputes are not recorded in this history.",
        "CSAT is not recorded in this history.",
    ] + (["Churn needs client status and end dates, which this history does not record."] if churn_note else []) + [
        "Hostility needs the tone of clients' contacts (or their words) and first response times, which this history does not record."]
    assert "hostility" not in frame
    assert "churn" not in frame if churn_note else frame["churn"].tolist() == [True]
    assert frame["segment"].tolist() == ["not recorded"] and "repeat" not in frame and "dispute" not in frame


def test_hazard_covariates_missing_are_counted_and_text_is_refused():
    from analytics.models import ChurnHazards

    history = _with(_history([{"opened_at": "2023-06-01"}], end_events=["2024-12-31"]), clients={"status": "churned", "ended_at": "2024-11-01"})
    cutoffs = pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"], utc=True)
    rows = pd.DataFrame({"client_id": "A", "cutoff": cutoffs, "tenure_days": [365, 456, 547, 639], "x": [1.0, None, 2.0, None]})
    rows = pd.concat([rows, rows.assign(client_id="B", x=[0.0, 1.0, 0.0, 1.0])], ignore_index=True)
    clients = pd.concat([history.clients, history.clients.assign(client_id="B", status="active", ended_at=pd.NaT)], ignore_index=True)
    two = History(clients.astype(history.clients.dtypes.to_dict()), history.complaints, history.interactions)
    assert ChurnHazards(covariates=["x"]).fit(two, rows).missing_ == {"x": 2}
    with pytest.raises(ValueError, match="covariate 'x' must be numbers; it holds 'many' and 0 other values"):
        ChurnHazards(covariates=["x"]).fit(two, rows.assign(x=rows["x"].astype("object").where(rows.index != 3, "many")))
