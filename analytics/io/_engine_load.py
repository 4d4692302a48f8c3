"""``load_history`` in the engine: Parquet files, or the engine's own tables, mapped, checked
and quarantined where they are. Counts, the values left unmapped and the quarantined rows
come back; the loaded rows come back only to make a History in this process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from analytics._engine import read_numbered
from analytics.io._engine_checks import ENGINE_TYPES, CheckedTable, checked_table, whole
from analytics.io._history import TABLES
from analytics.io._problems import Problems, empty_quarantine, quarantine_rows
from analytics.io._profile import Profile
from analytics.io._read import PARQUET_SUFFIXES, _matching_files, kind_of
from analytics.io._validate import column_names
from analytics.schemas import ID_COLUMN, column_rules


@dataclass
class EngineLoad:
    """The loaded rows of each table (``_row`` first), as engine expressions, and what came back."""

    tables: dict[str, ibis.Table]
    quarantine: pd.DataFrame
    counts: list[dict]
    unmapped: list[tuple[str, dict]]
    notes: list[str]
    mapped: dict[str, tuple[str, ...]]
    clients_derived: bool


def engine_sources(source, profile: Profile, con) -> dict[str, tuple[str, ibis.Table]] | None:
    """The raw tables, numbered (``_row``), that the engine reads itself: a mapping of table
    name to an engine table (or its name), a folder where each table is one Parquet file (or
    a folder of parts), or one Parquet file of complaints.
    ``None`` when the source is anything else (CSV, Excel, a database URL): pandas reads it."""
    if isinstance(source, dict):
        unknown = set(source) - set(TABLES)
        if unknown or "complaints" not in source:
            raise ValueError(f"give the tables as {{'complaints': …, 'clients': …, 'interactions': …}} (complaints at least), not {sorted(source)}")
        return {table: _numbered_table(con.table(value) if isinstance(value, str) else value, table, profile,
                                       value if isinstance(value, str) else f"{table} table", con) for table, value in source.items()}
    if not isinstance(source, str | Path) or "://" in str(source):
        return None
    if Path(source).is_file():  # a single file holds the complaints
        return {"complaints": (str(source), read_numbered(con, Path(source)))} if kind_of(Path(source)) in PARQUET_SUFFIXES else None
    if not Path(source).is_dir():
        return None
    files = {table: _matching_files(Path(source), profile.table(table).files) for table in TABLES}
    for table in TABLES:  # a table an engine wrote: a folder of parts
        if not files[table] and (Path(source) / f"{table}.parquet").is_dir():
            files[table] = [Path(source) / f"{table}.parquet"]
    found = [f for parts in files.values() for f in parts]
    if not files["complaints"] or any(len(parts) > 1 for parts in files.values()) or any(kind_of(f) not in PARQUET_SUFFIXES for f in found
                                                                                          if not f.is_dir()):
        return None
    return {table: (str(parts[0]), read_numbered(con, parts[0])) for table, parts in files.items() if parts}


def _numbered_table(table: ibis.Table, name: str, profile: Profile, label: str, con) -> tuple[str, ibis.Table]:
    """An engine table has no row order: its rows are numbered in the order of their id. On
    Spark, whose window over a whole table would gather it into one task, they take Spark's
    own row ids instead: unique and in the order of the table's partitions, not consecutive."""
    if con.name == "pyspark":
        view = f"client_health_{uuid.uuid4().hex}"
        con._session.sql(str(con.compile(table))).selectExpr("*", "monotonically_increasing_id() + 1 AS _row").createOrReplaceTempView(view)
        return label, con.table(view)
    renames, _ = column_names(list(table.columns), name, profile.table(name), column_rules(name), label)
    by_id = next((header for header, canonical in renames.items() if canonical == ID_COLUMN[name]), table.columns[0])
    return label, table.mutate(_row=ibis.row_number().over(order_by=[table[by_id], *table.columns]) + 1)


def engine_load(sources: dict[str, tuple[str, ibis.Table]], profile: Profile, now: pd.Timestamp) -> EngineLoad:
    """Check every table in the engine, then the references between them."""
    checked = {table: checked_table(raw, table, source, profile, now) for table, (source, raw) in sources.items()}
    counts, parts, notes = {}, [], []
    for table, result in checked.items():
        counts[table] = _counted(result)
        notes += result.notes
        if counts[table]["rows_loaded"] < counts[table]["rows_read"] or counts[table]["cells_quarantined"] or counts[table]["exact_duplicates"]:
            parts.append(_quarantined(result))
    tables = {table: result.loaded() for table, result in checked.items()}
    if "clients" in tables:  # checked on the ids alone: the complaints' other columns are read once, when they come back
        complaints, known = tables["complaints"], tables["clients"].select(_known=tables["clients"].client_id)
        unknown = _fetched(complaints.select("_row", "client_id").anti_join(known, complaints.client_id == known._known))
        moved = _fetched(_only(complaints, unknown).order_by("_row")) if len(unknown) else unknown
        parts.append(quarantine_rows(moved, "complaints", checked["complaints"].source, "client_id", "unknown_reference",
                                     "unknown client_id (not in the clients table)"))
        tables["complaints"] = _without(complaints, moved)
        counts["complaints"]["rows_loaded"] -= len(moved)
    if "interactions" in tables:
        contacts, complaints = tables["interactions"], tables["complaints"]
        owners = complaints.select(_complaint=complaints.complaint_id, _owner=complaints.client_id, _opened=complaints.opened_at)
        joined = contacts.left_join(owners, contacts.complaint_id == owners._complaint)
        unknown = joined._complaint.isnull()
        mismatched = ~unknown & (joined.client_id != joined._owner).fill_null(False)
        early = ~unknown & ~mismatched & (joined.at < joined._opened).fill_null(False)
        moved = _fetched(joined.filter(unknown | mismatched | early).select(*contacts.columns, _unknown=unknown, _mismatched=mismatched, _early=early)
                         .order_by("_row"))
        for flag, column, check, reason in (
            ("_unknown", "complaint_id", "unknown_reference", "complaint_id not loaded (no such complaint, or its complaint was quarantined)"),
            ("_mismatched", "client_id", "mismatched_reference",
             "client_id is not the client of its complaint (complaint_id names another client's complaint)"),
            ("_early", "at", "order", "at is before its complaint was opened (opened_at of complaint_id)"),
        ):
            rows = moved.loc[moved[flag].to_numpy(dtype=bool, na_value=False), list(contacts.columns)]
            parts.append(quarantine_rows(rows, "interactions", checked["interactions"].source, column, check, reason))
        tables["interactions"] = _without(contacts, moved)
        counts["interactions"]["rows_loaded"] -= len(moved)
    clients_derived = "clients" not in tables
    if clients_derived:
        ids = tables["complaints"].select("client_id").distinct()
        tables["clients"] = ids.select(_row=ibis.row_number().over(order_by=ids.client_id) + 1,
                                       **{name: ids.client_id if name == "client_id" else ibis.null(ENGINE_TYPES[rule.kind])
                                          for name, rule in column_rules("clients").items()})
    for count in counts.values():
        count["rows_quarantined"] = count["rows_read"] - count["rows_loaded"]
        count["records"] = count["rows_loaded"]
    quarantine = pd.concat(parts or [empty_quarantine()], ignore_index=True)
    return EngineLoad(tables, quarantine, list(counts.values()), [(t, r.unmapped) for t, r in checked.items()], notes,
                      {t: tuple(c for c in r.headers if c in column_rules(t)) for t, r in checked.items()}, clients_derived)


def _counted(result: CheckedTable) -> dict:
    """Rows read, loaded and set aside, counted in one pass."""
    rows, row_failed = result.rows, result.failed()
    measures = {"read": rows.count(), "failed": row_failed.sum()}
    for failure in result.failures:
        if failure.level == "cell":
            measures[failure.flag] = (rows[failure.flag] & ~row_failed).sum()
        if failure.check == "exact_duplicate":
            measures["exact"] = rows[failure.flag].sum()
    found = rows.aggregate(**measures).execute().iloc[0]
    cells = sum(whole(found[f.flag]) for f in result.failures if f.level == "cell")
    read = whole(found["read"])
    return {"table": result.table, "source": result.source, "rows_read": read, "rows_loaded": read - whole(found["failed"]),
            "rows_quarantined": 0, "cells_quarantined": cells, "exact_duplicates": whole(found.get("exact", 0)), "records": 0,
            "encoding": ""}


def _quarantined(result: CheckedTable) -> pd.DataFrame:
    """The quarantine entries of one table: its failing rows come back, as the export wrote
    them, and each failure becomes an entry as the pandas loader writes it."""
    rows = result.rows
    helpers = [c for c in ("_exact_first", "_id_first") if c in rows.columns]
    failing = rows.filter(result.failed() | result.failed("cell")).order_by("_row")
    found = _fetched(failing.select("_row", *helpers, *(f.flag for f in result.failures),
                                    **{name: rows[f"_x_{name}"] for name in result.exported}))
    if found.empty:
        return empty_quarantine()
    problems = Problems(len(found), result.optional)
    for failure in result.failures:
        mask = found[failure.flag].to_numpy(dtype=bool, na_value=False)
        if mask.any():
            problems.add(mask, failure.column, failure.check, failure.reason if isinstance(failure.reason, str) else failure.reason(found))
    original = found[["_row", *result.exported]]
    return problems.quarantine(original, result.table, result.source, result.headers)


def _without(table: ibis.Table, moved: pd.DataFrame) -> ibis.Table:
    """``table`` without the rows ``moved`` to the quarantine."""
    if moved.empty:
        return table
    gone = ibis.memtable({"_gone": moved["_row"].to_numpy(dtype="int64")})
    return table.anti_join(gone, table._row == gone._gone)


def _only(table: ibis.Table, found: pd.DataFrame) -> ibis.Table:
    """The rows of ``table`` whose numbers ``found`` holds: a few, found by a narrower query."""
    wanted = ibis.memtable({"_wanted": found["_row"].to_numpy(dtype="int64")})
    return table.semi_join(wanted, table._row == wanted._wanted)


def _fetched(expression: ibis.Table) -> pd.DataFrame:
    """Rows brought here, with Arrow's types. Spark's times are instants it hands over
    without their zone; its session's zone is UTC (see ``spark_session``)."""
    found = expression.to_pyarrow()
    if expression._find_backend().name == "pyspark":
        found = found.cast(pa.schema([pa.field(f.name, pa.timestamp(f.type.unit, "UTC")) if pa.types.is_timestamp(f.type) and f.type.tz is None else f
                                      for f in found.schema]))
    return found.to_pandas(types_mapper=pd.ArrowDtype)


def history_frames(load: EngineLoad) -> dict[str, pd.DataFrame]:
    """The loaded tables in this process, in their rows' order, with the canonical types."""
    frames = {}
    for table in TABLES:
        if table not in load.tables:
            continue
        frame = _fetched(load.tables[table].order_by("_row")).drop(columns="_row")
        frames[table] = frame.astype({name: rule.dtype for name, rule in column_rules(table).items()})
    return frames
