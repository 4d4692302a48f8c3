"""KPIs: formulas checked by hand on the sample; what cannot be computed is said, not faked."""

import numpy as np
import pandas as pd

from analytics.io import load_history
from analytics.kpis import complaint_kpis, retention_kpis


def test_complaint_kpis_follow_their_formulas(sample_history):
    kpis = complaint_kpis(sample_history, "quarter").table.set_index("period")
    complaints = sample_history.complaints
    assert kpis["volume"].sum() == len(complaints)
    quarter = complaints.loc[(complaints["opened_at"] >= pd.Timestamp("2024-04-01", tz="UTC")) & (complaints["opened_at"] < pd.Timestamp("2024-07-01", tz="UTC"))]
    row = kpis.loc["2024Q2"]
    assert row["volume"] == len(quarter)
    resolved = quarter.loc[quarter["resolved_at"].notna()]
    assert np.isclose(row["reopen_rate"], (resolved["reopen_count"] > 0).mean())
    answered = quarter["csat"].dropna()
    assert np.isclose(row["csat_satisfied"], (answered >= 4).mean())
    hours = (quarter["resolved_at"] - quarter["opened_at"]).dt.total_seconds() / 3600
    assert np.isclose(row["resolution_hours_median"], hours.median())
    assert 0 < row["repeat_rate_30"] < row["repeat_rate_90"] < 1
    assert 0 < row["first_contact_resolution"] < 1 - row["reopen_rate"] + 1e-9


def test_grouping_by_a_client_column(sample_history):
    kpis = complaint_kpis(sample_history, "month", by="segment").table
    assert set(kpis["segment"]) == {"smb", "mid_market", "enterprise"}
    assert kpis["volume"].sum() == len(sample_history.complaints)


def test_retention_kpis_count_the_clients_that_left(sample_history):
    table = retention_kpis(sample_history, "quarter").table.set_index("period")
    clients = sample_history.clients
    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-04-01", tz="UTC")
    active = (clients["contract_start"] < start) & ~(clients["ended_at"] < start).fillna(False).astype(bool)
    left = active & (clients["status"] == "churned") & (clients["ended_at"] >= start).fillna(False).astype(bool) & (clients["ended_at"] < end).fillna(False).astype(bool)
    row = table.loc["2024Q1"]
    assert row["clients_at_start"] == active.sum()
    assert np.isclose(row["logo_churn"], left.sum() / active.sum())
    lost = clients.loc[left, "annual_value"].sum() / clients.loc[active, "annual_value"].sum()
    assert np.isclose(row["gross_revenue_retention"], 1 - lost)


def test_real_cfpb_export_gets_the_kpis_it_can_and_sentences_for_the_rest(cfpb_path):
    history = load_history(cfpb_path, "cfpb")
    kpis = complaint_kpis(history, "quarter")
    assert {"volume", "sla_met", "dispute_rate"} <= set(kpis.table.columns)
    assert "reopen_rate" not in kpis.table.columns
    assert any(note.startswith("resolution_hours needs resolved_at") for note in kpis.notes)
    assert kpis.table["volume"].sum() == len(history.complaints)
    retention = retention_kpis(history)
    assert retention.table.empty and "logo churn" in retention.notes[0]


def test_every_rate_carries_what_it_is_a_share_of(sample_history):
    table = complaint_kpis(sample_history, "quarter").table.set_index("period")
    opened = pd.to_datetime(sample_history.complaints["opened_at"].astype("datetime64[us, UTC]")).dt.tz_convert(None)
    complaints = sample_history.complaints.assign(period=opened.dt.to_period("Q").astype(str).to_numpy())
    answered = complaints.loc[complaints["csat"].notna()].groupby("period").size()
    assert table["csat_satisfied_n"].astype(int).to_dict() == answered.to_dict()
    rates = [c for c in table.columns if c.endswith(("_rate", "_satisfied", "_resolution", "sla_met"))]
    assert rates and all(f"{rate}_n" in table for rate in rates)
