"""The health score and the relationship review on the sample."""

import numpy as np
import pandas as pd
import pytest

from analytics.features import snapshots
from analytics.health import COMPONENTS, HealthScore
from analytics.review import RECOMMENDATIONS, load_policy, relationship_review


@pytest.fixture(scope="module")
def rows(sample_history):
    return snapshots(sample_history)


@pytest.fixture(scope="module")
def health(rows):
    return HealthScore().fit(rows)


@pytest.fixture(scope="module")
def review(sample_history):
    return relationship_review(sample_history)


#: a column feeding a component, and a change that makes it worse
WORSE = {
    "severity_load": lambda v: v + 5, "repeats_90": lambda v: v + 2, "dispute_rate_365": lambda v: (v.fillna(0) + 0.3).clip(upper=1),
    "csat_mean_365": lambda v: (v.fillna(4) - 1).clip(lower=1), "followed_up_share_365": lambda v: (v.fillna(1) - 0.3).clip(lower=0),
    "sla_breach_rate_90": lambda v: (v.fillna(0) + 0.3).clip(upper=1), "reopen_rate_90": lambda v: (v.fillna(0) + 0.3).clip(upper=1),
    "resolution_hours_median_90": lambda v: v.fillna(0) + 100, "abusive_contacts_90": lambda v: v + 2,
}


@pytest.mark.parametrize("column", sorted(WORSE))
def test_a_worse_component_never_raises_the_score(health, rows, column):
    before = health.score(rows)["score"]
    after = health.score(rows.assign(**{column: WORSE[column](rows[column])}))["score"]
    assert (after <= before + 1e-9).all()


def test_every_point_is_traceable(health, rows):
    scores = health.score(rows)
    points = scores[[f"points_{c}" for c in health.components_]]
    np.testing.assert_allclose(100 - points.sum(axis=1), scores["score"])
    assert (health.weights_ >= 0).all() and health.weights_.sum() == pytest.approx(1)
    assert scores["score"].between(0, 100).all()
    worst = scores.sort_values("score").iloc[0]
    table = health.explain(scores, worst["client_id"], worst["cutoff"])
    assert len(table) == len(health.components_) and table["points"].sum() == pytest.approx(worst["score"] - 100)
    assert table["why"].str.len().gt(20).all()


def test_movement_is_the_change_since_the_previous_cutoff(health, rows):
    scores = health.score(rows)
    moved = health.movement(scores).dropna(subset=["change"])
    one = moved.iloc[len(moved) // 2]
    mine = scores.loc[scores["client_id"] == one["client_id"]].sort_values("cutoff")
    at = mine.index[pd.to_datetime(mine["cutoff"], utc=True) == pd.Timestamp(one["cutoff"])][0]
    position = list(mine.index).index(at)
    assert one["change"] == pytest.approx(mine["score"].iloc[position] - mine["score"].iloc[position - 1])


def test_policy_weights_are_used_and_checked(rows):
    fixed = HealthScore({"bands": {"healthy": 80, "watch": 60}, "weights": {"severity": 2.0, "disputes": 2.0}}).fit(rows)
    assert not fixed.learned_ and fixed.weights_["severity"] == pytest.approx(0.5) and fixed.weights_["repeat_triggers"] == 0
    with pytest.raises(ValueError, match="must not be negative"):
        HealthScore({"bands": {"healthy": 80, "watch": 60}, "weights": {"severity": -1.0}}).fit(rows)
    with pytest.raises(ValueError, match="unknown health components in the policy: mood"):
        HealthScore({"bands": {"healthy": 80, "watch": 60}, "weights": {"mood": 1.0}}).fit(rows)


def test_bands_report_the_churn_they_had_out_of_sample(health, rows):
    bands = health.bands(rows)
    assert list(bands["band"]) == ["healthy", "watch", "at_risk"]
    assert bands["rows"].sum() > 0 and (bands["low"] <= bands["churn_rate"]).all() and (bands["churn_rate"] <= bands["high"]).all()
    assert bands.set_index("band").loc["at_risk", "churn_rate"] > bands.set_index("band").loc["healthy", "churn_rate"]
    assert set(COMPONENTS) >= set(health.components_)


def test_no_profitable_client_without_abusive_contacts_is_recommended_for_exit(review):
    clients = review.clients
    assert set(clients["recommendation"]) <= set(RECOMMENDATIONS)
    exits = clients.loc[clients["recommendation"] == "consider_exit"]
    assert len(exits) > 0
    assert ((exits["net_value_12m"] < 0) | (exits["abusive_contacts_365"] > 0)).all()
    assert exits["reasons"].str.contains("abusive contacts|costs more to serve").all()


def test_net_value_is_margin_minus_cost_to_serve(review):
    c = review.clients
    policy = load_policy()["value"]
    np.testing.assert_allclose(c["margin"], c["annual_value"] * policy["margin"])
    np.testing.assert_allclose(c["net_value_12m"], c["margin"] - c["cost_to_serve_12m"])
    assert (c["expected_net_value_12m"].abs() <= c["net_value_pace"].abs() + 1e-6).all()  # at most a full year retained
    # a contract recorded as ending on the review day is up for renewal that day
    assert (c["notice_by"] <= c["renewal_date"]).all() and (c["renewal_date"] >= review.cutoff).all()
    ends = c["contract_end"].where(c["contract_end"] >= review.cutoff)
    assert (c["renewal_date"] == ends).sum() == ends.notna().sum() > 0


def test_a_stricter_policy_changes_the_recommendation(sample_history, review):
    policy = load_policy()
    policy["consider_exit"] = {"abusive_contacts": 1, "net_value_below": 0.0}
    strict = relationship_review(sample_history, policy=policy)
    assert (strict.clients["recommendation"] == "consider_exit").sum() > (review.clients["recommendation"] == "consider_exit").sum()


def test_memo_draft_states_obligations_and_never_runs_data(review):
    client = review.pick()
    row = review.client(client)
    assert row["recommendation"] == "consider_exit"
    memo = review.memo(client)
    assert f"{row['notice_by']:%Y-%m-%d}" in memo and f"{row['renewal_date']:%Y-%m-%d}" in memo and "Draft" in memo
    review.clients.loc[review.clients["client_id"] == client, "name"] = "<script>alert(1)</script> jo@example.com"
    page = review.memo(client, format="html")
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "jo@example.com" not in page
    other = review.clients.loc[review.clients["recommendation"] == "invest", "client_id"].iloc[0]
    assert review.memo(other).startswith(f"**Plan for {other}: invest**")


def test_a_client_to_repair_gets_a_plan_with_a_next_step(review):
    repair = review.clients.loc[review.clients["recommendation"] == "repair"]
    for client in repair["client_id"].head(5):
        plan = review.memo(client)
        assert plan.startswith(f"**Plan for {client}: repair**") and "- Next step: " in plan
        assert review.client(client)["reasons"].split(";")[0] in plan


def test_health_and_risk_that_disagree_are_explained(review):
    policy = review.policy["repair"]
    c = review.clients
    unhealthy_but_safe = c.loc[(c["health_score"] < policy["health_below"]) & (c["churn_probability"] < policy["churn_risk"]), "client_id"]
    agreeing = c.loc[(c["health_score"] >= policy["health_below"]) & (c["churn_probability"] < policy["churn_risk"]), "client_id"]
    assert len(unhealthy_but_safe) and len(agreeing)
    assert "but churn risk only" in review.plan(unhealthy_but_safe.iloc[0])
    assert "churn risk only" not in review.plan(agreeing.iloc[0]) and "despite health" not in review.plan(agreeing.iloc[0])


def test_a_clients_health_over_time_is_its_score_at_every_cutoff(review):
    client = review.pick()
    figure = review.health_plot(client)
    days, scores = list(figure.data[0].x), np.asarray(figure.data[0].y, dtype=float)
    assert len(days) >= 2 and days == sorted(days)
    for day, score in zip(days, scores, strict=True):  # the score is 100 less the points its components took off
        cutoff = pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
        assert score == pytest.approx(100 + review.health.explain(review.scores, client, cutoff)["points"].sum())


def test_a_cut_client_table_says_where_the_rest_are(review, tmp_path):
    from analytics.reports import beside_report

    assert "interactive-table" in review.portfolio_table().to_html()
    shown = review.portfolio_table(top=30).to_html()
    assert "all of them are in the CSV and Excel files" in shown
    assert f"the first 30 of {len(review.clients):,} clients" in shown
    repair = int((review.clients["recommendation"] == "repair").sum())
    assert f"of {repair:,} clients" in review.portfolio_table("repair", top=5).to_html()
    assert "the first" not in review.portfolio_table(top=None).to_html()
    beside_report(tmp_path, period=review.period, clients=review.portfolio())
    files = pd.read_csv(tmp_path / "clients.csv"), pd.read_excel(tmp_path / "clients.xlsx")
    assert all(len(f) == len(review.clients) and f["client"].tolist() == review.portfolio()["client"].tolist() for f in files)
    assert (tmp_path / "period.txt").read_text() == review.period


def test_a_large_portfolio_is_drawn_with_webgl_by_recommendation(review, monkeypatch):
    import analytics._charts

    assert {t.type for t in review.recommendation_plot().data} == {"scatter"}
    monkeypatch.setattr(analytics._charts, "WEBGL_FROM", 100)  # the sample's 1,700 clients as if they were 170,000
    large = review.recommendation_plot()
    many = review.clients["recommendation"].value_counts()
    assert {t.name: t.type for t in large.data} == {r.replace("_", " "): "scattergl" if many.get(r, 0) > 100 else "scatter" for r in RECOMMENDATIONS}
    assert sum(len(t.x) for t in large.data) == len(review.clients)


def test_without_annual_values_the_recommendations_show_how_risk_is_spread(review):
    import dataclasses

    unvalued = dataclasses.replace(review, clients=review.clients.assign(net_value_12m=np.nan))
    figure = unvalued.recommendation_plot()
    assert {t.type for t in figure.data} == {"histogram"} and figure.layout.barmode == "stack"
    assert sum(len(t.x) for t in figure.data) == len(review.clients)
    assert "no annual values recorded" in figure.layout.title.text and figure.layout.xaxis.title.text == "churn risk, next 90 days"


def test_without_annual_values_the_review_does_not_call_clients_profitable(sample_history):
    from analytics.io import History

    h = sample_history
    unvalued = History(h.clients.assign(annual_value=np.nan), h.complaints, h.interactions)
    review = relationship_review(unvalued)
    assert review.clients["net_value_12m"].isna().all()
    text = review.headline()
    assert "No annual value is recorded" in text and "$0" not in text
    invest = review.clients.loc[review.clients["recommendation"] == "invest", "reasons"]
    assert len(invest) and not invest.str.contains("profitable \\(").any() and invest.str.contains("profit is unknown").all()


def test_a_client_without_contacts_or_notice_terms_reads_as_dashes_not_nan(review):
    import dataclasses

    client = review.pick()
    bare = review.clients.assign(angry_contacts_365=np.nan, abusive_contacts_365=np.nan, tone_trend=np.nan, notice_days=np.nan,
                                 notice_by=pd.NaT, renewal_date=pd.NaT)
    facts = dataclasses.replace(review, clients=bare).facts_table(client).data.set_index("")[client]
    assert not facts.str.contains("nan").any()
    assert facts["angry / abusive contacts, last 12 months"] == "– / –" and facts["notice period"] == "not recorded"
    assert facts["next renewal"] == "not known" and facts["churn risk, next 90 days"].endswith("%")
