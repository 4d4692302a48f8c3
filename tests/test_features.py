"""Point-in-time snapshots: right numbers, no leakage, the same on DuckDB and Spark."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from analytics.features import FEATURES, data_end, repeats, resolve_cutoffs, snapshots
from analytics.io import History
from analytics.sample import simulate
from tests.conftest import assert_same_snapshots

LABELS = ["churned", "ended_by_us", "censored"]
CUTOFFS = ["2024-07-01", "2025-04-01"]


@pytest.fixture(scope="module")
def sample_rows(sample_history):
    return snapshots(sample_history, CUTOFFS)


def test_quarterly_cutoffs_are_the_first_moment_of_each_quarter(sample_history):
    dates = resolve_cutoffs(sample_history, "QE")
    assert dates[0] == pd.Timestamp("2023-04-01", tz="UTC")
    assert all(d.day == 1 and d.month in (1, 4, 7, 10) for d in dates)


def test_features_match_a_plain_pandas_computation(sample_history, sample_rows):
    complaints = sample_history.complaints
    for cutoff in CUTOFFS:
        c = pd.Timestamp(cutoff, tz="UTC")
        rows = sample_rows.loc[sample_rows["cutoff"] == c].set_index("client_id")
        clients = sample_history.clients
        active = clients.loc[(clients["contract_start"] < c) & ~(clients["ended_at"] < c).fillna(False).astype(bool), "client_id"]
        assert set(rows.index) == set(active)
        window = complaints.loc[(complaints["opened_at"] < c) & (complaints["opened_at"] >= c - pd.Timedelta("90D"))]
        known = window.loc[(window["resolved_at"] < c).fillna(False).astype(bool)]
        expected = window.groupby("client_id").size().reindex(rows.index, fill_value=0)
        assert (rows["complaints_90"].to_numpy() == expected.to_numpy()).all()
        technical = window.loc[window["trigger"] == "technical_failure"].groupby("client_id").size().reindex(rows.index, fill_value=0)
        assert (rows["complaints_90_technical_failure"].to_numpy() == technical.to_numpy()).all()
        hours = (known["resolved_at"] - known["opened_at"]).dt.total_seconds() / 3600
        median = hours.groupby(known["client_id"]).median().reindex(rows.index)
        assert np.allclose(rows["resolution_hours_median_90"].to_numpy(float), median.to_numpy(float), equal_nan=True)
        disputes = known.dropna(subset=["disputed"]).groupby("client_id")["disputed"].apply(lambda d: d.astype(float).mean()).reindex(rows.index)
        assert np.allclose(rows["dispute_rate_90"].to_numpy(float), disputes.to_numpy(float), equal_nan=True)
        year = complaints.loc[(complaints["opened_at"] < c) & (complaints["opened_at"] >= c - pd.Timedelta("365D"))]
        still_open = year.loc[~(year["resolved_at"] < c).fillna(False).astype(bool)].groupby("client_id").size()
        assert (rows["open_complaints"].to_numpy() == still_open.reindex(rows.index, fill_value=0).to_numpy()).all()
        rate = year.groupby("client_id").size().reindex(rows.index, fill_value=0) / rows["tenure_days"].clip(91, 365) * 365
        against_segment = rate / rate.groupby(rows["segment"]).transform("mean")
        assert np.allclose(rows["complaint_rate_vs_segment"].to_numpy(float), against_segment.to_numpy(float))
        contacts = sample_history.interactions
        angry = contacts.loc[(contacts["at"] < c) & (contacts["at"] >= c - pd.Timedelta("90D")) & (contacts["tone"] == "angry")]
        assert (rows["angry_contacts_90"].to_numpy() == angry.groupby("client_id").size().reindex(rows.index, fill_value=0).to_numpy()).all()
        ended = clients.set_index("client_id").loc[rows.index]
        churned = (ended["status"] == "churned") & (ended["ended_at"] < c + pd.Timedelta("90D")).fillna(False).astype(bool)
        assert (rows["churned"].to_numpy() == churned.to_numpy()).all()


def test_rolled_windows_match_a_direct_computation_per_cutoff(sample_history, sample_rows):
    complaints = sample_history.complaints
    for cutoff in CUTOFFS:
        c = pd.Timestamp(cutoff, tz="UTC")
        rows = sample_rows.loc[sample_rows["cutoff"] == c].set_index("client_id")

        def per_client(frame, value, clients=rows.index):
            return value(frame.groupby("client_id")).reindex(clients)

        before = complaints.loc[complaints["opened_at"] < c]
        known = before.loc[(before["resolved_at"] < c).fillna(False).astype(bool)]
        year = known.loc[known["opened_at"] >= c - pd.Timedelta("365D")]
        month = known.loc[known["opened_at"] >= c - pd.Timedelta("30D")]
        minutes = per_client(year, lambda g: g["handling_minutes"].sum()).fillna(0)
        assert np.allclose(rows["handling_minutes_365"], minutes)
        followed = per_client(month.dropna(subset=["followed_up"]), lambda g: g["followed_up"].mean())
        assert np.allclose(rows["followed_up_share_30"].to_numpy(float), followed.to_numpy(float), equal_nan=True)
        severe = before.loc[(before["opened_at"] >= c - pd.Timedelta("30D")) & (before["severity"] == 4)]
        assert (rows["complaints_30_severity_4"] == per_client(severe, lambda g: g.size()).fillna(0)).all()
        recent = before.loc[before["opened_at"] >= c - pd.Timedelta("90D")]
        previous = before.loc[(before["opened_at"] >= c - pd.Timedelta("180D")) & (before["opened_at"] < c - pd.Timedelta("90D"))]
        trend = per_client(recent, lambda g: g.size()).fillna(0) - per_client(previous, lambda g: g.size()).fillna(0)
        assert (rows["trend_90"] == trend).all()
        responded = before.loc[(before["first_response_at"] < c).fillna(False).astype(bool) & (before["opened_at"] >= c - pd.Timedelta("365D"))]
        hours = (responded["first_response_at"] - responded["opened_at"]).dt.total_seconds() / 3600
        p90 = hours.groupby(responded["client_id"]).quantile(0.9).reindex(rows.index)
        assert np.allclose(rows["first_response_hours_p90_365"].to_numpy(float), p90.to_numpy(float), equal_nan=True)
        rated = known.dropna(subset=["csat"]).sort_values("resolved_at")
        latest = rated.groupby("client_id")["csat"].last().reindex(rows.index)
        assert np.allclose(rows["csat_latest"].to_numpy(float), latest.to_numpy(float), equal_nan=True)
        quarter = known.loc[known["opened_at"] >= c - pd.Timedelta("90D")]
        unresolved = per_client(quarter.loc[quarter["resolution"] == "unresolved"], lambda g: g.size()).fillna(0)
        assert (rows["unresolved_90"] == unresolved).all()
        age = (c - before["opened_at"]).dt.total_seconds() / 86400
        load = (before["severity"].astype(float) * 2.0 ** (-age / 90)).groupby(before["client_id"]).sum().reindex(rows.index).fillna(0)
        assert np.allclose(rows["severity_load"], load)
        assert (rows["complaints_to_date"] == per_client(before, lambda g: g.size()).fillna(0)).all()
        last = before.groupby("client_id")["opened_at"].max().reindex(rows.index)
        assert np.allclose(rows["days_since_last_complaint"], (c - last).dt.total_seconds() / 86400, equal_nan=True)


def test_a_saved_history_gives_the_same_snapshots(sample_history, sample_rows, tmp_path):
    on_disk = snapshots(sample_history.save(tmp_path / "history"), CUTOFFS)
    pd.testing.assert_frame_equal(on_disk, sample_rows, check_dtype=False)


def test_a_saved_history_without_contacts_has_no_contact_features_either(sample_history, tmp_path):
    # an empty table's Parquet file has a row group without statistics: it records no column
    silent = dataclasses.replace(sample_history, interactions=sample_history.interactions.iloc[:0])
    in_memory = snapshots(silent, CUTOFFS[-2:])
    assert not [c for c in in_memory.columns if "_contacts_" in c]
    pd.testing.assert_frame_equal(snapshots(silent.save(tmp_path / "silent"), CUTOFFS[-2:]), in_memory, check_dtype=False)


def test_counts_stay_exact_for_a_client_with_thousands_of_complaints(sample_history, sample_rows):
    # counts lie several to a double, each in as many bits as the busiest client needs: a client
    # with 200 copies of its complaints needs more bits, so fewer counts share a double
    c = sample_history.complaints
    busiest = c["client_id"].value_counts().index[0]
    theirs = c.loc[c["client_id"] == busiest]
    copies = [theirs.assign(complaint_id=theirs["complaint_id"] + f"-{i}") for i in range(199)]
    crowded = dataclasses.replace(sample_history, complaints=pd.concat([c, *copies], ignore_index=True))
    assert len(crowded.complaints.loc[crowded.complaints["client_id"] == busiest]) > 2**12
    rows, before = (r.set_index(["cutoff", "client_id"]).sort_index() for r in (snapshots(crowded, CUTOFFS), sample_rows))
    counts = [n for n in rows.columns if n.startswith(("complaints_", "unresolved_")) and rows[n].dtype == "int64"]
    shares = [n for n in rows.columns if n.endswith(("_rate_30", "_rate_90", "_share_90", "csat_mean_365"))]
    assert len(counts) > 20 and len(shares) > 5
    theirs_rows = rows.index.get_level_values("client_id") == busiest
    assert (rows.loc[theirs_rows, counts] == 200 * before.loc[theirs_rows, counts]).all().all()
    assert_frame_equal(rows.loc[~theirs_rows, counts + shares], before.loc[~theirs_rows, counts + shares])
    assert np.allclose(rows.loc[theirs_rows, shares].to_numpy(float), before.loc[theirs_rows, shares].to_numpy(float), equal_nan=True)


def test_counts_are_int64_and_labels_bool(sample_rows):
    assert sample_rows["complaints_365"].dtype == "int64"
    assert sample_rows["open_complaints"].dtype == "int64"
    assert all(sample_rows[label].dtype == bool for label in LABELS)
    assert not sample_rows["censored"].any()


def _tiny_history(resolved_at):
    from analytics.schemas import empty_table

    clients = empty_table("clients").reindex(range(1))
    clients["client_id"] = pd.array(["A"], dtype=clients["client_id"].dtype)
    clients["contract_start"] = pd.array([pd.Timestamp("2023-01-01", tz="UTC")], dtype=clients["contract_start"].dtype)
    complaints = empty_table("complaints").reindex(range(1))
    for column, value in {"complaint_id": "C1", "client_id": "A", "trigger": "billing"}.items():
        complaints[column] = pd.array([value], dtype=complaints[column].dtype)
    for column, value in {"opened_at": "2024-03-01", "resolved_at": resolved_at}.items():
        complaints[column] = pd.array([pd.Timestamp(value, tz="UTC")], dtype=complaints[column].dtype)
    complaints["csat"] = pd.array([1], dtype=complaints["csat"].dtype)
    return History(clients, complaints)


def test_complaint_resolved_after_the_cutoff_counts_as_open():
    cutoff = ["2024-04-01"]
    later = snapshots(_tiny_history("2024-05-01"), cutoff).iloc[0]
    earlier = snapshots(_tiny_history("2024-03-10"), cutoff).iloc[0]
    assert later["open_complaints"] == 1 and pd.isna(later["resolution_hours_median_90"]) and pd.isna(later["csat_mean_90"])
    assert earlier["open_complaints"] == 0 and earlier["resolution_hours_median_90"] == 9 * 24 and earlier["csat_mean_90"] == 1


def _rewrite_after(history: History, cutoff: pd.Timestamp, seed: int) -> History:
    """The same past, a different future: everything at or after ``cutoff`` changed or deleted."""
    rng = np.random.default_rng(seed)
    complaints = history.complaints.copy()
    future = complaints["opened_at"] >= cutoff
    keep = ~future | (rng.random(len(complaints)) < 0.5)
    complaints = complaints.loc[keep].reset_index(drop=True)
    future = (complaints["opened_at"] >= cutoff).to_numpy()
    resolved_later = ~future & (complaints["resolved_at"] >= cutoff).fillna(False).to_numpy(dtype=bool)
    changed = future | resolved_later
    n = int(changed.sum())
    complaints.loc[changed, "resolved_at"] = complaints.loc[changed, "resolved_at"] + pd.Timedelta(days=7)
    complaints.loc[changed, "csat"] = pd.array(rng.integers(1, 6, n), dtype=complaints["csat"].dtype)
    for column in ("disputed", "escalated", "sla_met", "root_cause_fixed", "followed_up", "apologized"):
        complaints.loc[changed, column] = pd.array(rng.random(n) < 0.5, dtype=complaints[column].dtype)
    complaints.loc[changed, "reopen_count"] = pd.array(rng.integers(0, 3, n), dtype=complaints["reopen_count"].dtype)
    complaints.loc[changed, "handling_minutes"] = pd.array(rng.uniform(1, 500, n), dtype=complaints["handling_minutes"].dtype)
    complaints.loc[future, "trigger"] = "billing"
    complaints.loc[future, "severity"] = pd.array(np.full(int(future.sum()), 4), dtype=complaints["severity"].dtype)
    responded_later = (complaints["first_response_at"] >= cutoff).fillna(False).to_numpy(dtype=bool)
    complaints.loc[responded_later, "first_response_at"] = complaints.loc[responded_later, "first_response_at"] + pd.Timedelta(hours=5)
    contacts = history.interactions
    later = (contacts["at"] >= cutoff).to_numpy()
    contacts = contacts.loc[~later | (rng.random(len(contacts)) < 0.5)].copy()
    contacts.loc[(contacts["at"] >= cutoff).to_numpy(), "tone"] = "abusive"
    clients = history.clients.copy()
    left_later = (clients["ended_at"] >= cutoff).fillna(False).to_numpy(dtype=bool)
    clients.loc[left_later, "status"] = np.where(clients.loc[left_later, "status"] == "churned", "ended_by_us", "churned")
    return History(clients, complaints, contacts.reset_index(drop=True))


def _at_the_cutoff(history: History, cutoff: pd.Timestamp, seed: int) -> History:
    """The edges a rule can get wrong: about a third of the moments at or after ``cutoff``
    (openings, first responses, resolutions, contacts, clients leaving) moved onto it
    exactly, and a tenth of the openings written as a date alone (midnight)."""
    rng = np.random.default_rng(seed + 1)
    complaints = history.complaints.copy()
    for column in ("opened_at", "first_response_at", "resolved_at"):
        moved = ((complaints[column] >= cutoff).fillna(False) & (rng.random(len(complaints)) < 0.33)).to_numpy(dtype=bool)
        if column == "opened_at":  # what followed an opening moved onto the cutoff stays after it
            for later in ("first_response_at", "resolved_at", "closed_at"):
                complaints.loc[moved, later] = complaints.loc[moved, later].where(complaints.loc[moved, later] >= cutoff, cutoff)
        complaints.loc[moved, column] = cutoff
    midnight = (rng.random(len(complaints)) < 0.1) & (complaints["opened_at"] < cutoff).to_numpy(dtype=bool)
    complaints.loc[midnight, "opened_at"] = complaints.loc[midnight, "opened_at"].dt.floor("D")
    contacts = history.interactions.copy()
    moved = ((contacts["at"] >= cutoff) & (rng.random(len(contacts)) < 0.33)).to_numpy(dtype=bool)
    contacts.loc[moved, "at"] = cutoff
    clients = history.clients.copy()
    moved = ((clients["ended_at"] >= cutoff).fillna(False) & (rng.random(len(clients)) < 0.33)).to_numpy(dtype=bool)
    clients.loc[moved, "ended_at"] = cutoff
    return History(clients, complaints, contacts)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), day=st.integers(120, 900), monthly=st.booleans())
def test_nothing_at_or_after_the_cutoff_changes_its_features(seed, day, monthly):
    """Features at a cutoff are the same whatever happens at or after it, with events exactly
    at the cutoff and openings at midnight; for a monthly grid of cutoffs (month starts, at
    midnight) the same holds at every cutoff of the grid, the windows rolled across them."""
    history, _ = simulate(60, "2023-01-01", "2025-09-01", random_state=seed)
    cutoff = pd.Timestamp("2023-01-01", tz="UTC") + pd.Timedelta(days=day, hours=seed % 24)
    cutoffs = [cutoff]
    if monthly:
        cutoff = cutoff.tz_localize(None).to_period("M").start_time.tz_localize("UTC")
        cutoffs = list(pd.date_range(pd.Timestamp("2023-03-01", tz="UTC"), cutoff, freq="MS"))
    history = _at_the_cutoff(history, cutoff, seed)
    before = snapshots(history, cutoffs)
    after = snapshots(_rewrite_after(history, cutoff, seed), cutoffs)
    features = [c for c in before.columns if c not in LABELS]
    pd.testing.assert_frame_equal(before[features], after[features])


def test_spark_gives_the_same_snapshots_as_duckdb(sample_history, sample_rows, spark):
    on_spark = snapshots(sample_history, CUTOFFS, engine=spark)
    assert_same_snapshots(sample_rows, on_spark)
    counts = [c for c in sample_rows.columns if c.startswith("complaints_")]
    assert (on_spark[counts].dtypes == "int64").all()


def test_a_saved_history_at_a_url_is_read_by_spark_where_it_is(sample_history, sample_rows, spark, tmp_path):
    """As a cluster's executors read shared storage (s3a://, hdfs://): from a file:// URL, its
    complaints in parts as Spark writes them, Spark gives the snapshots, Pareto table, KPIs
    and practice-effect inputs of the history in memory. DuckDB, which reads folders on this
    machine, says so."""
    import pyarrow.parquet as pq

    from analytics.features import StoredHistory
    from analytics.kpis import complaint_kpis
    from analytics.rootcause import complaint_outcomes, pareto

    folder = sample_history.save(tmp_path / "saved")
    complaints = pq.read_table(folder / "complaints.parquet")
    (folder / "complaints.parquet").unlink()
    (folder / "complaints.parquet").mkdir()
    for part, start in enumerate(range(0, complaints.num_rows, 5_000)):
        pq.write_table(complaints.slice(start, 5_000), folder / "complaints.parquet" / f"part-{part:05d}.parquet")
    url = folder.as_uri()
    assert url.startswith("file:///")
    assert_same_snapshots(sample_rows, snapshots(url, CUTOFFS, engine=spark))
    pd.testing.assert_frame_equal(pareto(url, "team", "cost", engine=spark).table, pareto(sample_history, "team", "cost").table,
                                  check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(complaint_kpis(url, engine=spark).table, complaint_kpis(sample_history).table, check_exact=False, rtol=1e-12)
    asked = ["repeat", "churn", "hostility"]
    in_memory = complaint_outcomes(sample_history, asked)[0]
    pd.testing.assert_frame_equal(complaint_outcomes(url, asked, engine=spark)[0], in_memory)
    pd.testing.assert_frame_equal(complaint_outcomes(StoredHistory(url, engine=spark), asked)[0], in_memory)  # read by its own engine
    with pytest.raises(ValueError, match="at a URL is read by Spark"):
        snapshots(url, CUTOFFS)

def test_repeat_flags_match_a_plain_pandas_computation(sample_history):
    from analytics.features import repeats

    flags = repeats(sample_history).set_index("complaint_id")
    complaints = sample_history.complaints.dropna(subset=["trigger"])
    pairs = complaints.merge(complaints, on=["client_id", "trigger"], suffixes=("", "_later"))
    gap = pairs["opened_at_later"] - pairs["resolved_at"]
    hits = pairs.loc[(gap > pd.Timedelta(0)) & (gap <= pd.Timedelta("90D"))].groupby("complaint_id")["opened_at_later"].min()
    resolved = complaints.loc[complaints["resolved_at"].notna(), "complaint_id"]
    expected = pd.Series(resolved.isin(hits.index).to_numpy(), index=resolved.to_numpy())
    assert flags.loc[expected.index, "repeated"].astype(bool).tolist() == expected.tolist()
    assert flags["repeat_at"].dropna().sort_index().tolist() == hits.sort_index().tolist()
    assert flags.loc[sample_history.complaints.loc[sample_history.complaints["resolved_at"].isna(), "complaint_id"], "repeated"].isna().all()


def test_planted_repeats_are_found():
    from analytics.features import repeats

    history, truth = simulate(800, random_state=4)
    flags = repeats(history).set_index("complaint_id")
    planted = truth.complaints.dropna(subset=["repeat_of"])
    complaints = history.complaints.set_index("complaint_id")
    parents = complaints.loc[planted["repeat_of"].to_numpy()]
    children = complaints.loc[planted.index]
    # a planted repeat counts when both records name the true trigger and it came after the resolution
    true = planted["true_trigger"].reset_index(drop=True)
    parents_, children_ = parents.reset_index(drop=True), children.reset_index(drop=True)
    visible = (
        (parents_["trigger"] == true)
        & (children_["trigger"] == true)
        & (children_["opened_at"] > parents_["resolved_at"])
        & (children_["opened_at"] <= parents_["resolved_at"] + pd.Timedelta("90D"))  # the simulator rounds to weeks
    ).fillna(False).to_numpy(dtype=bool)
    assert visible.sum() > 100
    assert flags.loc[parents.index[visible], "repeated"].astype(bool).all()


def test_a_chosen_few_features_equal_the_full_build(sample_history, sample_rows):
    chosen = ["complaints_90", "resolution_hours_p90_90", "dispute_rate_365", "repeats_30", "days_since_last_complaint", "angry_contacts_90"]
    few = snapshots(sample_history, CUTOFFS, features=chosen)
    attributes = [c for c in sample_rows.columns if c not in FEATURES and c != "complaint_rate_per_year"]
    assert [c for c in few.columns if c in FEATURES] == [c for c in FEATURES if c in chosen]
    pd.testing.assert_frame_equal(few, sample_rows[[c for c in sample_rows.columns if c in chosen or c in attributes]])


def test_an_unknown_feature_is_named():
    with pytest.raises(ValueError, match="complaints_91"):
        snapshots(_tiny_history("2024-05-01"), ["2024-04-01"], features=["complaints_91"])


def test_repeat_flags_are_computed_once_per_history_and_anew_when_their_columns_change(sample_history, monkeypatch):
    import analytics.features._repeats as repeats_module

    joins = []
    self_join = repeats_module._repeats
    monkeypatch.setattr(repeats_module, "_repeats", lambda *args: joins.append(1) or self_join(*args))
    history = sample_history.of_clients(sample_history.clients["client_id"].head(300))
    first = repeats(history)
    first.loc[:, "repeated"] = False  # a caller's change stays its own
    assert_frame_equal(repeats(history), self_join(history.complaints[list(repeats_module.COLUMNS)], pd.Timedelta("90D"), data_end(history), None))
    assert len(joins) == 1
    repeats(history, "30D")
    technical = history.complaints.index[history.complaints["trigger"].eq("technical_failure").fillna(False)]
    history.complaints.loc[technical[0], "trigger"] = "billing"  # a trigger corrected in a notebook
    repeats(history)
    assert len(joins) == 3


def test_every_in_process_connection_is_closed(sample_history, monkeypatch):
    import duckdb

    import analytics._engine as engine_module

    opened = []
    connect = engine_module.connect
    monkeypatch.setattr(engine_module, "connect", lambda engine=None: opened.append(connect(engine)) or opened[-1])
    history = sample_history.of_clients(sample_history.clients["client_id"].head(300))
    snapshots(history, ["2025-01-01"])
    repeats(history)
    assert len(opened) == 2
    for backend in opened:
        with pytest.raises(duckdb.ConnectionException):
            backend.con.execute("SELECT 1")
