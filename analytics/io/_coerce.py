"""Values as the export wrote them, made into the canonical column types.

Each function takes one column and gives it back coerced; a value that cannot be read is
recorded in ``problems`` with what was expected, and becomes missing. Taxonomy values the
profile does not map are counted in ``unmapped``. Text is worked on once per distinct value
where that is the cost (value maps, numbers): most columns of an export repeat few values.
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.io._errors import LoadError
from analytics.io._problems import Problems
from analytics.io._profile import Profile, TableProfile
from analytics.schemas import ColumnRule

STRING = pd.ArrowDtype(pa.string())


def coerce(values: pd.Series, rule: ColumnRule, spec: TableProfile, profile: Profile, problems: Problems, unmapped, frame, raw_text: bool,
           source: str) -> pd.Series:
    """``values`` as ``rule``'s type, with each failure recorded in ``problems``."""
    arrow = _arrow_type(values)
    mapping = spec.values.get(rule.name)
    if mapping and rule.allowed is None:
        codes, distinct = _distinct(values)
        keys = distinct.str.strip().str.lower()
        # a value the map does not name stays as written
        values = _spread(pa.array([str(mapping.get(key, value)) for key, value in zip(keys, distinct, strict=True)], pa.string()), codes, values.index)
        arrow = pa.string()
    kind = rule.kind
    if kind == "string":
        if rule.allowed is not None:
            return _map_taxonomy(values, rule, mapping or {}, problems, unmapped, frame)
        text = values.astype(STRING)
        if raw_text:
            text = text.str.strip()
        return _blank_as_null(text)
    if kind == "timestamp":
        return _coerce_timestamp(values, arrow, rule, spec, problems, frame, source)
    if kind == "bool":
        return _coerce_bool(values, arrow, rule, profile, problems)
    return _coerce_number(values, arrow, rule, problems, profile)


def _distinct(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Each value's code and the distinct values as text (code -1: missing)."""
    codes, distinct = pd.factorize(values.astype(STRING).array)
    return codes, pd.Series(distinct, dtype=STRING)


def _spread(per_value: pa.Array, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """What was found per distinct value, back on every row (missing where the code is -1)."""
    taken = per_value.take(pa.array(codes, mask=codes < 0))
    return pd.Series(pd.arrays.ArrowExtensionArray(taken), index=index)


def _arrow_type(values: pd.Series) -> pa.DataType:
    if isinstance(values.dtype, pd.ArrowDtype):
        return values.dtype.pyarrow_dtype
    return pa.Array.from_pandas(values.head(1000)).type


def true_mask(condition: pd.Series) -> np.ndarray:
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
        return _dates_from_text(values, rule, spec, problems, frame["_row"].to_numpy(), source)
    parsed = parsed.dt.tz_convert("UTC") if hasattr(parsed, "dt") else parsed
    return parsed.astype(rule.dtype)


def _dates_from_text(values, rule, spec, problems: Problems, rows: np.ndarray, source: str) -> pd.Series:
    """Dates written as text, parsed once per distinct value: an event log repeats a ticket's
    opening time on each of its events, and parsing is the cost."""
    codes, distinct = _distinct(values)
    first_rows = rows[np.unique(codes, return_index=True)[1][1 if (codes < 0).any() else 0:]] if len(codes) else rows
    found = Problems(len(distinct))
    parsed = _parse_dates(_blank_as_null(distinct.str.strip()), rule, spec, found, first_rows, source)
    for mask, column, check, reason in found.items:
        problems.add(np.append(mask, False)[codes], column, check, reason)  # a date's reason is one text per check
    parsed = pd.Series(parsed).dt.tz_convert("UTC").astype(rule.dtype)
    return _spread(pa.array(parsed.array), codes, values.index)


#: a time written with its offset from UTC ("...T14:05:00Z", "... 14:05+01:00")
WITH_OFFSET = r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
#: a date that begins day and month in either order: 05/03/2024, 5.3.24, 05-03-2024
DAY_MONTH = r"^(?P<first>\d{1,2})[/.-](?P<second>\d{1,2})[/.-]\d{2,4}(?:\D|$)"


#: date formats written as a count since 1970-01-01 UTC (APIs such as Intercom's), and their unit
UNIX_TIME = {"unix_seconds": "s", "unix_milliseconds": "ms"}


def _parse_dates(text, rule, spec, problems, rows: np.ndarray, source) -> pd.Series:
    """Dates as the profile writes them; those written without an offset are in the profile's
    time zone, those with one keep it, and a failure says what was expected."""
    if spec.date_format in UNIX_TIME:
        unit = UNIX_TIME[spec.date_format]
        counts = pd.to_numeric(text, errors="coerce").astype("float64")
        within = counts.abs() < pd.Timestamp.max.value / pd.Timedelta(1, unit).value  # beyond a timestamp's range: unreadable, not a crash
        parsed = pd.to_datetime(counts.where(within), unit=unit, utc=True, errors="coerce")
        example = "1700000000" if unit == "s" else "1700000000000"
        problems.add(_failed(text, parsed), rule.name, "unparseable", f"not a valid date (expected {spec.date_format.replace('_', ' ')} since 1970-01-01 UTC, e.g. {example})")
        return parsed
    dayfirst = _day_first(text, rule.name, rows, source, spec.day_first, problems) if spec.date_format == "mixed" else False
    expected = "ISO 8601, e.g. 2024-03-31 or 2024-03-31T14:05:00Z" if spec.date_format == "ISO8601" else spec.date_format
    if spec.timezone == "UTC":
        parsed = _to_datetime(text, spec.date_format, dayfirst, utc=True)
        problems.add(_failed(text, parsed), rule.name, "unparseable", f"not a valid date (expected {expected})")
        return parsed
    has_offset = np.asarray(text.str.contains(WITH_OFFSET, regex=True).fillna(False), bool)
    if "%z" in spec.date_format:  # the format gives every value its offset
        has_offset = np.asarray(text.notna(), bool)
    aware = _to_datetime(text.where(has_offset), spec.date_format, dayfirst, utc=True)
    naive = _to_datetime(text.where(~has_offset), spec.date_format, dayfirst, utc=False)
    read = np.where(has_offset, aware.notna(), naive.notna())
    problems.add(np.asarray(text.notna(), bool) & ~read, rule.name, "unparseable", f"not a valid date (expected {expected})")
    local = _localize(naive, spec.timezone, rule.name, problems)
    return aware.where(has_offset, local.dt.tz_convert("UTC"))


def _to_datetime(text: pd.Series, date_format: str, dayfirst: bool, utc: bool) -> pd.Series:
    """``pandas.to_datetime`` with a failure as missing, faster. A layout of days, months,
    years, hours, minutes and seconds not in ISO 8601's order is read by Arrow first; mixed dates are tried against
    the usual written layouts in the column's order. Only values none of them reads go to
    pandas' parser (value by value, for mixed dates), which has the last word."""
    layouts = _layouts(dayfirst) if date_format == "mixed" else [date_format]
    if not any(map(_arrow_reads, layouts)):
        return pd.to_datetime(text, format=date_format, errors="coerce", utc=utc)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]" if utc else "datetime64[ns]")
    left = np.asarray(text.notna(), bool)
    if len(layouts) > 1:  # those that read most of a sample first
        sample = text[left].head(50)
        layouts.sort(key=lambda layout: -pd.to_datetime(sample, format=layout, errors="coerce", utc=True).notna().sum())
    for layout in layouts:
        if not left.any():
            return parsed
        read = _read_layout(text[left], layout, utc) if _arrow_reads(layout) else pd.to_datetime(text[left], format=layout, errors="coerce", utc=utc)
        if read.dt.tz is not None and not utc:  # the layout carried an offset: left to pandas' parser
            continue
        parsed[left] = read
        left &= np.asarray(parsed.isna(), bool)
    if left.any():
        parsed[left] = pd.to_datetime(text[left], format=date_format, errors="coerce", utc=utc, dayfirst=dayfirst)
    return parsed


def _arrow_reads(layout: str) -> bool:
    """Whether Arrow reads a layout faster than pandas: one of only the directives
    ``_read_layout`` checks, and not ISO 8601's order, which pandas reads fastest."""
    directives = set(re.findall(r"%.", layout))  # none in "ISO8601" or "mixed": pandas' own
    return "%%" not in layout and bool(directives) and directives <= set(DIRECTIVES) and not layout.startswith("%Y-%m-%d")


#: what each directive of a fixed layout matches, and the part of a time it gives; years
#: are those a timestamp can hold (others are left to the general parser)
DIRECTIVES = {"%d": (r"\d{1,2}", "day"), "%m": (r"\d{1,2}", "month"), "%Y": (r"(?:1[7-9]|2[01])\d\d", "year"),
              "%H": (r"\d{1,2}", "hour"), "%M": (r"\d{1,2}", "minute"), "%S": (r"\d{1,2}", "second")}


def _read_layout(text: pd.Series, layout: str, utc: bool) -> pd.Series:
    """Dates in one fixed layout, read by Arrow's parser. That parser rolls an impossible
    date over (31/02 becomes 2 March) and takes a year of any width, so a value is kept only
    where each of its parts reads back as written."""
    values = pa.array(text.array, pa.string())
    parsed = pc.strptime(values, format=layout, unit="us", error_is_null=True)
    pieces = re.split(r"(%[dmYHMS])", layout)
    pattern = "".join(f"(?P<{DIRECTIVES[p][1]}>{DIRECTIVES[p][0]})" if p in DIRECTIVES else re.sub(r"([.\\^$|?*+()\[\]{}])", r"\\\1", p) for p in pieces)
    written = pc.extract_regex(values, f"^{pattern}$")
    agrees = pc.is_valid(written)
    for piece in pieces:
        if piece in DIRECTIVES:
            part = DIRECTIVES[piece][1]
            agrees = pc.and_kleene(agrees, pc.equal(pc.struct_field(written, part).cast(pa.int64()), getattr(pc, part)(parsed)))
    kept = pd.Series(pc.if_else(pc.fill_null(agrees, False), parsed, None).to_numpy(zero_copy_only=False), index=text.index).astype("datetime64[ns]")
    return kept.dt.tz_localize("UTC") if utc else kept


def _layouts(dayfirst: bool) -> list[str]:
    """Fixed layouts a mixed date column usually holds, ISO 8601 first."""
    day_month = "%d{0}%m{0}%Y" if dayfirst else "%m{0}%d{0}%Y"
    return ["ISO8601"] + [day_month.format(separator) + time for separator in "/.-" for time in (" %H:%M:%S", " %H:%M", "")]


def _localize(naive: pd.Series, timezone: str, column: str, problems: Problems) -> pd.Series:
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


def _day_first(text: pd.Series, column: str, rows: np.ndarray, source: str, declared: bool | None, problems: Problems) -> bool:
    """Whether a column of mixed dates writes the day before the month (``rows``: each
    value's row, for the examples a message gives). The column decides
    as a whole, never value by value: the profile's ``order``, else a value only one order
    can read (13/03). A column that gives no such value, or both kinds, is reported; with a
    declared order, a value written the other way is quarantined."""
    parts = pc.extract_regex(pa.array(text.array, pa.string()), DAY_MONTH)
    first, second = (pd.Series(pc.struct_field(parts, part).cast(pa.int64()).to_numpy(zero_copy_only=False), dtype="Float64") for part in ("first", "second"))
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
    text = _blank_as_null(values.astype(STRING).str.strip().str.lower())  # Arrow writes 1.0 as "1"
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
        codes, distinct = _distinct(values)
        text = _blank_as_null(distinct.str.strip())
        # a value that does not follow the profile's separators is refused, never reinterpreted
        written = text.str.fullmatch(number_pattern(profile.decimal, profile.thousands)).fillna(False)
        plain = text.where(written)
        if profile.thousands:
            plain = plain.str.replace(profile.thousands, "", regex=False)
        if profile.decimal != ".":
            plain = plain.str.replace(profile.decimal, ".", regex=False)
        parsed = pd.to_numeric(plain, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        numbers = _spread(pa.array(parsed, from_pandas=True), codes, values.index)
        example = f"1{profile.thousands}234{profile.decimal}5" if rule.kind == "float" else f"1{profile.thousands}234"
        failed = np.append(_failed(text, pd.Series(parsed)), False)[codes]  # code -1: a missing value, not a failure
        if failed.any():  # a value with digits may be written with other separators: say which the profile expects
            digits = np.append(np.asarray(text.str.contains(r"\d", regex=True).fillna(False), bool), False)[codes]
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
    text = values.astype(STRING)
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


def _blank_as_null(text: pd.Series) -> pd.Series:
    """An empty string is a missing value (a cheap test first: most columns have none)."""
    blank = pc.equal(pa.array(text.array), "")
    return text.mask(text == "") if pc.any(blank).as_py() else text


def distinct_values(values: pd.Series) -> list:
    """The distinct non-null values, by DuckDB's parallel hash aggregate."""
    with duckdb.connect() as connection:
        connection.register("v", pa.Table.from_pandas(values.to_frame("v"), preserve_index=False))
        return [row[0] for row in connection.sql("SELECT DISTINCT v FROM v WHERE v IS NOT NULL").fetchall()]
