"""Profiles: how one kind of export maps onto the canonical tables.

A profile is a TOML file; ``analytics/profiles/template.toml`` documents every key.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import available_timezones

from analytics.schemas import MODELS, column_rules

PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"
TABLES = tuple(MODELS)

DEFAULT_TRUE = ("true", "t", "yes", "y", "1")
DEFAULT_FALSE = ("false", "f", "no", "n", "0")


class ProfileError(ValueError):
    """A profile file that cannot be used, with what to change in it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from analytics.io import ProfileError, load_profile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mine.toml"
    >>> _ = path.write_text("name = 'mine'\\n[complaints]\\ndate_format = 42\\n")
    >>> try:
    ...     load_profile(path)
    ... except ProfileError as error:
    ...     print(str(error).replace(str(path), "mine.toml"))
    profile mine.toml: unknown key 'complaints.date_format'; expected one of files, sql, id_from, columns, optional_columns, values, dates, events
    """


@dataclass(frozen=True)
class EventLog:
    """How to fold an event log (one row per state change) into one row per ticket."""

    ticket: str
    at: str
    status: str
    first_response: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()
    closed: tuple[str, ...] = ()
    #: where a ticket's opening, first response, resolution and closing come from when the
    #: export also carries them: "export" (its own columns win, the events fill the gaps) or "events"
    times_from: str = "export"


@dataclass(frozen=True)
class TableProfile:
    columns: dict[str, str] = field(default_factory=dict)
    optional_columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str = "ISO8601"
    timezone: str = "UTC"
    day_first: bool | None = None  # for format "mixed": the order the export writes 05/03 in, if known
    id_from_row: bool = False
    files: tuple[str, ...] = ()
    sql: str | None = None
    events: EventLog | None = None


@dataclass(frozen=True)
class Profile:
    """How to read one kind of export: its delimiter, encoding, yes/no words and number
    separators, and per canonical table its files or SQL, column names, value maps and date
    layout. Built from a TOML file by :func:`load_profile`.

    Examples
    --------
    >>> from analytics.io import load_profile
    >>> generic = load_profile("generic")
    >>> generic.decimal, generic.table("complaints").date_format
    ('.', 'ISO8601')
    """

    name: str
    description: str = ""
    delimiter: str = "auto"
    encoding: str = "auto"
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    decimal: str = "."
    thousands: str = ","
    null_values: tuple[str, ...] = ()  # cells meaning "no value" besides the empty cell
    tables: dict[str, TableProfile] = field(default_factory=dict)
    path: Path | None = None

    def table(self, name: str) -> TableProfile:
        return self.tables.get(name, TableProfile(files=(f"{name}.*",), sql=name))


def available_profiles() -> list[str]:
    """Names of the profiles shipped with the package.

    Examples
    --------
    >>> from analytics.io import available_profiles
    >>> "generic" in available_profiles(), "cfpb" in available_profiles()
    (True, True)
    """
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml") if p.stem != "template")


def load_profile(profile: str | Path | Profile) -> Profile:
    """A shipped profile by name, or a profile TOML file by path (relative to the current
    folder). A profile may start from another with ``extends = "cfpb"`` (a shipped name, or
    a path relative to the extending file) and change only what differs.

    Examples
    --------
    >>> from analytics.io import load_profile
    >>> profile = load_profile("cfpb")
    >>> profile.name, sorted(profile.tables)
    ('cfpb', ['complaints'])
    """
    if isinstance(profile, Profile):
        return profile
    raw, path = _read_with_bases(profile, Path.cwd(), seen=())
    return _parse(raw, path)


def _read_with_bases(profile: str | Path, folder: Path, seen: tuple) -> tuple[dict, Path]:
    path = _locate(profile, folder)
    if path in seen:
        raise ProfileError(f"profile {path}: extends itself through {' -> '.join(map(str, seen))}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"profile {path} is not valid TOML: {error}") from error
    _check_keys(raw, SCHEMA, path, "")
    base = raw.pop("extends", None)
    if base is None:
        return raw, path
    base_raw, _ = _read_with_bases(base, path.parent, (*seen, path))
    base_raw.pop("name", None)
    base_raw.pop("description", None)
    return _merged(base_raw, raw), path


def _locate(profile: str | Path, folder: Path) -> Path:
    path = Path(profile)
    if not path.suffix:
        shipped = PROFILE_DIR / f"{profile}.toml"
        if not shipped.exists():
            raise ProfileError(
                f"no profile named {profile!r}; shipped profiles: "
                f"{', '.join(available_profiles())}, or give the path of a .toml file"
            )
        return shipped
    path = path if path.is_absolute() else folder / path
    if not path.exists():
        raise ProfileError(f"profile file {path} does not exist")
    return path.resolve()


def _merged(base: dict, override: dict) -> dict:
    """``override`` laid over ``base``: tables of settings merge key by key, other values replace."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


#: every key a profile may hold; a dict is a section, ``...`` a section of free keys (column or value names)
_TABLE = {"files": None, "sql": None, "id_from": None, "columns": ..., "optional_columns": ..., "values": ...,
          "dates": {"format": None, "timezone": None, "order": None},
          "events": {"ticket": None, "at": None, "status": None, "first_response": None, "resolved": None, "closed": None, "times_from": None}}
SCHEMA = {"name": None, "description": None, "extends": None, "csv": {"delimiter": None, "encoding": None},
          "booleans": {"true": None, "false": None}, "format": {"decimal": None, "thousands": None, "null_values": None},
          **{table: _TABLE for table in TABLES}}


def _check_keys(raw: dict, schema: dict, path: Path, where: str) -> None:
    """A misspelt key is an error naming the closest valid one, not a setting silently ignored."""
    for key, value in raw.items():
        name = f"{where}.{key}" if where else key
        if key not in schema:
            near = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
            raise ProfileError(f"profile {path}: unknown key {name!r}" + (f"; did you mean {(where + '.' if where else '') + near[0]!r}?" if near
                               else f"; expected one of {', '.join(schema)}"))
        if isinstance(schema[key], dict):
            if not isinstance(value, dict):
                raise ProfileError(f"profile {path}: {name!r} must be a section ([{name}]), not {value!r}")
            _check_keys(value, schema[key], path, name)


def _parse(raw: dict, path: Path) -> Profile:
    csv = raw.get("csv", {})
    booleans = raw.get("booleans", {})
    formats = raw.get("format", {})
    decimal, thousands = formats.get("decimal", "."), formats.get("thousands", ",")
    if decimal not in (".", ",") or thousands not in ("", ",", ".", " ", "'", "\u00a0", "\u202f") or decimal == thousands:
        raise ProfileError(
            f"profile {path}: [format] decimal = {decimal!r} and thousands = {thousands!r} cannot both hold; "
            'use decimal "." or ",", and a different thousands separator ("," "." " " "\'" or "" for none)'
        )
    tables = {name: _parse_table(raw[name], name, path) for name in TABLES if name in raw}
    return Profile(
        name=raw.get("name", path.stem),
        description=raw.get("description", ""),
        delimiter=csv.get("delimiter", "auto"),
        encoding=csv.get("encoding", "auto"),
        true_values=tuple(v.lower() for v in booleans.get("true", DEFAULT_TRUE)),
        false_values=tuple(v.lower() for v in booleans.get("false", DEFAULT_FALSE)),
        decimal=decimal,
        thousands=thousands,
        null_values=tuple(str(v) for v in formats.get("null_values", ())),
        tables=tables,
        path=path,
    )


def _parse_table(raw: dict, table: str, path: Path) -> TableProfile:
    rules = column_rules(table)
    values = raw.get("values", {})
    for column in values:
        if column not in rules or rules[column].allowed is None:
            continue  # a plain value map, e.g. priority words onto severity numbers
        for export_value, canonical in values[column].items():
            if canonical not in rules[column].allowed:
                raise ProfileError(
                    f"profile {path}: [{table}.values.{column}] maps {export_value!r} to "
                    f"{canonical!r}, expected {rules[column].expected()}"
                )
    events = raw.get("events")
    if events and events.get("times_from", "export") not in ("export", "events"):
        raise ProfileError(f"profile {path}: [{table}.events] times_from = {events['times_from']!r}; expected \"export\" or \"events\"")
    dates = raw.get("dates", {})
    timezone = dates.get("timezone", "UTC")
    if timezone not in available_timezones():
        near = difflib.get_close_matches(timezone, sorted(available_timezones()), n=3)
        raise ProfileError(f"profile {path}: [{table}.dates] timezone {timezone!r} is not a time zone name"
                           + (f"; closest: {', '.join(near)}" if near else "; use an IANA name such as Europe/Berlin or UTC"))
    order = dates.get("order")
    if order not in (None, "day_first", "month_first"):
        raise ProfileError(f"profile {path}: [{table}.dates] order = {order!r}; expected \"day_first\" or \"month_first\"")
    files = raw.get("files", [f"{table}.*"])
    return TableProfile(
        columns=dict(raw.get("columns", {})),
        optional_columns=dict(raw.get("optional_columns", {})),
        values={c: {str(k).strip().lower(): v for k, v in m.items()} for c, m in values.items()},
        date_format=dates.get("format", "ISO8601"),
        timezone=timezone,
        day_first=None if order is None else order == "day_first",
        id_from_row=raw.get("id_from") == "row",
        files=tuple([files] if isinstance(files, str) else files),
        sql=raw.get("sql", table),
        events=EventLog(**{k: tuple(v) if isinstance(v, list) else v for k, v in events.items()})
        if events
        else None,
    )


def snake_case(header: str) -> str:
    """``'Consumer consent provided?'`` -> ``'consumer_consent_provided'``."""
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_") or "column"


def closest(name: str, candidates, n: int = 3) -> list[str]:
    """The headers most like ``name``, for 'did you mean' messages."""
    by_key = {snake_case(c): c for c in candidates}
    matches = difflib.get_close_matches(snake_case(name), list(by_key), n=n, cutoff=0.5)
    return [by_key[m] for m in matches]
