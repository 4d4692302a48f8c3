"""Histories kept in real databases: SQLite and DuckDB files, and a PostgreSQL server."""

import pandas as pd
import pytest
import sqlalchemy as sa

from analytics.io import LoadError, load_history

TABLES = ("clients", "complaints", "interactions")


def _write(history, url: str, clients: int = 80) -> None:
    """Write part of a history into a database as plain SQL tables (timestamps as UTC)."""
    keep = history.clients["client_id"].head(clients)
    frames = {
        "clients": history.clients.loc[history.clients["client_id"].isin(keep)],
        "complaints": history.complaints.loc[history.complaints["client_id"].isin(keep)],
        "interactions": history.interactions.loc[history.interactions["client_id"].isin(keep)],
    }
    if url.startswith("duckdb"):
        import duckdb  # its SQLAlchemy dialect does not quote the column name "at" on insert

        with duckdb.connect(url.removeprefix("duckdb:///")) as connection:
            for name, frame in frames.items():
                connection.register("frame", frame)
                connection.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM frame")
                connection.unregister("frame")
        return frames
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for name, frame in frames.items():
            plain = frame.copy()
            for column in plain.columns:  # databases get plain Python types
                plain[column] = plain[column].astype(object).where(plain[column].notna(), None)
            plain.to_sql(name, connection, index=False, if_exists="replace")
    engine.dispose()
    return frames


def _same(loaded, written) -> None:
    for table, key in zip(TABLES, ("client_id", "complaint_id", "interaction_id"), strict=True):
        expected = written[table].sort_values(key, ignore_index=True)  # a database keeps no row order
        actual = getattr(loaded, table)[list(expected.columns)].sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(actual, expected, check_dtype=True)
    assert loaded.quarantine.empty


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_database_file_round_trip(sample_history, tmp_path, kind):
    url = f"{kind}:///{tmp_path / ('history.' + kind)}"
    written = _write(sample_history, url)
    _same(load_history(url), written)


def test_postgresql_round_trip(sample_history, postgres_url):
    written = _write(sample_history, postgres_url)
    _same(load_history(postgres_url), written)


def test_a_warehouse_checks_its_own_tables_where_they_are(postgres_url, tmp_path):
    """Tables in a warehouse, given with its Ibis backend, are mapped, checked and quarantined
    by the warehouse itself (PostgreSQL here, its strings ordered bytewise as DuckDB orders
    them), as DuckDB checks the same tables. The history is analysed in DuckDB here, where
    its rows are; written to a folder, the reports read it there."""
    import ibis

    from analytics.features import open_history
    from analytics.kpis import complaint_kpis
    from tests.test_load_engine import CHECKS, NOW, _hostile_export

    hostile = _hostile_export(tmp_path / "hostile")
    address = sa.engine.make_url(postgres_url)
    warehouse = ibis.postgres.connect(host=address.host, port=address.port, user=address.username, database=address.database)
    here = ibis.duckdb.connect()
    tables = {name: f"hostile_{name}" for name in TABLES}
    for name, table in tables.items():
        frame = pd.read_parquet(hostile / f"{name}.parquet")
        warehouse.create_table(table, frame, overwrite=True)
        here.create_table(table, frame)
    in_warehouse = load_history(tables, now=NOW, engine=warehouse)
    in_duckdb = load_history(tables, now=NOW, engine=here)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(in_warehouse, name), getattr(in_duckdb, name))
    pd.testing.assert_frame_equal(in_warehouse.quarantine, in_duckdb.quarantine)
    assert set(in_warehouse.quarantine["check"]) == CHECKS
    assert in_warehouse.report.notes[0].endswith("checked in postgres.") and in_warehouse.engine is None and in_duckdb.engine is here
    pd.testing.assert_frame_equal(complaint_kpis(in_warehouse).table, complaint_kpis(in_duckdb).table)
    with pytest.raises(ValueError, match="analyses run on DuckDB or Spark, not on postgres"):
        complaint_kpis(in_duckdb, engine=warehouse)
    stored = open_history(tables, engine=warehouse, into=tmp_path / "checked", now=NOW)
    assert stored.engine is None and stored.report.rows_quarantined == in_duckdb.report.rows_quarantined
    written = stored.of_clients(in_duckdb.clients["client_id"])
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(written, name), getattr(in_duckdb, name))
    warehouse.disconnect()
    here.disconnect()


def test_query_from_the_profile_selects_rows(sample_history, tmp_path):
    url = f"sqlite:///{tmp_path / 'q.sqlite'}"
    written = _write(sample_history, url)
    profile = tmp_path / "severe.toml"
    profile.write_text('[complaints]\nsql = "SELECT * FROM complaints WHERE severity >= 3"\n', encoding="utf-8")
    history = load_history(url, profile)
    assert len(history.complaints) == int((written["complaints"]["severity"] >= 3).sum())


def test_database_without_complaints_table_is_a_clear_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE other (x INTEGER)"))
    engine.dispose()
    with pytest.raises(LoadError, match="no complaints table"):
        load_history(url)


def test_password_never_appears_in_messages(tmp_path):
    with pytest.raises(LoadError) as error:
        load_history("postgresql+psycopg://analyst:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(error.value)
