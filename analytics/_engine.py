"""Engines that run the relational work: DuckDB in-process (default) or Spark."""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import uuid
from pathlib import Path

import ibis
import pandas as pd
import pyarrow.parquet as pq


def connect(engine=None):
    """An Ibis backend: ``None`` or ``"duckdb"`` (in-process), ``"spark"`` (local mode),
    a ``pyspark.sql.SparkSession``, or an Ibis backend already connected.

    Examples
    --------
    >>> import ibis
    >>> from analytics.features import connect
    >>> con = connect()
    >>> con.name, con.execute(ibis.memtable({"minutes": [20, 22]}).minutes.sum())
    ('duckdb', 42)
    >>> con.disconnect()
    """
    if engine is None or engine == "duckdb":
        # spill to the system's temporary folder, not to .tmp/ in the working directory; give
        # memory back to the system after each query, for the numpy work that follows
        con = ibis.duckdb.connect(temp_directory=str(Path(tempfile.gettempdir()) / "client-health-duckdb"))
        con.raw_sql("SET allocator_background_threads = true")
        return con
    if engine == "spark":
        return ibis.pyspark.connect(spark_session())
    if type(engine).__name__ == "SparkSession":
        return ibis.pyspark.connect(engine)
    if hasattr(engine, "to_pandas") and hasattr(engine, "name"):
        return engine
    raise ValueError(f"unknown engine {engine!r}: expected None, 'duckdb', 'spark', a SparkSession or an Ibis backend")


def spark_session(cores: int = 2, config: dict | None = None):
    """A local Spark session with UTC times and no web UI, for tests and one machine;
    ``config`` adds Spark settings (``{"spark.driver.memory": "4g"}``). In local mode the
    driver's JVM does all the work: it gets a quarter of the machine's memory (at least
    1 GiB, Spark's own default) and may hand back results of up to half of that, which
    per-client sums over a few million client-cutoffs need.

    Examples
    --------
    >>> from analytics.features import spark_session
    >>> spark = spark_session(cores=1)
    >>> spark.conf.get("spark.sql.session.timeZone"), spark.range(3).count()
    ('UTC', 3)
    """
    from pyspark.sql import SparkSession

    memory = _quarter_of_memory_mib()
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("client-health")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # no progress bars across a report's terminal
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", str(cores * 2))
        .config("spark.sql.warehouse.dir", _warehouse().name)
        .config("spark.driver.memory", f"{memory}m")
        .config("spark.driver.maxResultSize", f"{memory // 2}m")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_SETTINGS.as_uri()}")
    )
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def engine_of(history, engine=None):
    """The engine an analysis of ``history`` runs on: ``engine`` when given, else the one
    the history keeps (``load_history(..., engine=...)``); a saved history's folder keeps
    none. None means DuckDB in this process.

    Examples
    --------
    >>> from analytics.datasets import load_sample
    >>> from analytics.features import engine_of
    >>> history = load_sample()
    >>> history.engine = "spark"
    >>> engine_of(history), engine_of(history, "duckdb"), engine_of("saved/history")
    ('spark', 'duckdb', None)
    """
    chosen = engine if engine is not None else getattr(history, "engine", None)
    if not runs_analyses(chosen):
        raise ValueError(f"analyses run on DuckDB or Spark, not on {chosen.name}: a warehouse's backend checks a load where its tables are "
                         "(load_history, load_into), and the history it loads is analysed in DuckDB here (leave engine= out)")
    return chosen


def runs_analyses(engine) -> bool:
    """Whether the analyses run on ``engine``: DuckDB and Spark (and None, DuckDB here) do.
    Another Ibis backend, a warehouse's, checks a load where its tables are.

    Examples
    --------
    >>> import ibis
    >>> from analytics.features import runs_analyses
    >>> runs_analyses("spark"), runs_analyses(ibis.sqlite.connect())
    (True, False)
    """
    return not isinstance(getattr(engine, "name", None), str) or engine.name in ("duckdb", "pyspark")


@contextlib.contextmanager
def connection(engine=None):
    """:func:`connect`, closed at the end when it opened an in-process DuckDB: a Spark
    session or a backend passed in belongs to its caller and stays open.

    Examples
    --------
    >>> from analytics.features import connection
    >>> with connection() as con:
    ...     con.name
    'duckdb'
    """
    con = connect(engine)
    try:
        yield con
    finally:
        if engine is None or engine == "duckdb":
            con.disconnect()


#: errors only: a report's terminal shows its own progress, not the JVM's notes and tuning warnings
LOG_SETTINGS = Path(__file__).with_name("spark-log4j2.properties")


@functools.cache
def _warehouse() -> tempfile.TemporaryDirectory:
    """One scratch warehouse folder per process, removed when the process ends: a folder
    made at each call (every analysis asks for the session) would be left behind."""
    return tempfile.TemporaryDirectory(prefix="client-health-spark-")


def _quarter_of_memory_mib() -> int:
    """A quarter of this machine's physical memory in MiB, at least 1024."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1024, physical // 4 // 2**20)


#: the schemes of shared storage Spark reads (a database's URL has a scheme of its own)
STORAGE_SCHEMES = ("s3", "s3a", "s3n", "gs", "hdfs", "abfs", "abfss", "wasb", "wasbs", "dbfs", "file")


def is_url(location) -> bool:
    """Whether a saved history's ``location`` is a URL of shared storage rather than a
    folder on this machine (or a database).

    Examples
    --------
    >>> from analytics.features import is_url
    >>> is_url("s3a://crm-exports/history"), is_url("saved/history"), is_url("postgresql://analyst@db/crm")
    (True, False, False)
    """
    return str(location).split("://", 1)[0].lower() in STORAGE_SCHEMES if "://" in str(location) else False


def parquet_parts(path: Path | str) -> list[Path]:
    """The files of a Parquet table: the file itself, or the parts of a folder an engine
    wrote (in name order).

    Examples
    --------
    >>> from analytics.datasets import SAMPLE_FOLDER
    >>> from analytics.io import parquet_parts
    >>> [part.name for part in parquet_parts(SAMPLE_FOLDER / "clients.parquet")]
    ['clients.parquet']
    """
    path = Path(path)
    return sorted(p for p in path.glob("*.parquet") if p.is_file()) if path.is_dir() else [path]


def read_numbered(con, path: Path | str) -> ibis.Table:
    """A Parquet file (or folder of parts) with each row's 1-based number in it, counted
    through the parts in name order, as a reader of the whole would count. At a URL (Spark
    only) the parts and their rows are counted by Spark."""
    url = "://" in str(path)
    parts = [str(path)] if url else [str(part) for part in parquet_parts(path)]
    if con.name == "duckdb" and not url:
        table = con.read_parquet(parts, file_row_number=True, filename=True)
        index, file = table.file_row_number, table.filename
    elif con.name == "pyspark":
        name = f"client_health_{uuid.uuid4().hex}"
        con._session.read.parquet(*parts).selectExpr("*", "_metadata.row_index AS file_row_number",
                                                     "_metadata.file_name AS filename").createOrReplaceTempView(name)
        table = con.table(name)
        index, file = table.file_row_number, table.filename
    else:
        raise ValueError(f"the {con.name} engine cannot number a file's rows; load the files without an engine")
    if url:  # how many rows each part holds, in the parts' name order
        counted = con.execute(table.group_by(part=file).aggregate(rows=table.count())).sort_values("part")
        sizes = dict(zip(counted["part"], counted["rows"], strict=True))
    else:
        sizes = {Path(part).name: pq.ParquetFile(part).metadata.num_rows for part in parts}
    offsets, start = {}, 0
    for part, rows in sizes.items():
        offsets[part], start = start, start + int(rows)
    offset = ibis.cases(*(((file == part) | file.endswith(f"/{part}"), first) for part, first in offsets.items()), else_=0) if len(offsets) > 1 else 0
    return table.mutate(_row=index + offset + 1).drop("file_row_number", "filename")


def filled(con, table: ibis.Table) -> tuple[int, pd.Series]:
    """How many rows ``table`` has, and how many of them hold a value in each column, counted
    by the engine ``con`` in one pass."""
    counts = con.execute(table.aggregate(rows=table.count(), **{f"n{i}": table[c].count() for i, c in enumerate(table.columns)})).iloc[0]
    return int(counts["rows"]), pd.Series([int(counts[f"n{i}"]) for i in range(len(table.columns))], index=table.columns)
