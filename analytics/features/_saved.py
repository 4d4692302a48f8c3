"""A saved history's folder as the engine reads it: a folder on this machine, or a URL that
Spark reads itself (``s3a://``, ``hdfs://``, ``abfss://``, ``file://``), as a cluster's
executors read shared storage. Only counts, the clients and the history's notes come to
this process."""

from __future__ import annotations

import json
from pathlib import Path

import ibis
import pandas as pd
import pyarrow.parquet as pq

from analytics._engine import filled, is_url, parquet_parts, read_numbered


class Saved:
    """The tables of the history saved at ``location`` (:meth:`History.save`, or
    :func:`analytics.io.load_into`) as the engine ``con`` reads them.

    Examples
    --------
    >>> from analytics.datasets import SAMPLE_FOLDER
    >>> from analytics.features import Saved, connection
    >>> with connection() as con:
    ...     saved = Saved(SAMPLE_FOLDER, con)
    ...     len(saved.frame("clients")), "csat" in saved.recorded("complaints")
    (3000, True)
    """

    def __init__(self, location: str | Path, con):
        self.con, self.url = con, is_url(location)
        if self.url and con.name != "pyspark":
            raise ValueError(f"{location}: a saved history at a URL is read by Spark (engine='spark' or a SparkSession); "
                             f"{con.name} reads a folder on this machine")
        self.location = str(location).rstrip("/") if self.url else Path(location)

    def path(self, name: str) -> str | Path:
        return f"{self.location}/{name}" if self.url else self.location / name

    def table(self, name: str, numbered: bool = False) -> ibis.Table:
        """Table ``name`` ("complaints"), with each row's place in it (``_row``) when ``numbered``."""
        path = self.path(f"{name}.parquet")
        if numbered:
            return read_numbered(self.con, path)
        # Spark reads a folder of parts itself; DuckDB is given its parts
        return self.con.read_parquet(str(path) if self.con.name == "pyspark" else [str(part) for part in parquet_parts(path)])

    def frame(self, name: str) -> pd.DataFrame:
        """A small table (the clients) in this process, as pandas reads it with Arrow types."""
        if self.url:
            return fetched(self.con, self.table(name))
        return pd.read_parquet(self.path(f"{name}.parquet"), dtype_backend="pyarrow")

    def meta(self) -> dict:
        """What :meth:`History.save` noted beside the tables (``history.json``), empty when nothing."""
        path = self.path("history.json")
        if self.url:
            text = self.con._session.read.text(path, wholetext=True).collect()
            return json.loads(text[0][0]) if text else {}
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def recorded(self, name: str) -> set[str]:
        """The columns of table ``name`` with at least one value: from the Parquet statistics
        on this machine, counted by the engine at a URL."""
        if self.url:
            return counted_columns(self.con, self.table(name))
        return _recorded_columns(self.path(f"{name}.parquet"))


def in_utc(column):
    """Moments as UTC: Spark gives them without a time zone (in the session's, UTC)."""
    return column.cast("timestamp('UTC')") if column.type().is_timestamp() else column


def fetched(con, table: ibis.Table) -> pd.DataFrame:
    """``table`` in this process, with Arrow types and its moments in UTC, as pandas reads
    a saved table."""
    return con.to_pyarrow(table.select(**{c: in_utc(table[c]) for c in table.columns})).to_pandas(types_mapper=pd.ArrowDtype)


def counted_columns(con, table: ibis.Table) -> set[str]:
    """The columns of ``table`` with at least one value, counted by the engine ``con``."""
    _, counts = filled(con, table)
    return set(counts.index[counts > 0])


def _recorded_columns(path: Path) -> set[str]:
    """Columns of a Parquet table with at least one value, from its statistics."""
    recorded = set()
    for part in parquet_parts(path):
        metadata = pq.ParquetFile(part).metadata
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            if group.num_rows == 0:  # an empty table's group has no statistics: it records nothing
                continue
            for c in range(group.num_columns):
                column = group.column(c)
                stats = column.statistics
                if stats is None or not stats.has_null_count or stats.null_count < group.num_rows:
                    recorded.add(column.path_in_schema)
    return recorded
