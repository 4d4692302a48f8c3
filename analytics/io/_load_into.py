"""``load_into``: a load whose loaded rows stay in the engine, written from there as a saved
history that every analysis reads where it is."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from analytics._engine import connection, is_url
from analytics._time import utc
from analytics.io._engine_checks import whole
from analytics.io._engine_load import engine_load, engine_sources
from analytics.io._errors import LoadError, ValidationFailed
from analytics.io._history import TABLES, LoadReport
from analytics.io._load import _strict_message, ascii_twin, coverage_warnings, load_report, look_alike_ids
from analytics.io._profile import Profile, load_profile
from analytics.schemas import column_rules, empty_table


def load_into(source, folder: str | Path, profile: str | Path | Profile = "generic", *, engine="duckdb", now=None,
              strict: bool = False) -> LoadReport:
    """Check ``source`` in the engine, as ``load_history(source, engine=...)`` does, and write
    the loaded tables to ``folder`` from the engine, laid out as :meth:`History.save` lays
    them out: every analysis reads that folder where it is (``engine=``), and
    :meth:`History.read` brings it into memory. Only counts, the values left unmapped, a
    few ids and the quarantined rows come to this process, so on DuckDB and Spark the
    complaints never pass through it (a warehouse's backend, PostgreSQL say, checks them
    where they are and hands them over in batches as the folder is written). On Spark each
    table is a folder of parts, and ``folder`` may be a URL
    of shared storage (``s3a://``, ``abfss://``, ``hdfs://``) that the executors write and
    read themselves.

    Handling practices and tone are not read from the words here: ``load_history(folder)``
    reads them where the export did not record them.

    Examples
    --------
    >>> import tempfile
    >>> from analytics.datasets import SAMPLE_FOLDER
    >>> from analytics.io import History, load_into
    >>> folder = tempfile.mkdtemp()
    >>> load_into(SAMPLE_FOLDER, folder).rows_quarantined
    0
    >>> History.read(folder)
    History(3,000 clients, 13,119 complaints, 22,588 interactions, 0 rows quarantined)
    """
    profile = load_profile(profile)
    now = pd.Timestamp.now(tz="UTC") if now is None else utc(now)
    url = is_url(folder)
    folder = str(folder).rstrip("/") if url else Path(folder)
    with connection(engine) as con:
        if url and con.name != "pyspark":
            raise ValueError(f"{folder}: a history is written to a URL by Spark (engine='spark' or a SparkSession); "
                             f"{con.name} writes a folder on this machine")
        sources = engine_sources(source, profile, con)
        if sources is None:
            raise LoadError(f"{source}: load_into reads Parquet (a file of complaints, or a folder with one file or folder of parts "
                            "per table) or the engine's own tables; load CSV, Excel and databases with load_history")
        load = engine_load(sources, profile, now)
        named = "the engine's tables" if isinstance(source, dict) else Path(source).name
        notes = [f"Read from {named} with the {profile.name} profile; checked in {con.name} and written from there."]
        if load.clients_derived:
            notes.append(f"no clients table: {int(con.execute(load.tables['clients'].count())):,} clients derived from the complaints' client ids")
        if "interactions" not in sources:
            notes.append("no interactions table in the source")
        notes += load.notes + look_alike_ids(_odd_ids(load.tables["clients"], con), "client_id")
        coverage = _coverage(load, con)
        notes += coverage_warnings(coverage)
        report = load_report(load.counts, load.unmapped, load.quarantine, profile.name, notes, coverage)
        if strict and len(load.quarantine):
            raise ValidationFailed(_strict_message(load.quarantine, report), load.quarantine)
        meta = json.dumps({"clients_derived": load.clients_derived, "report": report.to_dict(), "seen_until": None}, indent=2, default=str)
        if url:  # the few small parts too, as Spark writes them where this process may not
            for table in TABLES:
                _write(con, load.tables[table].order_by("_row").drop("_row") if table in load.tables else _spark_table(con, empty_table(table)),
                       f"{folder}/{table}.parquet")
            _write(con, _spark_table(con, load.quarantine), f"{folder}/quarantine.parquet")
            con._session.createDataFrame([(meta,)], "value string").coalesce(1).write.mode("overwrite").text(f"{folder}/history.json")
            return report
        folder.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            path = folder / f"{table}.parquet"
            if table in load.tables:
                _write(con, load.tables[table].order_by("_row").drop("_row"), path)
            else:
                empty_table(table).to_parquet(path, index=False)
    load.quarantine.to_parquet(folder / "quarantine.parquet", index=False)
    (folder / "history.json").write_text(meta, encoding="utf-8")
    return report


def _spark_table(con, frame: pd.DataFrame) -> ibis.Table:
    """A small frame of this process as a Spark table, its empty columns typed as text."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    arrow = arrow.cast(pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in arrow.schema]))
    name = f"client_health_{uuid.uuid4().hex}"
    con._session.createDataFrame(arrow).createOrReplaceTempView(name)
    return con.table(name)


def _write(con, table, path: Path) -> None:
    """Parquet written by the engine, its times in microseconds with their zone, which every
    reader takes (Spark's own default, INT96, pandas reads without the zone)."""
    if con.name != "pyspark":
        con.to_parquet(table, path)
        return
    setting, earlier = "spark.sql.parquet.outputTimestampType", con._session.conf.get("spark.sql.parquet.outputTimestampType", None)
    con._session.conf.set(setting, "TIMESTAMP_MICROS")
    try:
        con.to_parquet(table, path, mode="overwrite")
    finally:
        con._session.conf.unset(setting) if earlier is None else con._session.conf.set(setting, earlier)


def _odd_ids(clients, con) -> pd.Series:
    """The client ids written with a character outside ASCII, and the ASCII ids they look
    like: all that ``look_alike_ids`` needs, and few."""
    odd = con.execute(clients.filter(clients.client_id.re_search("[^\\x00-\\x7F]")).select("client_id").distinct())["client_id"]
    twins = sorted({ascii_twin(value) for value in odd} - set(odd))
    found = con.execute(clients.filter(clients.client_id.isin(twins)).select("client_id").distinct())["client_id"] if twins else []
    return pd.Series([*odd, *found], dtype="string")


def _coverage(load, con) -> pd.DataFrame:
    """``column_coverage`` counted in the engine."""
    rows = []
    for table, columns in load.mapped.items():
        frame, rules = load.tables[table], column_rules(table)
        taxonomy = [c for c in columns if rules[c].allowed and "other" in rules[c].allowed]
        measures = {"rows": frame.count(), **{f"filled_{c}": frame[c].count() for c in columns},
                    **{f"other_{c}": (frame[c] == "other").sum() for c in taxonomy}}
        found = con.execute(frame.aggregate(**measures)).iloc[0]
        for column in columns:
            filled = int(found[f"filled_{column}"])
            rows.append({"table": table, "column": column, "filled": filled / found["rows"] if found["rows"] else float("nan"),
                         "other": whole(found[f"other_{column}"]) / max(filled, 1) if column in taxonomy else float("nan")})
    return pd.DataFrame(rows, columns=["table", "column", "filled", "other"])
