"""``load_history``: any export -> a validated ``History``, with every row accounted for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analytics._engine import connection, runs_analyses
from analytics._time import utc
from analytics.io._coerce import distinct_values
from analytics.io._engine_load import engine_load, engine_sources, history_frames
from analytics.io._errors import LoadError, ValidationFailed
from analytics.io._history import History, LoadReport
from analytics.io._problems import empty_quarantine, quarantine_rows
from analytics.io._profile import Profile, load_profile
from analytics.io._read import Progress, is_database_url, iter_tables, read_sources
from analytics.io._validate import TableResult, validate_table
from analytics.schemas import ID_COLUMN, column_rules, empty_table
from analytics.text import read_into


def load_history(
    source: str | Path,
    profile: str | Path | Profile = "generic",
    strict: bool = False,
    *,
    now=None,
    progress: Progress | None = None,
    engine=None,
) -> History:
    """Load a complaint and resolution history into the canonical tables.

    Parameters
    ----------
    source : path or database URL
        A folder of CSV / Parquet / Excel files named after the tables (or as the
        profile says), a single complaints file, an Excel workbook with one sheet per
        table, or a SQLAlchemy URL (``sqlite:///f.db``, ``duckdb:///f.duckdb``,
        ``postgresql+psycopg://user@host/db``; a password comes from the URL or
        the ``PGPASSWORD`` environment variable, never from a committed file).
    profile : name, path or Profile
        How the export maps onto the canonical tables (``generic``, ``cfpb``,
        ``helpdesk_events`` or a TOML file of your own).
    strict : bool
        Raise :class:`ValidationFailed` listing every failure instead of quarantining.
    now : timestamp, optional
        Dates after this moment are rejected as being in the future (default: now).
    engine : "duckdb", "spark", a SparkSession or an Ibis backend, optional
        Check the rows in this engine, where they are: a Parquet file of complaints, a
        folder whose tables are each one Parquet file (or a folder of parts), or a mapping
        ``{"complaints": table, ...}`` of the engine's own tables (or their names), whose
        rows are numbered in the order of their ids (on Spark, by Spark's row ids). Only counts and
        the quarantined rows come back before the loaded rows do. Other sources (CSV,
        Excel, a database URL) are read here, as without an engine. Event logs, ids made
        from row numbers, and dates written in other layouts than ISO 8601 or without a
        zone in a zone other than UTC need the loader without an engine. The history
        keeps the engine (``history.engine``): its analyses run there unless told otherwise.
        To keep the loaded rows in the engine, ``open_history(source, engine=..., into=folder)``.
        A warehouse's Ibis backend (PostgreSQL, ...) checks its own tables where they are;
        the history it loads is analysed in DuckDB here.

    Returns
    -------
    History
        Every row read is either loaded or in ``history.quarantine`` with its reason.

    Examples
    --------
    >>> from analytics.datasets import SAMPLE_FOLDER  # the shipped sample: a folder of exports
    >>> from analytics.io import load_history
    >>> history = load_history(SAMPLE_FOLDER)
    >>> history.report.rows_read == len(history.clients) + len(history.complaints) + len(history.interactions) + history.report.rows_quarantined
    True
    """
    profile = load_profile(profile)
    now = pd.Timestamp.now(tz="UTC") if now is None else utc(now)
    if isinstance(source, dict) and engine is None:
        raise LoadError("tables given as a mapping are the engine's own: pass the engine they belong to (engine=...)")
    if engine is not None:
        with connection(engine) as con:
            sources = engine_sources(source, profile, con)
            if sources is not None:
                history = _checked_in_engine(source, sources, profile, now, strict, con.name)
                history.engine = engine if runs_analyses(engine) else None
                return history
    found = read_sources(source, profile, progress)
    results: dict[str, list[TableResult]] = {}
    for table, raw in iter_tables(found):
        results.setdefault(table, []).append(validate_table(raw, table, profile, now))
    _unique_across_sources(results)

    clients_derived = "clients" not in results
    if not clients_derived:
        known = set(pd.concat([r.loaded["client_id"] for r in results["clients"]]).dropna())
        for result in results["complaints"]:
            _reject(result, ~result.loaded["client_id"].isin(known), "client_id", "unknown_reference", "unknown client_id (not in the clients table)")
    if "interactions" in results:
        complaints = pd.concat([r.loaded[["complaint_id", "client_id", "opened_at"]] for r in results["complaints"]]).set_index("complaint_id")
        for result in results["interactions"]:
            _reject(result, ~result.loaded["complaint_id"].isin(complaints.index), "complaint_id", "unknown_reference", "complaint_id not loaded (no such complaint, or its complaint was quarantined)")
            owner = result.loaded["complaint_id"].map(complaints["client_id"])
            _reject(result, (result.loaded["client_id"] != owner).fillna(False), "client_id", "mismatched_reference",
                    "client_id is not the client of its complaint (complaint_id names another client's complaint)")
            opened = result.loaded["complaint_id"].map(complaints["opened_at"])
            _reject(result, (result.loaded["at"] < opened).fillna(False), "at", "order", "at is before its complaint was opened (opened_at of complaint_id)")

    tables = {table: _combine(results.get(table), table) for table in ("clients", "complaints", "interactions")}
    notes = [f"Read from {'a database' if is_database_url(source) else Path(source).name} with the {profile.name} profile."]
    if clients_derived:
        ids = sorted(distinct_values(tables["complaints"]["client_id"]))
        clients = empty_table("clients").reindex(range(len(ids)))
        clients["client_id"] = pd.array(ids, dtype=clients["client_id"].dtype)
        tables["clients"] = clients
        notes.append(f"no clients table: {len(ids):,} clients derived from the complaints' client ids")
    tables["complaints"], tables["interactions"], read_notes = read_into(tables["complaints"], tables["interactions"])
    notes += read_notes
    for table in ("interactions",):
        if table not in results:
            notes.append(f"no {table} table in the source")
    notes += [note for rs in results.values() for r in rs for note in r.notes]
    notes += look_alike_ids(tables["clients"]["client_id"], "client_id")

    quarantine = pd.concat([r.quarantine for rs in results.values() for r in rs] or [empty_quarantine()], ignore_index=True)
    coverage = column_coverage(tables, {table: tuple(dict.fromkeys(c for r in rs for c in r.mapped)) for table, rs in results.items()})
    notes += coverage_warnings(coverage)
    report = _report(results, quarantine, profile.name, notes, coverage)
    events = [r.last_event for rs in results.values() for r in rs if r.last_event is not None]
    history = History(**tables, quarantine=quarantine, report=report, clients_derived=clients_derived, seen_until=max(events) if events else None,
                      engine=engine if runs_analyses(engine) else None)
    if strict and len(quarantine):
        raise ValidationFailed(_strict_message(quarantine, report), quarantine)
    return history


def _checked_in_engine(source, sources, profile: Profile, now: pd.Timestamp, strict: bool, engine: str) -> History:
    """``load_history`` with the rows checked in the engine, then brought here."""
    load = engine_load(sources, profile, now)
    tables = history_frames(load)
    tables.setdefault("interactions", empty_table("interactions"))
    named = "the engine's tables" if isinstance(source, dict) else Path(source).name
    notes = [f"Read from {named} with the {profile.name} profile; checked in {engine}."]
    if load.clients_derived:
        notes.append(f"no clients table: {len(tables['clients']):,} clients derived from the complaints' client ids")
    tables["complaints"], tables["interactions"], read_notes = read_into(tables["complaints"], tables["interactions"])
    notes += read_notes
    if "interactions" not in sources:
        notes.append("no interactions table in the source")
    notes += load.notes + look_alike_ids(tables["clients"]["client_id"], "client_id")
    coverage = column_coverage(tables, load.mapped)
    notes += coverage_warnings(coverage)
    report = load_report(load.counts, load.unmapped, load.quarantine, profile.name, notes, coverage)
    history = History(**tables, quarantine=load.quarantine, report=report, clients_derived=load.clients_derived)
    if strict and len(load.quarantine):
        raise ValidationFailed(_strict_message(load.quarantine, report), load.quarantine)
    return history


def look_alike_ids(ids: pd.Series, column: str) -> list[str]:
    """Ids that differ from another id only by characters that look alike (a Cyrillic С for
    a Latin C): kept apart, as the data has them, and reported."""
    distinct = set(ids.dropna())
    found = []
    for value in sorted(v for v in distinct if not v.isascii()):
        twin = ascii_twin(value)
        if twin != value and twin in distinct:
            found.append(f"{value!r} and {twin!r}")
    return [f"{column} values that differ only by look-alike characters, kept as different clients: {'; '.join(found)}"] if found else []


def ascii_twin(value: str) -> str:
    """``value`` with each character that looks like a Latin one written as that one."""
    from confusable_homoglyphs import confusables

    return "".join(c if c.isascii() else next((h["c"] for h in _homoglyphs(confusables, c) if h["c"].isascii()), c) for c in value)


def _homoglyphs(confusables, character: str) -> list[dict]:
    hits = confusables.is_confusable(character, greedy=True, preferred_aliases=["latin"]) or []
    return [h for hit in hits for h in hit["homoglyphs"]]


def _combine(results: list[TableResult] | None, table: str) -> pd.DataFrame:
    if not results:
        return empty_table(table)
    frames = [r.loaded for r in results]
    combined = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return combined.drop(columns=["_row", "_rows"], errors="ignore")


def _reject(result: TableResult, mask: pd.Series, column: str, check: str, reason: str) -> None:
    """Move rows that failed a check across tables from the loaded rows to the quarantine."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return
    if result.events is not None:  # an event log's tickets: each of their events goes
        moved = quarantine_rows(result.events.rows_of(mask, reason)[0], result.table, result.source, column, check, reason)
        result.rows_loaded -= int(result.loaded["_rows"].to_numpy()[mask].sum())
        result.events = result.events.kept(~mask)
    else:
        moved = quarantine_rows(result.loaded.loc[mask], result.table, result.source, column, check, reason)
        result.rows_loaded -= int(mask.sum())
    result.quarantine = pd.concat([result.quarantine, moved], ignore_index=True)
    result.loaded = result.loaded.loc[~mask].reset_index(drop=True)


def _unique_across_sources(results: dict[str, list[TableResult]]) -> None:
    """An id loaded from an earlier file wins over the same id in a later one."""
    for table, parts in results.items():
        for later, result in enumerate(parts[1:], start=1):
            earlier = pd.concat([r.loaded[ID_COLUMN[table]] for r in parts[:later]])
            ids = result.loaded[ID_COLUMN[table]]
            _reject(result, ids.isin(earlier), ID_COLUMN[table], "duplicate_id", f"duplicate {ID_COLUMN[table]} (already loaded from an earlier source)")


def column_coverage(tables: dict[str, pd.DataFrame], mapped: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """For every canonical column the export provided: the share of loaded rows with a value,
    and for a taxonomy column the share that fell to ``other``."""
    rows = []
    for table, columns in mapped.items():
        frame, rules = tables[table], column_rules(table)
        for column in columns:
            values = frame[column] if column in frame else pd.Series(dtype=object)
            filled = float(values.notna().mean()) if len(values) else float("nan")
            other = float((values == "other").sum() / max(values.notna().sum(), 1)) if rules[column].allowed and "other" in rules[column].allowed else float("nan")
            rows.append({"table": table, "column": column, "filled": filled, "other": other})
    return pd.DataFrame(rows, columns=["table", "column", "filled", "other"])


def coverage_warnings(coverage: pd.DataFrame) -> list[str]:
    """A column the export provides that gives nothing: empty in every row, or ``other`` in every row."""
    warnings = []
    for row in coverage.itertuples():
        if row.filled == 0:
            warnings.append(f"warning: {row.table}.{row.column} is empty in every loaded row: check which export column the profile maps onto it")
        elif row.other == 1:
            warnings.append(f"warning: {row.table}.{row.column} is 'other' in every loaded row: map the export's values in "
                            f"[{row.table}.values.{row.column}] (the unmapped values are listed in the load report)")
    return warnings


def _report(results, quarantine: pd.DataFrame, profile: str, notes: list[str], coverage: pd.DataFrame) -> LoadReport:
    counts = [
        {
            "table": r.table,
            "source": r.source,
            "rows_read": r.rows_read,
            "rows_loaded": r.rows_loaded,
            "rows_quarantined": r.rows_read - r.rows_loaded,
            "cells_quarantined": r.cells_quarantined,
            "exact_duplicates": r.exact_duplicates,
            "records": len(r.loaded),  # differs from rows_loaded when an event log was folded
            "encoding": r.encoding or "",
        }
        for rs in results.values() for r in rs
    ]
    unmapped = [(r.table, r.unmapped) for rs in results.values() for r in rs]
    return load_report(counts, unmapped, quarantine, profile, notes, coverage)


def load_report(counts: list[dict], unmapped: list[tuple[str, dict]], quarantine: pd.DataFrame, profile: str, notes: list[str],
                coverage: pd.DataFrame) -> LoadReport:
    """The load report from each source's counts, its values left unmapped (table, column ->
    value -> rows) and the quarantine."""
    unmapped = pd.DataFrame(
        [
            {"table": table, "column": column, "value": value, "rows": rows}
            for table, columns in unmapped
            for column, values in columns.items() for value, rows in values.items()
        ],
        columns=["table", "column", "value", "rows"],
    )
    if len(unmapped):
        unmapped = unmapped.groupby(["table", "column", "value"], as_index=False)["rows"].sum().sort_values("rows", ascending=False, ignore_index=True)
    reasons = (
        quarantine.groupby(["table", "column", "check", "level"], as_index=False)
        .agg(rows=("row", "size"), example=("reason", "first"))
        .sort_values("rows", ascending=False, ignore_index=True)
        if len(quarantine) else pd.DataFrame(columns=["table", "column", "check", "level", "rows", "example"])
    )
    return LoadReport(counts=pd.DataFrame(counts), unmapped=unmapped, reasons=reasons, profile=profile, notes=notes, coverage=coverage)


def _strict_message(quarantine: pd.DataFrame, report: LoadReport, limit: int = 1000) -> str:
    lines = [
        f"{report.rows_quarantined:,} of {report.rows_read:,} rows failed validation, and {report.cells_quarantined:,} "
        f"values in optional columns ({len(quarantine):,} problems); every one is listed below and in error.quarantine:"
    ]
    for item in quarantine.head(limit).itertuples():
        lines.append(f"  {item.source}, row {item.row}, column {item.column}: {item.value!r}: {item.reason}")
    if len(quarantine) > limit:
        lines.append(f"  ... and {len(quarantine) - limit:,} more in error.quarantine")
    return "\n".join(lines)



