"""One table's rows mapped, coerced and checked as engine expressions.

The rules are those of ``_validate`` and ``_coerce`` (the same reasons, the same cell or row
levels), written through Ibis so that DuckDB and Spark both evaluate them where the table
is. Each failure is a boolean column of the checked rows; only counts and the failing rows
ever leave the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from analytics.io._coerce import number_pattern
from analytics.io._errors import LoadError
from analytics.io._problems import CELL_CHECKS
from analytics.io._profile import Profile, TableProfile
from analytics.io._validate import EARLIEST, ID_COLUMNS, ZERO_WIDTH, column_names, required_present
from analytics.schemas import ID_COLUMN, ORDERED_AFTER_OPENING, ColumnRule, column_rules

ENGINE_TYPES = {"string": "string", "int": "int64", "float": "float64", "bool": "boolean", "timestamp": "timestamp('UTC')"}
ISO_EXPECTED = "ISO 8601, e.g. 2024-03-31 or 2024-03-31T14:05:00Z"


@dataclass
class Failure:
    """One check: its boolean column, the canonical column it is about, and the reason, one
    text or one per row of the failing rows once they are fetched."""

    flag: str
    column: str
    check: str
    reason: str | Callable[[pd.DataFrame], np.ndarray]
    level: str = "row"


@dataclass
class CheckedTable:
    """Every row of one source: ``_row``, the export's values as written (``_x_`` + name),
    the canonical columns coerced, the export's other columns, and one flag per failure."""

    table: str
    source: str
    rows: ibis.Table
    exported: list[str]  # the export's columns, renamed
    extra: list[str]  # loaded beside the canonical columns
    headers: dict[str, str]
    failures: list[Failure]
    unmapped: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)
    optional: frozenset = frozenset()

    def failed(self, level: str = "row"):
        """Whether a row failed a check that costs the row (or, with ``level="cell"``, a cell)."""
        return _any(self.rows, self.failures, level)

    def loaded(self) -> ibis.Table:
        """The rows no check rejected, with each cell that failed a check emptied."""
        rows = self.rows.filter(~self.failed())
        columns = {}
        for name in column_rules(self.table):
            cells = [rows[f.flag] for f in self.failures if f.level == "cell" and f.column == name]
            columns[name] = ibis.ifelse(ibis.or_(*cells), ibis.null(rows[name].type()), rows[name]) if cells else rows[name]
        return rows.select("_row", **columns, **{name: rows[name] for name in self.extra})


def _any(rows: ibis.Table, failures: list[Failure], level: str = "row"):
    flags = [rows[f.flag] for f in failures if f.level == level]
    return ibis.or_(*flags) if flags else ibis.literal(False)


def checked_table(raw: ibis.Table, table: str, source: str, profile: Profile, now: pd.Timestamp) -> CheckedTable:
    """Map ``raw`` (with ``_row``) onto ``table`` and flag every failure, as ``validate_table`` does."""
    spec, rules = profile.table(table), column_rules(table)
    _refuse_pandas_only(spec, source)
    present = [c for c in raw.columns if c != "_row"]
    renames, headers = column_names(present, table, spec, rules, source)
    required_present(set(renames.values()), present, table, spec, rules, source)
    exported = [renames[c] for c in present]
    rows = raw.select("_row", **{f"_x_{renames[c]}": raw[c] for c in present})
    hidden, notes = _hidden_characters(rows, exported, source)
    cleaned = {name: _cleaned(rows[f"_x_{name}"], name in hidden, profile) for name in exported}
    failures: list[Failure] = []
    optional = frozenset(name for name, rule in rules.items() if not rule.required)
    columns, flags = {}, {}

    def fail(condition, column: str, check: str, reason) -> None:
        failure = Failure(f"_f{len(failures)}", column, check, reason, "cell" if column in optional and check in CELL_CHECKS else "row")
        failures.append(failure)
        flags[failure.flag] = condition.fill_null(False)

    id_column = ID_COLUMN[table]
    # no id used twice (nulls count as twice): no row can repeat another, nothing to compare
    repeats = bool(rows.group_by(id=cleaned[id_column]).aggregate(n=ibis._.count()).filter(ibis._.n > 1).count().execute())
    if repeats:  # identical in every column: the first is loaded
        first = rows._row.min().over(ibis.window(group_by=[cleaned[name] for name in exported]))
        flags["_exact_first"] = first
        fail(rows._row > first, "(all columns)", "exact_duplicate", lambda found: ("exact duplicate of row " + found["_exact_first"].astype(str)).to_numpy(object))
    unmapped = {}
    for name, rule in rules.items():
        if name not in cleaned:
            columns[name] = ibis.null(ENGINE_TYPES[rule.kind])
            continue
        columns[name], problems = _coerced(cleaned[name], rule, spec, profile, source)
        for condition, check, reason in problems:
            fail(condition, name, check, reason)
        if rule.allowed is not None:
            unmapped[name] = _unmapped_values(rows.select(value=cleaned[name]), rule, spec)
    extra = [name for name in exported if name not in rules]
    for name, counts in unmapped.items():
        if counts:  # the values as exported, beside what they were mapped to
            free = "category_raw" not in cleaned or not rows.select(v=cleaned["category_raw"]).v.notnull().any().execute()
            kept = "category_raw" if name == "trigger" and free else f"{name}_raw"
            text = cleaned[name].cast("string")
            columns[kept] = _blank_as_null(text) if kept == "category_raw" else text  # a canonical column: blank is missing
            if kept not in rules:
                extra.append(kept)
    rows = rows.mutate(**columns, **{name: cleaned[name] for name in extra if name in cleaned}, **flags)
    flags = {}
    for condition, column, check, reason in _row_checks(rows, rules, table, now, failures):
        fail(condition, column, check, reason)
    rows = rows.mutate(**flags)
    if repeats:  # a second use of an id, among rows otherwise sound
        sound = ~_any(rows, failures) & rows[id_column].notnull()
        first = ibis.ifelse(sound, rows._row, ibis.null("int64")).min().over(ibis.window(group_by=rows[id_column]))
        flags = {"_id_first": first}
        fail(sound & (rows._row > first), id_column, "duplicate_id", lambda found: (
            f"duplicate {id_column} (first seen at row " + found["_id_first"].astype("Int64").astype(str) + "; that row was kept)").to_numpy(object))
        rows = rows.mutate(**flags)
    return CheckedTable(table, source, rows, exported, extra, headers, failures, unmapped, notes, optional)


def _hidden_characters(rows: ibis.Table, exported: list[str], source: str) -> tuple[list[str], list[str]]:
    """The id columns holding invisible characters, and a note for each, as ``_visible_ids``."""
    ids = [c for c in ID_COLUMNS if c in exported and rows[f"_x_{c}"].type().is_string()]
    if not ids:
        return [], []
    measures = {}
    for column in ids:
        held = rows[f"_x_{column}"].re_search(ZERO_WIDTH).fill_null(False)
        measures[f"n_{column}"], measures[f"first_{column}"] = held.sum(), ibis.ifelse(held, rows._row, ibis.null("int64")).min()
    found = rows.aggregate(**measures).execute().iloc[0]
    hidden = [c for c in ids if whole(found[f"n_{c}"])]
    return hidden, [f"{source}: {int(found[f'n_{c}']):,} {c} values held invisible zero-width characters, removed "
                    f"(first at row {int(found[f'first_{c}'])})" for c in hidden]


def _refuse_pandas_only(spec: TableProfile, source: str) -> None:
    """What the profile asks that only the pandas loader does (a date layout is refused
    only where a column holds dates as text)."""
    if spec.events is not None:
        raise LoadError(f"{source}: an event log is folded into tickets by the pandas loader; load it without an engine")
    if spec.id_from_row:
        raise LoadError(f"{source}: ids made from row numbers need the file's row order; load it without an engine")


def whole(count) -> int:
    """A count an engine gave: a sum over no rows is null."""
    return 0 if pd.isna(count) else int(count)


def _cleaned(value, hidden: bool, profile: Profile):
    """A value as the checks see it: the profile's "no value" cells null, and in an id
    column that holds them (``hidden``), no invisible characters."""
    if not value.type().is_string():
        return value
    if profile.null_values:
        value = ibis.ifelse(value.isin(profile.null_values), ibis.null("string"), value)
    return value.re_replace(ZERO_WIDTH, "") if hidden else value


def _stripped(text):
    """``text`` without spaces around it. Not Ibis' ``strip``: on Spark it also strips the
    letter f (its list of spaces reaches Spark as ``\\f``, which Spark reads as ``f``)."""
    return text.re_replace(r"^\s+|\s+$", "")


def _blank_as_null(text):
    return ibis.ifelse(text == "", ibis.null("string"), text)


def _coerced(value, rule: ColumnRule, spec: TableProfile, profile: Profile, source: str):
    """``value`` as the rule's type, and the failures: (condition, check, reason)."""
    kind, dtype = rule.kind, value.type()
    mapping = spec.values.get(rule.name)
    if mapping and rule.allowed is None:
        value = _stripped(value.cast("string")).lower().substitute({k: str(v) for k, v in mapping.items()}, else_=value.cast("string"))
        dtype = value.type()
    if kind == "string":
        if rule.allowed is None:
            return _blank_as_null(value.cast("string")), []
        text = value.cast("string")
        targets = dict(mapping or {}) | {a: a for a in rule.allowed if a not in (mapping or {})}
        fallback = ibis.literal("other") if "other" in rule.allowed else ibis.null("string")
        mapped = _stripped(text).lower().substitute(targets, else_=fallback)
        canonical = [a for a in rule.allowed if a not in (mapping or {})]  # the common case: no work per row
        return ibis.cases((value.isnull(), ibis.null("string")), (text.isin(canonical), text), else_=mapped), []
    if kind == "timestamp":
        if dtype.is_timestamp() and dtype.timezone is not None:
            return value.cast(ENGINE_TYPES[kind]), []
        if spec.timezone != "UTC":
            raise LoadError(f"{source}: column {rule.name}: times without a zone read as {spec.timezone} go through the pandas loader (clock changes "
                            "need it); give them with their offset, or load without an engine")
        if dtype.is_timestamp() or dtype.is_date():
            return value.cast(ENGINE_TYPES[kind]), []
        if spec.date_format != "ISO8601":  # a typed column needs no layout; text does
            raise LoadError(f"{source}: column {rule.name}: dates written as {spec.date_format!r} are read by the pandas loader; give typed timestamps "
                            "or ISO 8601 text, or load without an engine")
        text = _blank_as_null(_stripped(value.cast("string")))
        parsed = text.try_cast(ENGINE_TYPES[kind])
        return parsed, [(text.notnull() & parsed.isnull(), "unparseable", f"not a valid date (expected {ISO_EXPECTED})")]
    if kind == "bool":
        if dtype.is_boolean():
            return value, []
        text = _blank_as_null(_stripped(value.cast("string")).lower())
        result = ibis.cases((text.isin(profile.true_values), True), (text.isin(profile.false_values), False), else_=ibis.null("boolean"))
        spelled = f"{'/'.join(profile.true_values[:3])} or {'/'.join(profile.false_values[:3])}"
        return result, [(text.notnull() & result.isnull(), "unparseable", f"not a yes/no value (expected {spelled})")]
    return _number(value, dtype, rule, profile)


def _number(value, dtype, rule: ColumnRule, profile: Profile):
    if dtype.is_integer() or (dtype.is_floating() and rule.kind == "float"):
        return value.cast(ENGINE_TYPES[rule.kind]), []
    problems = []
    if dtype.is_floating() or dtype.is_decimal():
        numbers = value.cast("float64")
    else:
        text = _blank_as_null(_stripped(value.cast("string")))
        plain = ibis.ifelse(text.re_search(f"^(?:{number_pattern(profile.decimal, profile.thousands)})$"), text, ibis.null("string"))
        if profile.thousands:
            plain = plain.replace(profile.thousands, "")
        if profile.decimal != ".":
            plain = plain.replace(profile.decimal, ".")
        numbers = plain.try_cast("float64")
        failed = text.notnull() & numbers.isnull()
        example = f"1{profile.thousands}234{profile.decimal}5" if rule.kind == "float" else f"1{profile.thousands}234"
        digits = text.re_search(r"\d")
        problems += [
            (failed & digits, "unparseable", f"not a number (expected {rule.expected()}, written like {example}; "
                                            "set [format] decimal and thousands in the profile)"),
            (failed & ~digits, "unparseable", f"not a number (expected {rule.expected()})"),
        ]
    if rule.kind == "int":
        fractional = numbers.notnull() & (numbers != numbers.round())
        huge = numbers.abs() > 2**53  # beyond what a whole number can hold exactly
        problems += [(fractional, "unparseable", f"not a whole number (expected {rule.expected()})"),
                     (huge, "out_of_range", f"out of range (expected {rule.expected()})")]
        numbers = ibis.ifelse(fractional.fill_null(False) | huge.fill_null(False), ibis.null("float64"), numbers.round())
    return numbers.cast(ENGINE_TYPES[rule.kind]), problems


def _unmapped_values(values: ibis.Table, rule: ColumnRule, spec: TableProfile) -> dict[str, int]:
    """Values (``values.value``) the taxonomy and the profile's map do not name, and their
    rows: few come back."""
    text = values.value.cast("string")
    known = [*(spec.values.get(rule.name) or {}), *rule.allowed]
    # a value written as the taxonomy writes it needs no cleaning: most rows, most exports
    unknown = ibis.cases((text.isnull() | text.isin(known), False), else_=~_stripped(text).lower().isin(known))
    found = values.filter(unknown).group_by(value=text).aggregate(rows=ibis._.count()).execute()
    return {str(v): int(n) for v, n in zip(found["value"], found["rows"], strict=True)}


def _row_checks(rows: ibis.Table, rules: dict[str, ColumnRule], table: str, now: pd.Timestamp, failures: list[Failure]):
    """Required values, ranges, plausible dates and the order of events, as ``_check_rows``."""
    earliest, latest = ibis.literal(EARLIEST.to_pydatetime(), "timestamp('UTC')"), ibis.literal(now.to_pydatetime(), "timestamp('UTC')")
    for name, rule in rules.items():
        column = rows[name]
        if rule.required:
            already = [rows[f.flag] for f in failures if f.column == name and f.level == "row"]
            yield column.isnull() & ~(ibis.or_(*already) if already else ibis.literal(False)), name, "missing_required", f"missing required value (expected {rule.expected()})"
        if rule.kind == "timestamp":
            yield column < earliest, name, "implausible_date", "date before 1970, most likely a placeholder"
            if name != "contract_end":  # a renewal date may lie ahead
                yield column > latest, name, "future_date", f"date in the future (after the load time {now:%Y-%m-%d %H:%M} UTC)"
        elif rule.kind in ("int", "float"):
            reason = f"out of range (expected {rule.expected()})"
            if rule.minimum is not None:
                yield column < rule.minimum, name, "out_of_range", reason
            if rule.maximum is not None:
                yield column > rule.maximum, name, "out_of_range", reason
    pairs = [(name, "opened_at") for name in ORDERED_AFTER_OPENING] if table == "complaints" else []
    pairs += [("contract_end", "contract_start")] if table == "clients" else []
    for later, earlier in pairs:
        yield rows[later] < rows[earlier], later, "order", f"{later} is before {earlier}"
