"""The engine does the heavy work: on Spark, snapshots and Pareto tables succeed when the driver may receive
less than the raw complaints, and agree with DuckDB's."""

import numpy as np
import pandas as pd
import pytest

from analytics.features import connect, snapshots
from analytics.io import History, load_history, load_into
from analytics.rootcause import pareto
from tests.conftest import assert_same_snapshots, need_debian_package

CUTOFFS = ["2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01", "2025-04-01"]
LIMIT = "1m"  # what the driver may receive from one Spark action
BROADCAST = "256k"  # the largest table Spark sends whole to every task of a join


def _crowded_history(clients: int = 40, complaints: int = 120_000) -> History:
    """Few clients with very many complaints: the raw complaints are far larger than any
    per-client aggregate."""
    rng = np.random.default_rng(5)
    ids = [f"c{i:03d}" for i in range(clients)]
    start = pd.Timestamp("2023-01-01", tz="UTC")
    opened = start + pd.to_timedelta(rng.uniform(0, 820, complaints), unit="D").round("s")
    resolved = opened + pd.to_timedelta(rng.exponential(60, complaints), unit="h").round("s")
    resolved = resolved.where(rng.random(complaints) < 0.9)
    table = pd.DataFrame({
        "complaint_id": [f"k{i}" for i in range(complaints)],
        "client_id": rng.choice(ids, complaints),
        "opened_at": opened,
        "first_response_at": opened + pd.to_timedelta(rng.exponential(5, complaints), unit="h").round("s"),
        "resolved_at": resolved,
        "trigger": rng.choice(["billing", "technical_failure", "poor_communication"], complaints),
        "severity": rng.integers(1, 5, complaints),
        "disputed": rng.random(complaints) < 0.1,
        "csat": rng.integers(1, 6, complaints),
    })
    people = pd.DataFrame({"client_id": ids, "segment": rng.choice(["smb", "enterprise"], clients),
                           "contract_start": start - pd.Timedelta(days=30), "status": "active", "ended_at": pd.NaT})
    people["ended_at"] = pd.Series(pd.NaT, index=people.index, dtype="datetime64[us, UTC]")
    return History(people, table)


@pytest.fixture(scope="module")
def small_driver():
    need_debian_package("/usr/lib/jvm/*/bin/java", "openjdk-17-jre-headless")
    pytest.importorskip("pyspark", reason="pyspark is installed by the test extra")
    from analytics.features import spark_session

    # as on a cluster, a table broadcast to every executor (through the driver) is far smaller
    # than what the driver may receive; Spark's default (10 MB) would be ten times larger
    session = spark_session(config={"spark.driver.maxResultSize": LIMIT, "spark.sql.autoBroadcastJoinThreshold": BROADCAST})
    # a session already running would keep its own limit, and the test would prove nothing
    assert session.sparkContext.getConf().get("spark.driver.maxResultSize") == LIMIT
    yield session
    for key in ("spark.driver.maxResultSize", "spark.sql.autoBroadcastJoinThreshold"):
        session._jvm.System.clearProperty(key)  # Spark keeps them for every later session in this process
    session.stop()


def test_spark_snapshots_succeed_when_the_driver_cannot_receive_the_complaints(small_driver, tmp_path):
    folder = _crowded_history().save(tmp_path / "history")
    import ibis

    on_spark = connect(small_driver)
    raw = on_spark.read_parquet(folder / "complaints.parquet")
    with pytest.raises(Exception, match="maxResultSize"):  # the limit holds: the complaints themselves cannot come back
        on_spark.to_pyarrow(raw.select(raw.client_id, raw.opened_at, raw.resolved_at, raw.trigger, dummy=ibis.literal(0)))
    spark_rows = snapshots(folder, CUTOFFS, engine=small_driver)
    duckdb_rows = snapshots(folder, CUTOFFS)
    assert len(spark_rows) == 40 * len(CUTOFFS) and spark_rows["complaints_90"].sum() > 10_000
    assert_same_snapshots(duckdb_rows, spark_rows)


def test_complaint_summaries_are_computed_in_the_engine_from_a_saved_folder(small_driver, sample_history, tmp_path):
    """From a saved history's folder, DuckDB and a Spark whose driver cannot receive the
    complaints give the same Pareto tables, trends, abuse counts, KPIs and repeat rates as
    the history in memory: counts exact, sums, medians and 90th percentiles to the last bits."""
    from analytics.kpis import complaint_kpis
    from analytics.models import repeat_rates
    from analytics.rootcause import abuse_by_client, abuse_load, pareto, trend

    folder = sample_history.save(tmp_path / "sample")
    for by, measure in [("trigger", "complaints"), ("channel", "cost"), ("team", "churned_value"), ("severity", "complaints")]:
        in_memory = pareto(sample_history, by, measure).table
        assert in_memory["repeats"].sum() > 0 and in_memory["churned_value"].sum() > 0
        for engine in (None, small_driver):
            pd.testing.assert_frame_equal(pareto(folder, by, measure, engine=engine).table, in_memory, check_exact=False, rtol=1e-12)
    opened = pd.Series(pd.DatetimeIndex(sample_history.complaints["opened_at"].to_numpy()).tz_convert("UTC").tz_localize(None))
    for by, period, top in [("trigger", "Q", 8), ("channel", "M", 3), ("severity", "Y", 2)]:
        in_memory = trend(sample_history, by, period, top)
        per_period = opened.dt.to_period(period).astype(str).value_counts().sort_index()
        assert in_memory.sum(axis=1).to_dict() == per_period.to_dict() and in_memory.shape[1] == min(top + 1, sample_history.complaints[by].nunique(dropna=False))
        for engine in (None, small_driver):
            pd.testing.assert_frame_equal(trend(folder, by, period, top, engine=engine), in_memory)
    for since, until in [("2025-01-01", "2026-01-01"), ("2020-01-01", "2030-01-01")]:
        in_memory = abuse_by_client(sample_history, since, until)
        assert in_memory["complaints_with_abuse"].sum() > 0 and in_memory["abuse_hours"].sum() > 0
        for engine in (None, small_driver):
            pd.testing.assert_frame_equal(abuse_by_client(folder, since, until, engine=engine), in_memory, check_exact=False, rtol=1e-12)
    for by in ("team", "agent"):
        in_memory = abuse_load(sample_history, by)
        for engine in (None, small_driver):
            pd.testing.assert_frame_equal(abuse_load(folder, by, engine=engine), in_memory, check_exact=False, rtol=1e-12)
    for within in ("30D", "180D"):
        in_memory = repeat_rates(sample_history, within)
        for engine in (None, small_driver):
            pd.testing.assert_frame_equal(repeat_rates(folder, within, engine=engine), in_memory, check_exact=False, rtol=1e-12)
    for period, by in [("quarter", None), ("month", "segment"), ("quarter", "team")]:
        in_memory = complaint_kpis(sample_history, period, by)
        assert in_memory.table["first_contact_resolution_n"].sum() > 0 and in_memory.table["repeat_rate_90"].notna().any()
        for engine in (None, small_driver):
            on_engine = complaint_kpis(folder, period, by, engine=engine)
            pd.testing.assert_frame_equal(on_engine.table, in_memory.table, check_exact=False, rtol=1e-12)
            assert on_engine.notes == in_memory.notes
    crowded = _crowded_history()
    on_spark = pareto(crowded.save(tmp_path / "crowded"), "trigger", engine=small_driver)
    assert on_spark.table["complaints"].sum() == 120_000 and on_spark.table["repeats"].sum() > 1_000
    assert "Handling cost needs" in " ".join(on_spark.notes)
    pd.testing.assert_frame_equal(on_spark.table, pareto(crowded, "trigger").table, check_exact=False, rtol=1e-12)
    rates = repeat_rates(tmp_path / "crowded", engine=small_driver)
    assert rates.set_index("trigger")["repeats"].to_dict() == on_spark.table.set_index("trigger")["repeats"].to_dict()
    assert trend(tmp_path / "crowded", engine=small_driver).to_numpy().sum() == 120_000
    kpis = complaint_kpis(tmp_path / "crowded", engine=small_driver)
    assert kpis.table["volume"].sum() == 120_000 and kpis.table["resolution_hours_p90"].gt(kpis.table["resolution_hours_median"]).all()
    pd.testing.assert_frame_equal(kpis.table, complaint_kpis(crowded).table, check_exact=False, rtol=1e-12)


def test_a_load_into_a_folder_checks_and_writes_in_spark_when_the_driver_cannot_receive_the_complaints(small_driver, tmp_path):
    crowded = _crowded_history()
    export = crowded.save(tmp_path / "export")
    (export / "quarantine.parquet").unlink()
    (export / "history.json").unlink()
    report = load_into(export, tmp_path / "checked", engine=small_driver, now="2026-01-01")
    assert report.rows_read == 120_040 and report.rows_quarantined == 0
    written = History.read(tmp_path / "checked")
    pd.testing.assert_frame_equal(written.complaints, load_history(export, now="2026-01-01").complaints)
    # what Spark wrote (a folder of parts per table) is read by the analyses, on either engine
    pd.testing.assert_frame_equal(pareto(tmp_path / "checked", "trigger", engine=small_driver).table, pareto(crowded, "trigger").table,
                                  check_exact=False, rtol=1e-12)
    assert load_history(tmp_path / "checked", engine="duckdb").report.rows_read == 120_040

