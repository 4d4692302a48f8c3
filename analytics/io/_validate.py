"""Map one raw table onto its canonical table, then check every row.

Nothing is dropped: a row that fails a check goes to the quarantine with its source,
row number, column, value and reason; every other row is loaded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.io._errors import LoadError
from analytics.io._profile import Profile, TableProfile, closest, snake_case
from analytics.io._read import RawTable
from analytics.schemas import ID_COLUMN, ORDERED_AFTER_OPENING, ColumnRule, column_rules

EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")
QUARANTINE_COLUMNS = ["table", "source", "row", "column", "value", "check", "level", "reason", "record"]


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


#: checks of a single value: in an optional column they cost the cell, not the row
CELL_CHECKS = ("unparseable", "out_of_range", "implausible_date", "future_date", "order", "nonexistent_time", "ambiguous_time")


class _Problems:
    """Failures found so far, as boolean masks over the table's rows. A failure of a value in
    one of ``optional`` columns is a cell problem (the cell becomes missing, the row is
    loaded); any other failure quarantines the row."""

    def __init__(self, n: int, optional: frozenset = frozenset()):
        self.n = n
        self.optional = optional
        self.items: list[tuple[np.ndarray, str, str, str]] = []  # row problems: (mask, column, check, reason)
        self.cells: list[tuple[np.ndarray, str, str, str]] = []  # cell problems, the same
        self.any = np.zeros(n, dtype=bool)

    def add(self, mask: np.ndarray, column: str, check: str, reason) -> None:
        """``reason`` is one text for all rows, or an array with a text for every row."""
        if not mask.any():
            return
        if column in self.optional and check in CELL_CHECKS:
            self.cells.append((mask, column, check, reason))
        else:
            self.items.append((mask, column, check, reason))
            self.any |= mask


def validate_table(raw: RawTable, table: str, profile: Profile, now: pd.Timestamp) -> TableResult:
    """Map, coerce and check the rows of one raw table."""
    spec = profile.table(table)
    rules = column_rules(table)
    if table in ("complaints", "clients") and raw.frame.empty and not raw.malformed:
        raise LoadError(f"{raw.source}: has a header but no data rows; export it again with the {table} in it"
                        + (" (or leave the file out: clients are then derived from the complaints)" if table == "clients" else ""))
    frame, headers = _map_columns(raw, table, spec, rules)
    problems = _Problems(len(frame), frozenset(name for name, rule in rules.items() if not rule.required))
    original = frame  # values as the export wrote them, for the quarantine
    frame, notes = _visible_ids(_missing_as_null(frame.copy(), profile.null_values), raw.source)

    id_column = ID_COLUMN[table]
    ids_unique = id_column in frame and _all_distinct(frame[id_column])
    exact = 0 if ids_unique and not spec.id_from_row else _exact_duplicates(frame, table, spec, problems)
    unmapped: dict[str, dict[str, int]] = {}
    for name, rule in rules.items():
        if name in frame:
            frame[name] = _coerce(frame[name], rule, spec, profile, problems, unmapped, frame, raw.text, raw.source)
        else:
            frame[name] = pd.Series(pd.NA, index=frame.index, dtype=rule.dtype)
    if spec.events is not None:
        at = replace(rules["opened_at"], name=spec.events.at)
        frame[at.name] = _coerce(frame[at.name], at, spec, profile, problems, unmapped, frame, raw.text, raw.source)
        problems.add(_true(frame[at.name].isna()) & ~problems.any, at.name, "missing_required", f"missing required value (expected {at.expected()})")
        provided = tuple(c for c in ("opened_at", "first_response_at", "resolved_at", "closed_at") if c in headers)
        # a bad value of an event is set aside before the events are folded, where its row is still known
        event_cells = _Problems(problems.n)
        event_cells.cells = problems.cells
        set_aside = _quarantine(original, event_cells, table, raw.source, headers)
        set_aside_count = _cells_set_aside(frame, problems)
        last_event = frame.loc[~problems.any, at.name].max()
        frame, original, problems = _fold_events(frame, original, spec, problems, provided)
    else:
        set_aside, set_aside_count, last_event = empty_quarantine(), 0, None
    _check_rows(frame, rules, table, problems, now)
    if not ids_unique or spec.events is not None:  # unique ids, the common case, need no sort
        _check_ids(frame, table, problems)

    cells_quarantined = set_aside_count + _cells_set_aside(frame, problems)
    quarantine = pd.concat([set_aside, _quarantine(original, problems, table, raw.source, headers)], ignore_index=True)
    if raw.malformed:
        quarantine = pd.concat([quarantine, _malformed(raw, table)], ignore_index=True)
    loaded = frame.loc[~problems.any] if problems.any.any() else frame
    loaded = loaded.drop(columns=["_rows"], errors="ignore")
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
    )


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


def _cells_set_aside(frame: pd.DataFrame, problems: _Problems) -> int:
    """Empty every cell with a bad value (the row stays); how many cells of loaded rows that was."""
    for mask, column, _, _ in problems.cells:
        frame[column] = frame[column].mask(mask)
    return sum(int((mask & ~problems.any).sum()) for mask, _, _, _ in problems.cells)


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
    folded: dict[str, str] = {}
    for column in present:
        key = re.sub(r"[\s_-]+", "_", str(column).strip().lower())
        if key in folded:
            raise LoadError(f"{raw.source}: the headers {folded[key]!r} and {column!r} differ only in case or spacing, so which one "
                            "a profile means is unclear; rename one of them in the export")
        folded[key] = column
    missing = {canonical: header for canonical, header in spec.columns.items() if header not in present}
    if missing:
        lines = [
            f"  {header!r} (for {canonical})" + (f"; closest headers: {', '.join(map(repr, closest(header, present)))}" if closest(header, present) else "")
            for canonical, header in missing.items()
        ]
        raise LoadError(
            f"{raw.source}: the profile names column(s) the file lacks:\n" + "\n".join(lines)
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
        raise LoadError(f"{raw.source}: two headers map onto the same column name: {renames}")
    frame = frame.rename(columns=renames)
    id_column = ID_COLUMN[table]
    if spec.id_from_row and id_column not in frame:
        stem = raw.source.rsplit("/", 1)[-1]
        frame[id_column] = pd.array([f"{stem}:{r}" for r in frame["_row"]], dtype=pd.ArrowDtype(pa.string()))
        headers[id_column] = "(row number)"
    required = [c for c, r in rules.items() if r.required and c not in frame]
    if spec.events is not None:
        required = [c for c in required if c not in ("opened_at",)]
    if required:
        hints = []
        for column in required:
            near = closest(column, present)
            hints.append(f"  {column}" + (f": closest headers {', '.join(map(repr, near))}" if near else ""))
        raise LoadError(
            f"{raw.source}: required column(s) missing for the {table} table:\n" + "\n".join(hints)
            + f"\nheaders in the file: {', '.join(map(repr, present))}"
            + "\nmap them in the profile's [" + table + ".columns] (`client-health profile init FILE` drafts one)"
        )
    return frame, headers


def _coerce(values: pd.Series, rule: ColumnRule, spec: TableProfile, profile: Profile, problems: _Problems, unmapped, frame, raw_text: bool,
            source: str) -> pd.Series:
    arrow = _arrow_type(values)
    mapping = spec.values.get(rule.name)
    if mapping and rule.allowed is None:
        lowered = values.astype(pd.ArrowDtype(pa.string())).str.strip().str.lower()
        values = lowered.map(lambda v: str(mapping.get(v, v)) if v is not pd.NA else v).astype(pd.ArrowDtype(pa.string()))
        arrow = pa.string()
    kind = rule.kind
    if kind == "string":
        if rule.allowed is not None:
            return _map_taxonomy(values, rule, mapping or {}, problems, unmapped, frame)
        text = values.astype(pd.ArrowDtype(pa.string()))
        if raw_text:
            text = text.str.strip()
        return _blank_as_null(text)
    if kind == "timestamp":
        return _coerce_timestamp(values, arrow, rule, spec, problems, frame, source)
    if kind == "bool":
        return _coerce_bool(values, arrow, rule, profile, problems)
    return _coerce_number(values, arrow, rule, problems, profile)


def _arrow_type(values: pd.Series) -> pa.DataType:
    if isinstance(values.dtype, pd.ArrowDtype):
        return values.dtype.pyarrow_dtype
    return pa.Array.from_pandas(values.head(1000)).type


def _true(condition: pd.Series) -> np.ndarray:
    """A nullable boolean Series as a plain mask: unknown counts as false."""
    return np.asarray(condition.fillna(False), dtype=bool)


def _failed(before: pd.Series, after: pd.Series) -> np.ndarray:
    return np.asarray(before.notna() & after.isna(), dtype=bool)


def _coerce_timestamp(values, arrow, rule, spec, problems, frame, source) -> pd.Series:
    if pa.types.is_timestamp(arrow) and arrow.tz is not None:
        parsed = values
    elif pa.types.is_timestamp(arrow) or pa.types.is_date(arrow):
        parsed = _localize(values.astype("datetime64[us]"), spec.timezone, rule.name, problems)
    else:
        text = _blank_as_null(values.astype(pd.ArrowDtype(pa.string())).str.strip())
        parsed = _parse_dates(text, rule, spec, problems, frame, source)
    parsed = parsed.dt.tz_convert("UTC") if hasattr(parsed, "dt") else parsed
    return parsed.astype(rule.dtype)


#: a time written with its offset from UTC ("...T14:05:00Z", "... 14:05+01:00")
WITH_OFFSET = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
#: a date that begins day and month in either order: 05/03/2024, 5.3.24, 05-03-2024
DAY_MONTH = r"^(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b"


#: date formats written as a count since 1970-01-01 UTC (APIs such as Intercom's), and their unit
UNIX_TIME = {"unix_seconds": "s", "unix_milliseconds": "ms"}


def _parse_dates(text, rule, spec, problems, frame, source) -> pd.Series:
    """Dates as the profile writes them; those written without an offset are in the profile's
    time zone, those with one keep it, and a failure says what was expected."""
    if spec.date_format in UNIX_TIME:
        unit = UNIX_TIME[spec.date_format]
        parsed = pd.to_datetime(pd.to_numeric(text, errors="coerce"), unit=unit, utc=True, errors="coerce")
        example = "1700000000" if unit == "s" else "1700000000000"
        problems.add(_failed(text, parsed), rule.name, "unparseable", f"not a valid date (expected {spec.date_format.replace('_', ' ')} since 1970-01-01 UTC, e.g. {example})")
        return parsed
    dayfirst = _day_first(text, rule.name, frame, source, spec.day_first, problems) if spec.date_format == "mixed" else False
    expected = "ISO 8601, e.g. 2024-03-31 or 2024-03-31T14:05:00Z" if spec.date_format == "ISO8601" else spec.date_format
    if spec.timezone == "UTC":
        parsed = pd.to_datetime(text, format=spec.date_format, errors="coerce", utc=True, dayfirst=dayfirst)
        problems.add(_failed(text, parsed), rule.name, "unparseable", f"not a valid date (expected {expected})")
        return parsed
    has_offset = np.asarray(text.str.contains(WITH_OFFSET, regex=True).fillna(False), bool)
    aware = pd.to_datetime(text.where(has_offset), format=spec.date_format, errors="coerce", utc=True, dayfirst=dayfirst)
    naive = pd.to_datetime(text.where(~has_offset), format=spec.date_format, errors="coerce", dayfirst=dayfirst)
    if naive.dt.tz is not None:  # a format with %z: every value carries its offset
        naive = naive.dt.tz_convert("UTC").dt.tz_localize(None)
    read = np.where(has_offset, aware.notna(), naive.notna())
    problems.add(np.asarray(text.notna(), bool) & ~read, rule.name, "unparseable", f"not a valid date (expected {expected})")
    local = _localize(naive, spec.timezone, rule.name, problems)
    return aware.where(has_offset, local.dt.tz_convert("UTC"))


def _localize(naive: pd.Series, timezone: str, column: str, problems: _Problems) -> pd.Series:
    """Wall-clock times in ``timezone``. A time the clock change skips or repeats is not
    shifted or guessed: it is quarantined, saying which happened."""
    local = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    lost = np.asarray(naive.notna() & local.isna(), bool)
    if lost.any():
        skipped = lost & np.asarray(naive.dt.tz_localize(timezone, ambiguous=np.ones(len(naive), bool), nonexistent="NaT").isna(), bool)
        problems.add(skipped, column, "nonexistent_time",
                     f"this local time does not exist in {timezone} (the clocks went forward over it); write it with its UTC offset")
        problems.add(lost & ~skipped, column, "ambiguous_time",
                     f"this local time happens twice in {timezone} (the clocks went back over it), so which is meant is unknown; "
                     "write it with its UTC offset")
    return local


def _day_first(text: pd.Series, column: str, frame: pd.DataFrame, source: str, declared: bool | None, problems: _Problems) -> bool:
    """Whether a column of mixed dates writes the day before the month. The column decides
    as a whole, never value by value: the profile's ``order``, else a value only one order
    can read (13/03). A column that gives no such value, or both kinds, is reported; with a
    declared order, a value written the other way is quarantined."""
    parts = text.astype(object).str.extract(DAY_MONTH)
    first, second = pd.to_numeric(parts[0]), pd.to_numeric(parts[1])
    rows = frame["_row"].to_numpy()
    day_first, month_first = np.asarray((first > 12).fillna(False), bool), np.asarray((second > 12).fillna(False), bool)
    if declared is not None:
        problems.add(month_first if declared else day_first, column, "unparseable",
                     f"not a valid date (written {'month' if declared else 'day'} first, but the profile's dates order says "
                     f"{'day' if declared else 'month'} first)")
        return declared

    def example(mask) -> str:
        i = int(np.flatnonzero(np.asarray(mask, bool))[0])
        return f"{text.iloc[i]!r} (row {rows[i]})"

    if day_first.any() and month_first.any():
        raise LoadError(f"{source}: column {column} writes {example(day_first)} day first but {example(month_first)} month first; "
                        "export the dates in one order (ISO 8601 is safest)")
    if day_first.any() or month_first.any():
        return bool(day_first.any())
    both = (first.notna() & (first != second)).fillna(False)
    if both.any():
        raise LoadError(f"{source}: column {column}: dates such as {example(both)} read as day/month or month/day and no value tells which; "
                        'set order = "day_first" or "month_first" in the profile\'s dates section (or a format such as "%d/%m/%Y")')
    return False


def _coerce_bool(values, arrow, rule, profile, problems) -> pd.Series:
    if pa.types.is_boolean(arrow):
        return values.astype(rule.dtype)
    text = values.astype(pd.ArrowDtype(pa.string())).str.strip().str.lower()
    if pa.types.is_floating(arrow):
        text = text.str.replace(r"\.0$", "", regex=True)
    text = _blank_as_null(text)
    true = text.isin(profile.true_values)
    false = text.isin(profile.false_values)
    result = pd.Series(pd.NA, index=values.index, dtype=rule.dtype)
    result[true.fillna(False).astype(bool)] = True
    result[false.fillna(False).astype(bool)] = False
    spelled = f"{'/'.join(profile.true_values[:3])} or {'/'.join(profile.false_values[:3])}"
    problems.add(_failed(text, result), rule.name, "unparseable", f"not a yes/no value (expected {spelled})")
    return result


def _coerce_number(values, arrow, rule, problems, profile: Profile) -> pd.Series:
    if pa.types.is_integer(arrow) or (pa.types.is_floating(arrow) and rule.kind == "float"):
        return values.astype(rule.dtype)
    if pa.types.is_floating(arrow) or pa.types.is_decimal(arrow):
        numbers = values.astype(pd.ArrowDtype(pa.float64()))
    else:
        text = _blank_as_null(values.astype(pd.ArrowDtype(pa.string())).str.strip())
        # a value that does not follow the profile's separators is refused, never reinterpreted
        written = text.str.fullmatch(number_pattern(profile.decimal, profile.thousands)).fillna(False)
        plain = text.where(written)
        if profile.thousands:
            plain = plain.str.replace(profile.thousands, "", regex=False)
        if profile.decimal != ".":
            plain = plain.str.replace(profile.decimal, ".", regex=False)
        parsed = pd.to_numeric(plain, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        numbers = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(parsed, from_pandas=True)), index=text.index)
        example = f"1{profile.thousands}234{profile.decimal}5" if rule.kind == "float" else f"1{profile.thousands}234"
        failed = _failed(text, numbers)
        if failed.any():  # a value with digits may be written with other separators: say which the profile expects
            digits = np.asarray(text.str.contains(r"\d", regex=True).fillna(False), bool)
            reasons = np.where(digits, f"not a number (expected {rule.expected()}, written like {example}; "
                                       "set [format] decimal and thousands in the profile)", f"not a number (expected {rule.expected()})")
            problems.add(failed, rule.name, "unparseable", reasons.astype(object))
    if rule.kind == "int":
        fractional = (numbers.notna() & (numbers != numbers.round())).fillna(False)
        problems.add(np.asarray(fractional, dtype=bool), rule.name, "unparseable", f"not a whole number (expected {rule.expected()})")
        huge = (numbers.abs() > 2**53).fillna(False)  # beyond what a whole number can hold exactly
        problems.add(np.asarray(huge, dtype=bool), rule.name, "out_of_range", f"out of range (expected {rule.expected()})")
        numbers = numbers.mask(fractional | huge).round()
    return numbers.astype(rule.dtype)


def number_pattern(decimal: str = ".", thousands: str = ",") -> str:
    """A number as the profile writes it: digits, grouped in threes by ``thousands`` or not
    grouped at all, with an optional sign, ``decimal`` part and exponent."""
    digits = r"\d+" if not thousands else rf"(?:\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|\d+)"
    return rf"[+-]?(?:{digits}(?:{re.escape(decimal)}\d*)?|{re.escape(decimal)}\d+)(?:[eE][+-]?\d+)?"


def _map_taxonomy(values, rule: ColumnRule, mapping: dict, problems, unmapped, frame) -> pd.Series:
    """Export values -> the taxonomy; an unknown value becomes ``other`` (or null) and is counted."""
    text = values.astype(pd.ArrowDtype(pa.string()))
    if not mapping and set(distinct_values(text)) <= set(rule.allowed):
        return text  # already canonical: the fast path for large clean exports
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    mapped = []
    for value in uniques:
        key = str(value).strip().lower()
        target = mapping.get(key, key if key in rule.allowed else None)
        if target is None:
            target = "other" if "other" in rule.allowed else None
            counts = unmapped.setdefault(rule.name, {})
            counts[str(value)] = int((text == value).sum())
        mapped.append(target)
    lookup = np.array(mapped + [None], dtype=object)
    result = pd.Series(lookup[codes], index=values.index).astype(rule.dtype)
    if rule.name in unmapped:
        category_free = "category_raw" not in frame or frame["category_raw"].isna().all()
        frame["category_raw" if rule.name == "trigger" and category_free else f"{rule.name}_raw"] = text
    return result


# --- rows ------------------------------------------------------------------------------


def _check_rows(frame: pd.DataFrame, rules: dict[str, ColumnRule], table: str, problems: _Problems, now) -> None:
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
                problems.add(_true(column < minimum), name, check, reason)
            if maximum is not None and high > maximum:
                problems.add(_true(column > maximum), name, check, reason)
    pairs = [(name, "opened_at") for name in ORDERED_AFTER_OPENING] if table == "complaints" else []
    pairs += [("contract_end", "contract_start")] if table == "clients" else []
    for later, earlier in pairs:
        before = pc.less(pa.array(frame[later].array), pa.array(frame[earlier].array))
        if pc.any(before).as_py():
            problems.add(_true(frame[later] < frame[earlier]), later, "order", f"{later} is before {earlier}")


def _exact_duplicates(frame: pd.DataFrame, table: str, spec: TableProfile, problems: _Problems) -> int:
    """Rows identical in every exported column to an earlier row: quarantined, counted apart."""
    id_column = ID_COLUMN[table]
    columns = [c for c in frame.columns if c != "_row" and not (spec.id_from_row and c == id_column)]
    if not columns or len(frame) < 2:
        return 0
    # each row as the codes of its values (exact: no hash can collide), compared as a whole
    codes = np.column_stack([pd.factorize(frame[c], use_na_sentinel=True)[0] for c in columns])
    _, first, group = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    repeated = np.ones(len(frame), bool)
    repeated[first] = False
    if repeated.any():
        first_row = frame["_row"].to_numpy()[first[group.ravel()]]
        reasons = "exact duplicate of row " + first_row.astype(str).astype(object)
        problems.add(repeated, "(all columns)", "exact_duplicate", reasons)
    return int(repeated.sum())


def _blank_as_null(text: pd.Series) -> pd.Series:
    """An empty string is a missing value (a cheap test first: most columns have none)."""
    blank = pc.equal(pa.array(text.array), "")
    return text.mask(text == "") if pc.any(blank).as_py() else text


def distinct_values(values: pd.Series) -> list:
    """The distinct non-null values, by DuckDB's parallel hash aggregate."""
    with duckdb.connect() as connection:
        connection.register("v", pa.Table.from_pandas(values.to_frame("v"), preserve_index=False))
        return [row[0] for row in connection.sql("SELECT DISTINCT v FROM v WHERE v IS NOT NULL").fetchall()]


def _all_distinct(values: pd.Series) -> bool:
    """Whether no value repeats (nulls count as repeats): DuckDB's parallel hash aggregate
    answers in a fraction of the time of a single-threaded count of distinct values."""
    ids = pa.Table.from_pandas(values.to_frame("id"), preserve_index=False)
    with duckdb.connect() as connection:
        connection.register("ids", ids)
        repeated = connection.sql("SELECT count(*) FROM (SELECT id FROM ids GROUP BY id HAVING count(*) > 1)").fetchall()
    return repeated[0][0] == 0


def _check_ids(frame: pd.DataFrame, table: str, problems: _Problems) -> None:
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


# --- event logs --------------------------------------------------------------------------


def _fold_events(frame, original, spec: TableProfile, problems: _Problems, provided=()):
    """One row per ticket from one row per state change.

    ``opened_at`` is the first event, ``first_response_at`` the first event in a
    first-response status, ``resolved_at`` / ``closed_at`` the last event in those
    statuses, and ``reopen_count`` counts moves out of a resolved status; a time the
    export itself provides (``provided``) wins over the one derived from the events. Other
    columns take the ticket's latest non-empty value. ``_rows`` counts the events a
    ticket stands for, so that every event row stays accounted for.
    """
    log = spec.events
    bad_events = problems.any.copy()
    events = frame.loc[~bad_events].copy()
    events["_status"] = events[log.status].astype(str).str.strip().str.lower()
    events = events.sort_values([log.ticket, log.at, "_row"], kind="stable")
    grouped = events.groupby(log.ticket, sort=False)

    def first_at(statuses):
        hit = events.loc[events["_status"].isin([s.lower() for s in statuses])]
        return hit.groupby(log.ticket)[log.at].min()

    def last_at(statuses):
        hit = events.loc[events["_status"].isin([s.lower() for s in statuses])]
        return hit.groupby(log.ticket)[log.at].max()

    tickets = _latest_values(events, log.ticket)
    tickets["_row"] = grouped["_row"].first()
    tickets["_rows"] = grouped.size()
    tickets["opened_at"] = grouped[log.at].min()
    tickets["first_response_at"] = first_at(log.first_response)
    resolved = [s.lower() for s in log.resolved]
    was_resolved = events["_status"].isin(resolved)
    left_resolved = was_resolved.groupby(events[log.ticket]).shift(1, fill_value=False) & ~was_resolved & ~events["_status"].isin([s.lower() for s in log.closed])
    tickets["reopen_count"] = left_resolved.groupby(events[log.ticket]).sum().astype("int64")
    latest_resolution = last_at(log.resolved)
    tickets["resolved_at"] = latest_resolution.where(~_reopened_after(events, log, latest_resolution))
    tickets["closed_at"] = last_at(log.closed)
    exported = _latest_values(events[[log.ticket, *provided]], log.ticket) if provided else None
    for column in provided:  # the export's own time, where it has one, over the events'
        tickets[column] = exported[column].astype(tickets[column].dtype).fillna(tickets[column])
    tickets = tickets.drop(columns=["_status"]).reset_index()
    for column in ("opened_at", "first_response_at", "resolved_at", "closed_at"):
        tickets[column] = tickets[column].astype(frame["opened_at"].dtype)
    tickets["reopen_count"] = tickets["reopen_count"].astype(frame["reopen_count"].dtype)
    tickets = tickets[[c for c in frame.columns if c in tickets] + ["_rows"]]

    # events that failed their own checks stay in the quarantine as events
    bad = frame.loc[bad_events]
    bad = bad.assign(_rows=1)
    folded = pd.concat([bad, tickets], ignore_index=True)
    folded_original = pd.concat([original.loc[bad_events], original.loc[original["_row"].isin(tickets["_row"])].set_index("_row").loc[tickets["_row"]].reset_index()], ignore_index=True)
    kept = _Problems(len(folded), problems.optional)
    for mask, column, check, reason in problems.items:
        kept.add(np.concatenate([mask[bad_events], np.zeros(len(tickets), bool)]), column, check, reason)
    return folded, folded_original, kept


def _latest_values(events: pd.DataFrame, ticket: str) -> pd.DataFrame:
    """Each ticket's latest non-empty value of every column, from events sorted by ticket and
    time: found by position, never by a Python function per group."""
    codes, tickets = pd.factorize(events[ticket], sort=False)
    latest = {}
    for column in events.columns.drop(ticket):
        present = np.flatnonzero(np.asarray(events[column].notna(), bool))
        last = present[np.r_[codes[present][1:] != codes[present][:-1], True]] if len(present) else present
        position = np.full(len(tickets), -1)
        position[codes[last]] = last
        latest[column] = events[column].array.take(position, allow_fill=True)
    return pd.DataFrame(latest, index=pd.Index(tickets, name=ticket))


def _reopened_after(events, log, latest_resolution) -> pd.Series:
    """Tickets whose last event is not a resolved or closed status: open again."""
    final_status = events.groupby(log.ticket)["_status"].last()
    done = [s.lower() for s in (*log.resolved, *log.closed)]
    return ~final_status.reindex(latest_resolution.index).isin(done)


# --- the quarantine ----------------------------------------------------------------------


def _quarantine(original: pd.DataFrame, problems: _Problems, table: str, source: str, headers: dict[str, str]) -> pd.DataFrame:
    if not problems.items and not problems.cells:
        return empty_quarantine()
    parts = []
    for level, items in (("row", problems.items), ("cell", problems.cells)):
        for mask, column, check, reason in items:
            header = headers.get(column, column)
            label = column if header == column else f"{column} ({header})"
            reasons = reason[mask] if isinstance(reason, np.ndarray) else reason
            parts.append(quarantine_rows(original.loc[mask], table, source, column, check, reasons, label, level))
    return pd.concat(parts, ignore_index=True).sort_values(["row", "column"], kind="stable", ignore_index=True)


def quarantine_rows(rows: pd.DataFrame, table: str, source: str, column: str, check: str, reason, label: str | None = None,
                    level: str = "row") -> pd.DataFrame:
    """One quarantine entry per row of ``rows`` (which carry ``_row``), failing ``check`` on
    ``column``; ``level`` says what was set aside: the ``row``, or only the ``cell``."""
    values = rows[column].astype(str) if column in rows else pd.Series("", index=rows.index)
    return pd.DataFrame({
        "table": table,
        "source": source,
        "row": rows["_row"].astype("int64").to_numpy(),
        "column": label or column,
        "value": values.to_numpy(),
        "check": check,
        "level": level,
        "reason": reason,
        "record": _records(rows),
    })


def _records(rows: pd.DataFrame) -> list[str]:
    """Each quarantined row as the export had it (JSON), so that nothing is lost."""
    data = rows.drop(columns=["_row", "_rows"], errors="ignore").astype(str).replace({"<NA>": None, "NaT": None})
    return [json.dumps(r, ensure_ascii=False) for r in data.to_dict(orient="records")]


def _malformed(raw: RawTable, table: str) -> pd.DataFrame:
    return pd.DataFrame({
        "table": table,
        "source": raw.source,
        "row": [r for r, _, _ in raw.malformed],
        "column": "(whole row)",
        "value": [text for _, text, _ in raw.malformed],
        "check": "malformed_row",
        "level": "row",
        "reason": [reason for _, _, reason in raw.malformed],
        "record": [json.dumps({"text": text}) for _, text, _ in raw.malformed],
    })


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="int64" if c == "row" else "object") for c in QUARANTINE_COLUMNS})
