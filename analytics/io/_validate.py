"""Map one raw table onto its canonical table, then check every row.

Nothing is dropped: a row that fails a check goes to the quarantine with its source,
row number, column, value and reason; every other row is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.io._coerce import coerce, true_mask
from analytics.io._errors import LoadError
from analytics.io._events import EVENT_TIMES, fold_events
from analytics.io._problems import Events, Problems, empty_quarantine, malformed_rows
from analytics.io._profile import Profile, TableProfile, closest, snake_case
from analytics.io._read import RawTable
from analytics.schemas import ID_COLUMN, ORDERED_AFTER_OPENING, ColumnRule, column_rules

EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")


@dataclass
class TableResult:
    """What became of one source's rows for one table."""

    table: str
    source: str
    loaded: pd.DataFrame
    quarantine: pd.DataFrame
    rows_read: int
    rows_loaded: int
    cells_quarantined: int = 0  # bad values in optional columns of loaded rows, made missing
    exact_duplicates: int = 0
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)  # column -> raw value -> rows
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)  # what was cleaned, for the load report
    mapped: tuple[str, ...] = ()  # canonical columns the export provided
    last_event: pd.Timestamp | None = None  # an event log's last event: how far the export has seen
    events: Events | None = None  # an event log's export rows behind each loaded ticket


def validate_table(raw: RawTable, table: str, profile: Profile, now: pd.Timestamp) -> TableResult:
    """Map, coerce and check the rows of one raw table."""
    spec = profile.table(table)
    rules = column_rules(table)
    if table in ("complaints", "clients") and raw.frame.empty and not raw.malformed:
        raise LoadError(f"{raw.source}: has a header but no data rows; export it again with the {table} in it"
                        + (" (or leave the file out: clients are then derived from the complaints)" if table == "clients" else ""))
    frame, headers = _map_columns(raw, table, spec, rules)
    problems = Problems(len(frame), frozenset(name for name, rule in rules.items() if not rule.required))
    original = frame  # values as the export wrote them, for the quarantine
    frame, notes = _visible_ids(_missing_as_null(frame.copy(), profile.null_values), raw.source)

    id_column = ID_COLUMN[table]
    # an event log repeats its ticket ids by nature
    ids_unique = spec.events is None and id_column in frame and _all_distinct(frame[id_column])
    exact = 0 if ids_unique and not spec.id_from_row else _exact_duplicates(frame, table, spec, problems)
    unmapped: dict[str, dict[str, int]] = {}
    for name, rule in rules.items():
        if name in frame:
            frame[name] = coerce(frame[name], rule, spec, profile, problems, unmapped, frame, raw.text, raw.source)
        else:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype=rule.dtype)
    if spec.events is not None:
        set_aside, set_aside_count, last_event = _events_checked(frame, original, spec, rules, profile, problems, unmapped, headers, raw)
        export_events = original
        frame, original, problems, members, sources = fold_events(frame, original, spec.events, problems, _times_provided(spec, headers))
        events = Events(export_events.set_index("_row", drop=False), members, frame.pop("_first_event").to_numpy(), frame["_rows"].to_numpy(), sources)
    else:
        set_aside, set_aside_count, last_event, events = empty_quarantine(), 0, None, None
    _check_rows(frame, rules, table, problems, now)
    if not ids_unique or spec.events is not None:  # unique ids, the common case, need no sort
        _check_ids(frame, table, problems)

    cells_quarantined = set_aside_count + problems.set_cells_aside(frame)
    quarantine = pd.concat([set_aside, problems.quarantine(original, table, raw.source, headers, events)], ignore_index=True)
    if raw.malformed:
        quarantine = pd.concat([quarantine, malformed_rows(raw.malformed, table, raw.source)], ignore_index=True)
    loaded = frame.loc[~problems.any] if problems.any.any() else frame
    # an event-log ticket stands for several export rows
    weights = frame["_rows"].to_numpy() if "_rows" in frame else np.ones(len(frame), int)
    return TableResult(
        table,
        raw.source,
        _ordered(loaded, rules),
        quarantine,
        rows_read=int(weights.sum()) + len(raw.malformed),
        rows_loaded=int(weights[~problems.any].sum()),
        cells_quarantined=cells_quarantined,
        exact_duplicates=exact,
        unmapped=unmapped,
        encoding=raw.encoding,
        notes=notes,
        mapped=tuple(c for c in headers if c in rules),
        last_event=None if last_event is None or pd.isna(last_event) else last_event,
        events=events.kept(~problems.any) if events is not None else None,
    )


def _times_provided(spec: TableProfile, headers: dict[str, str]) -> tuple[str, ...]:
    """The ticket times an event log's export carries and the profile lets win over the events'."""
    return tuple(c for c in EVENT_TIMES if c in headers) if spec.events.times_from == "export" else ()


def _events_checked(frame, original, spec: TableProfile, rules, profile: Profile, problems: Problems, unmapped, headers, raw: RawTable):
    """An event log's own checks, made while each event is still its own row: its time and
    ticket must be there, and a bad value of an optional column is set aside as the event's
    cell. Returns those cells' quarantine and count, and the last event seen."""
    at = replace(rules["opened_at"], name=spec.events.at)
    frame[at.name] = coerce(frame[at.name], at, spec, profile, problems, unmapped, frame, raw.text, raw.source)
    problems.add(true_mask(frame[at.name].isna()) & ~problems.any, at.name, "missing_required", f"missing required value (expected {at.expected()})")
    ticket = spec.events.ticket
    problems.add(true_mask(frame[ticket].isna()) & ~problems.any, ticket, "missing_required",
                 f"missing required value (expected {rules[ticket].expected()}): an event must name its ticket")
    event_cells = Problems(problems.n)
    event_cells.cells = problems.cells
    set_aside = event_cells.quarantine(original, "complaints", raw.source, headers)
    set_aside_count = problems.set_cells_aside(frame)
    return set_aside, set_aside_count, frame.loc[~problems.any, at.name].max()


#: characters that show as nothing: an id holding one looks like another id and is not
ZERO_WIDTH = "[\u200b\u200c\u200d\u2060\ufeff]"
ID_COLUMNS = ("client_id", "complaint_id", "interaction_id")


def _visible_ids(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, list[str]]:
    """Ids with their zero-width characters removed, and a note of how many held one."""
    notes = []
    for column in ID_COLUMNS:
        if column not in frame or not pd.api.types.is_string_dtype(frame[column]):
            continue
        hidden = frame[column].str.contains(ZERO_WIDTH, regex=True).fillna(False)
        if hidden.any():
            frame = frame.assign(**{column: frame[column].str.replace(ZERO_WIDTH, "", regex=True)})
            notes.append(f"{source}: {int(hidden.sum()):,} {column} values held invisible zero-width characters, removed "
                         f"(first at row {frame.loc[hidden, '_row'].iloc[0]})")
    return frame, notes


def _missing_as_null(frame: pd.DataFrame, missing: tuple[str, ...]) -> pd.DataFrame:
    """Cells the profile declares as meaning "no value" (``[format] null_values``) become null;
    nothing else does: a client called ``NA`` stays ``NA``."""
    if not missing:
        return frame
    text = [c for c in frame.columns if c != "_row" and (pd.api.types.is_string_dtype(frame[c]) or frame[c].dtype == object)]
    return frame.assign(**{c: frame[c].mask(frame[c].isin(missing)) for c in text})


def _ordered(frame: pd.DataFrame, rules: dict[str, ColumnRule]) -> pd.DataFrame:
    extra = [c for c in frame.columns if c not in rules]  # _row stays until the history is built
    return frame[[*rules, *extra]].reset_index(drop=True)


# --- columns -------------------------------------------------------------------------


def _map_columns(raw: RawTable, table: str, spec: TableProfile, rules) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename export headers to canonical names; returns the frame and canonical -> header."""
    frame = raw.frame
    present = [c for c in frame.columns if c != "_row"]
    renames, headers = column_names(present, table, spec, rules, raw.source)
    frame = frame.rename(columns=renames)
    id_column = ID_COLUMN[table]
    if spec.id_from_row and id_column not in frame:
        stem = raw.source.rsplit("/", 1)[-1]
        frame[id_column] = pd.array([f"{stem}:{r}" for r in frame["_row"]], dtype=pd.ArrowDtype(pa.string()))
        headers[id_column] = "(row number)"
    required_present(frame.columns, present, table, spec, rules, raw.source)
    return frame, headers


def column_names(present: list[str], table: str, spec: TableProfile, rules, source: str) -> tuple[dict[str, str], dict[str, str]]:
    """How the export's headers are renamed (header -> name) and which header gives each
    canonical column (canonical -> header)."""
    folded: dict[str, str] = {}
    for column in present:
        key = re.sub(r"[\s_-]+", "_", str(column).strip().lower())
        if key in folded:
            raise LoadError(f"{source}: the headers {folded[key]!r} and {column!r} differ only in case or spacing, so which one "
                            "a profile means is unclear; rename one of them in the export")
        folded[key] = column
    missing = {canonical: header for canonical, header in spec.columns.items() if header not in present}
    if missing:
        lines = [
            f"  {header!r} (for {canonical})" + (f"; closest headers: {', '.join(map(repr, closest(header, present)))}" if closest(header, present) else "")
            for canonical, header in missing.items()
        ]
        raise LoadError(
            f"{source}: the profile names column(s) the file lacks:\n" + "\n".join(lines)
            + f"\nheaders in the file: {', '.join(map(repr, present))}"
        )
    headers = {canonical: header for canonical, header in spec.columns.items()}
    headers.update({c: h for c, h in spec.optional_columns.items() if h in present and c not in headers})
    taken = set(headers.values())
    # headers already canonical, in any case or spacing, count only where the profile maps
    # nothing for this table: a profile that maps columns says which ones to parse, and a
    # header it leaves out (ServiceNow's own "opened_at") is kept as it is, never parsed
    if not spec.columns and not spec.optional_columns:
        for column in present:
            key = snake_case(column)
            if column not in taken and key in rules and key not in headers:
                headers[key] = column
                taken.add(column)
    renames = {header: canonical for canonical, header in headers.items()}
    for column in present:
        if column not in taken:
            name = snake_case(column)
            renames[column] = name if name not in rules and name not in renames.values() else f"export_{name}"
    if len(set(renames.values())) != len(renames):
        raise LoadError(f"{source}: two headers map onto the same column name: {renames}")
    return renames, headers


def required_present(columns, present: list[str], table: str, spec: TableProfile, rules, source: str) -> None:
    """Raise a LoadError naming each required canonical column the renamed ``columns`` lack."""
    required = [c for c, r in rules.items() if r.required and c not in columns]
    if spec.events is not None:
        required = [c for c in required if c not in ("opened_at",)]
    if required:
        hints = []
        for column in required:
            near = closest(column, present)
            hints.append(f"  {column}" + (f": closest headers {', '.join(map(repr, near))}" if near else ""))
        raise LoadError(
            f"{source}: required column(s) missing for the {table} table:\n" + "\n".join(hints)
            + f"\nheaders in the file: {', '.join(map(repr, present))}"
            + "\nmap them in the profile's [" + table + ".columns] (`client-health profile init FILE` drafts one)"
        )


# --- rows ------------------------------------------------------------------------------


def _check_rows(frame: pd.DataFrame, rules: dict[str, ColumnRule], table: str, problems: Problems, now) -> None:
    """Required values, ranges, plausible dates and the order of events.

    A column's null count and one min/max pass tell whether a check can fail at all;
    only then is a row mask built, which keeps clean exports of millions of rows cheap.
    """
    failed_columns: dict[str, np.ndarray] = {}
    for mask, column, _, _ in problems.items:
        failed_columns[column] = failed_columns.get(column, np.zeros(problems.n, bool)) | mask
    for name, rule in rules.items():
        column = frame[name]
        values = pa.array(column.array)
        if rule.required and values.null_count:
            already = failed_columns.get(name, np.zeros(problems.n, bool))
            problems.add(np.asarray(column.isna(), bool) & ~already, name, "missing_required", f"missing required value (expected {rule.expected()})")
        if rule.kind not in ("int", "float", "timestamp") or values.null_count == len(values):
            continue
        extremes = pc.min_max(values)
        low, high = extremes["min"].as_py(), extremes["max"].as_py()
        bounds = [(rule.minimum, rule.maximum, "out_of_range", f"out of range (expected {rule.expected()})")]
        if rule.kind == "timestamp":
            bounds = [(EARLIEST, None, "implausible_date", "date before 1970, most likely a placeholder")]
            if name != "contract_end":  # a renewal date may lie ahead
                bounds.append((None, now, "future_date", f"date in the future (after the load time {now:%Y-%m-%d %H:%M} UTC)"))
        for minimum, maximum, check, reason in bounds:
            if minimum is not None and low < minimum:
                problems.add(true_mask(column < minimum), name, check, reason)
            if maximum is not None and high > maximum:
                problems.add(true_mask(column > maximum), name, check, reason)
    pairs = [(name, "opened_at") for name in ORDERED_AFTER_OPENING] if table == "complaints" else []
    pairs += [("contract_end", "contract_start")] if table == "clients" else []
    for later, earlier in pairs:
        before = pc.less(pa.array(frame[later].array), pa.array(frame[earlier].array))
        if pc.any(before).as_py():
            problems.add(true_mask(frame[later] < frame[earlier]), later, "order", f"{later} is before {earlier}")


def _exact_duplicates(frame: pd.DataFrame, table: str, spec: TableProfile, problems: Problems) -> int:
    """Rows identical in every exported column to an earlier row: quarantined, counted apart."""
    id_column = ID_COLUMN[table]
    columns = [c for c in frame.columns if c != "_row" and not (spec.id_from_row and c == id_column)]
    if not columns or len(frame) < 2:
        return 0
    # a row stays a candidate while another row shares all its values so far, compared as
    # exact codes (no hash can collide); the id and an event's time come first, as they leave
    # the fewest candidates, and each further column is read for the candidates only
    first_columns = [c for c in (id_column, spec.events.at if spec.events else None) if c in columns]
    rows, group = np.arange(len(frame)), np.zeros(len(frame), np.int64)
    for column in [*first_columns, *(c for c in columns if c not in first_columns)]:
        values = frame[column] if len(rows) == len(frame) else frame[column].iloc[rows]
        codes = pd.factorize(values, use_na_sentinel=True)[0]
        group = pd.factorize(group * (len(rows) + 1) + codes + 1)[0]
        shared = np.bincount(group)[group] > 1
        if not shared.all():
            rows, group = rows[shared], pd.factorize(group[shared])[0]
        if not len(rows):
            return 0
    first = np.unique(group, return_index=True)[1]
    repeated = np.ones(len(rows), bool)
    repeated[first] = False
    first_row = frame["_row"].to_numpy()[rows[first[group[repeated]]]]
    mask = np.zeros(len(frame), bool)
    mask[rows[repeated]] = True
    reasons = np.empty(len(frame), dtype=object)
    reasons[mask] = "exact duplicate of row " + first_row.astype(str).astype(object)
    problems.add(mask, "(all columns)", "exact_duplicate", reasons)
    return int(mask.sum())


def _all_distinct(values: pd.Series) -> bool:
    """Whether no value repeats (nulls count as repeats): DuckDB's parallel hash aggregate
    answers in a fraction of the time of a single-threaded count of distinct values."""
    ids = pa.Table.from_pandas(values.to_frame("id"), preserve_index=False)
    with duckdb.connect() as connection:
        connection.register("ids", ids)
        repeated = connection.sql("SELECT count(*) FROM (SELECT id FROM ids GROUP BY id HAVING count(*) > 1)").fetchall()
    return repeated[0][0] == 0


def _check_ids(frame: pd.DataFrame, table: str, problems: Problems) -> None:
    """A second row with an id already used (and not an exact duplicate) is quarantined."""
    id_column = ID_COLUMN[table]
    ids = frame[id_column]
    usable = ~problems.any & np.asarray(ids.notna(), bool)
    repeated = np.zeros(len(frame), bool)
    repeated[usable] = ids[usable].duplicated(keep="first").to_numpy()
    if repeated.any():
        first = frame.loc[usable].groupby(id_column, sort=False)["_row"].first()
        reasons = np.empty(len(frame), dtype=object)
        reasons[repeated] = [f"duplicate {id_column} (first seen at row {first[i]}; that row was kept)" for i in ids[repeated]]
        problems.add(repeated, id_column, "duplicate_id", reasons)
