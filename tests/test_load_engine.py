"""``load_history(engine=...)``: the rows are checked where they are, on DuckDB and on Spark,
and the History, the quarantine and the load report are what the pandas loader gives."""

import shutil

import numpy as np
import pandas as pd
import pytest

from analytics.datasets import SAMPLE_FOLDER
from analytics.features import StoredHistory, connect, connection, open_history
from analytics.io import History, LoadError, load_history, load_into
from analytics.rootcause import pareto

NOW = "2026-01-01"
TABLES = ("clients", "complaints", "interactions")
#: every check the hostile export below trips
CHECKS = {"duplicate_id", "exact_duplicate", "future_date", "implausible_date", "mismatched_reference", "missing_required", "order",
          "out_of_range", "unknown_reference", "unparseable"}


def _hostile_export(folder):
    """The sample as Parquet files with something for every check to catch: numbers and
    yes/no values written as text (some badly), duplicates, dates out of range or order,
    references to nothing, values no taxonomy names, an id with an invisible character."""
    folder.mkdir()
    clients, complaints, interactions = (pd.read_parquet(SAMPLE_FOLDER / f"{t}.parquet") for t in TABLES)
    clients = pd.concat([clients, clients.iloc[[5]], clients.iloc[[7]].assign(name="another name")], ignore_index=True)
    clients.loc[10, "annual_value"] = -5.0
    clients.loc[11, "status"] = "Dormant"
    clients.loc[12, "contract_end"] = clients.loc[12, "contract_start"] - pd.Timedelta(days=3)
    clients["client_id"] = clients["client_id"].astype(object)
    clients.loc[13, "client_id"] = "\u200b" + clients.loc[13, "client_id"]
    complaints["severity"] = complaints["severity"].astype("Int64").astype(str).astype(object)
    complaints.loc[1:5, "severity"] = ["high", "2.5", " 3 ", "1,000", ""]
    complaints.loc[6, "csat"] = 9
    complaints.loc[7, "opened_at"] = pd.Timestamp("2030-01-01", tz="UTC")
    complaints.loc[8, "resolved_at"] = pd.Timestamp("1960-01-01", tz="UTC")
    complaints.loc[9, "client_id"] = None
    complaints.loc[10, "client_id"] = "NO-SUCH-CLIENT"
    complaints.loc[11, "complaint_id"] = complaints.loc[12, "complaint_id"]
    complaints.loc[13, "first_response_at"] = complaints.loc[13, "opened_at"] - pd.Timedelta(hours=2)
    complaints.loc[14:16, ["trigger", "channel"]] = [["Billing ", "email"], ["weather", "email"], ["billing", "pigeon"]]
    disputed = complaints["disputed"].astype("boolean")
    complaints["disputed"] = np.where(disputed.isna(), None, np.where(disputed.fillna(False), "Yes", "no")).astype(object)
    complaints.loc[18:19, "disputed"] = ["perhaps", " TRUE"]
    complaints = pd.concat([complaints, complaints.iloc[[20]]], ignore_index=True)
    interactions.loc[1, "complaint_id"] = "NOPE"
    interactions.loc[interactions.index[interactions["complaint_id"] == complaints.loc[30, "complaint_id"]][0], "client_id"] = \
        complaints.loc[31, "client_id"]
    opened = complaints.loc[40]
    interactions.loc[interactions.index[interactions["complaint_id"] == opened["complaint_id"]][0], "at"] = opened["opened_at"] - pd.Timedelta(days=1)
    interactions.loc[3, "at"] = None
    interactions.loc[4, "tone"] = "Furious"
    for name, frame in zip(TABLES, (clients, complaints, interactions), strict=True):
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return _hostile_export(tmp_path_factory.mktemp("engine") / "export")


def _assert_same_load(expected, got, same_sources: bool = True) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(expected, table), getattr(got, table))
    key = ["table", "row", "column", "check"]
    columns = [c for c in expected.quarantine.columns if c != "source"]
    pd.testing.assert_frame_equal(expected.quarantine.sort_values(key, ignore_index=True)[columns],
                                  got.quarantine.sort_values(key, ignore_index=True)[columns], check_dtype=False)
    pd.testing.assert_frame_equal(expected.report.counts.drop(columns="source"), got.report.counts.drop(columns="source"))
    order = ["table", "column", "value"]
    pd.testing.assert_frame_equal(expected.report.unmapped.sort_values(order, ignore_index=True), got.report.unmapped.sort_values(order, ignore_index=True))
    pd.testing.assert_frame_equal(expected.report.coverage, got.report.coverage)
    if same_sources:  # notes name the source
        assert expected.report.notes[1:] == got.report.notes[1:]


@pytest.fixture(scope="module")
def loaded_in_spark(hostile, spark):
    return load_history(hostile, now=NOW, engine=spark)


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_the_engine_loads_and_quarantines_what_the_pandas_loader_does(hostile, engine, request):
    expected = load_history(hostile, now=NOW)
    got = request.getfixturevalue("loaded_in_spark") if engine == "spark" else load_history(hostile, now=NOW, engine=engine)
    # planted: 2 client rows, 5 complaint rows and 4 contacts rejected by name (more contacts follow their complaints)
    assert set(got.quarantine["check"]) == CHECKS and got.report.rows_quarantined >= 11 and got.report.cells_quarantined >= 8
    assert got.report.notes[0].endswith(f"checked in {'pyspark' if engine == 'spark' else 'duckdb'}.")
    assert any("invisible zero-width" in note for note in got.report.notes)
    _assert_same_load(expected, got)
    unknown = got.quarantine.query("check == 'unknown_reference' and table == 'complaints'").iloc[0]
    assert (unknown["source"], unknown["row"], unknown["value"]) == (str(hostile / "complaints.parquet"), 11, "NO-SUCH-CLIENT")


def test_tables_the_engine_holds_are_loaded_with_their_rows_numbered_by_id(hostile):
    with connection() as con:
        tables = {t: con.read_parquet(hostile / f"{t}.parquet") for t in TABLES}
        got = load_history(tables, now=NOW, engine=con)
        assert int(con.execute(tables["complaints"].count())) == 13_120  # the caller's connection stays open
        sample = load_history({t: con.read_parquet(SAMPLE_FOLDER / f"{t}.parquet") for t in TABLES}, now=NOW, engine=con)
    assert got.report.notes[0].startswith("Read from the engine's tables")
    with pytest.raises(LoadError, match="pass the engine they belong to"):
        load_history(tables)
    expected = load_history(hostile, now=NOW)
    # which of two rows sharing an id is kept follows the order, which here is the ids' (and
    # the contacts of the complaint kept may then belong to another client)
    found = [q.query("table != 'interactions'").groupby(["table", "column", "check"]).size() for q in (expected.quarantine, got.quarantine)]
    pd.testing.assert_series_equal(*found)
    twin = got.quarantine.query("check == 'duplicate_id' and table == 'complaints'").iloc[0]
    assert (got.complaints["complaint_id"] == twin["value"]).sum() == 1 and "that row was kept" in twin["reason"]
    reference = load_history(SAMPLE_FOLDER, now=NOW)
    for table in TABLES:  # the sample's rows are in the order of their ids already
        pd.testing.assert_frame_equal(getattr(reference, table), getattr(sample, table))


def test_without_a_clients_table_the_clients_come_from_the_complaints(tmp_path):
    for table in ("complaints", "interactions"):
        shutil.copy(SAMPLE_FOLDER / f"{table}.parquet", tmp_path)
    expected, got = load_history(tmp_path, now=NOW), load_history(tmp_path, now=NOW, engine="duckdb")
    assert got.clients_derived and len(got.clients) == 2790  # the sample's clients who complained
    _assert_same_load(expected, got)


def test_what_the_engine_does_not_read_is_read_here_or_refused_by_name(tmp_path):
    exports = tmp_path / "csv"
    exports.mkdir()
    pd.read_parquet(SAMPLE_FOLDER / "complaints.parquet").head(50).to_csv(exports / "complaints.csv", index=False)
    assert len(load_history(exports, engine="duckdb").complaints) == 50  # CSV: read here, as without an engine
    dated = tmp_path / "dated"
    dated.mkdir()
    shutil.copy(SAMPLE_FOLDER / "complaints.parquet", dated)
    profile = tmp_path / "days_first.toml"
    profile.write_text('name = "days_first"\n[complaints.dates]\nformat = "%d/%m/%Y"\n', encoding="utf-8")
    # typed times need no layout: the engine loads them as the pandas loader does
    assert load_history(dated, profile, engine="duckdb").complaints.equals(load_history(dated, profile).complaints)
    written = tmp_path / "written"
    written.mkdir()
    complaints = pd.read_parquet(SAMPLE_FOLDER / "complaints.parquet").head(20)
    complaints.assign(opened_at=complaints["opened_at"].dt.strftime("%d/%m/%Y")).to_parquet(written / "complaints.parquet")
    with pytest.raises(LoadError, match=r"complaints.parquet: column opened_at: dates written as '%d/%m/%Y' are read by the pandas loader"):
        load_history(written, profile, engine="duckdb")


def test_a_load_into_a_folder_writes_from_the_engine_what_load_history_loads(hostile, tmp_path):
    report = load_into(hostile, tmp_path / "checked", now=NOW)
    expected = load_history(hostile, now=NOW)
    written = History.read(tmp_path / "checked")
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(expected, table), getattr(written, table))
    pd.testing.assert_frame_equal(expected.report.counts.drop(columns="source"), report.counts.drop(columns="source"))
    pd.testing.assert_frame_equal(expected.report.coverage, report.coverage)
    assert report.notes[1:] == expected.report.notes[1:] and written.report.rows_quarantined == expected.report.rows_quarantined
    assert len(pd.read_parquet(tmp_path / "checked" / "quarantine.parquet")) == len(expected.quarantine)
    exports = tmp_path / "csv"
    exports.mkdir()
    pd.read_parquet(SAMPLE_FOLDER / "complaints.parquet").head(5).to_csv(exports / "complaints.csv", index=False)
    with pytest.raises(LoadError, match="load_into reads Parquet"):
        load_into(exports, tmp_path / "nowhere")


def test_a_history_checked_on_spark_is_written_to_shared_storage_as_to_a_folder(hostile, spark, tmp_path):
    """As a cluster writes to shared storage (s3a://, abfss://): at a file:// URL Spark writes
    every part of the history itself, and the history opened there holds what a load into a
    folder on this machine holds, quarantine and load report included."""
    url = (tmp_path / "storage").as_uri()
    on_storage = open_history(hostile, engine=spark, into=url, now=NOW)
    in_folder = open_history(hostile, into=tmp_path / "here", now=NOW)
    assert isinstance(on_storage, StoredHistory) and on_storage.location == url and on_storage.complaint_count == in_folder.complaint_count
    pd.testing.assert_frame_equal(on_storage.quarantine, in_folder.quarantine)
    assert set(on_storage.quarantine["check"]) == CHECKS
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(on_storage.of_clients(in_folder.clients["client_id"]), name),
                                      getattr(in_folder.of_clients(in_folder.clients["client_id"]), name))
    pd.testing.assert_frame_equal(on_storage.report.counts, in_folder.report.counts)
    assert on_storage.report.notes[1:] == in_folder.report.notes[1:]
    with pytest.raises(ValueError, match="written to a URL by Spark"):
        load_into(hostile, url, now=NOW)


def test_spark_tables_are_numbered_by_spark_without_gathering_them_in_one_task(hostile, spark):
    on_spark = connect(spark)
    got = load_history({t: on_spark.read_parquet(str(hostile / f"{t}.parquet")) for t in TABLES}, now=NOW, engine=on_spark)
    # a small file is one partition: Spark's row ids are then the file's row numbers
    _assert_same_load(load_history(hostile, now=NOW), got, same_sources=False)
    assert "clients table: 1 client_id values held invisible zero-width characters, removed (first at row 14)" in got.report.notes


def test_the_history_keeps_its_engine_and_its_analyses_run_there(loaded_in_spark, spark, hostile):
    history = loaded_in_spark
    assert history.engine is spark and history.as_of("2025-07-01").engine is spark and history.whole_clients(500).engine is spark
    assert load_history(hostile, now=NOW).engine is None and load_history(hostile, now=NOW, engine="duckdb").engine == "duckdb"
    tracker = spark.sparkContext.statusTracker()
    before = set(tracker.getJobIdsForGroup())
    on_spark = pareto(history)
    assert set(tracker.getJobIdsForGroup()) - before, "the Pareto ran in the history's engine"
    before = set(tracker.getJobIdsForGroup())
    here = pareto(history, engine="duckdb")  # an engine named wins
    assert set(tracker.getJobIdsForGroup()) == before
    pd.testing.assert_frame_equal(on_spark.table, here.table)
