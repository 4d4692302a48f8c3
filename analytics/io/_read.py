"""Reading sources into raw tables: every column as the export has it, plus ``_row``.

``_row`` is the 1-based number of the data row in its source (the header is not
counted), so a message can point a person at the row in their own file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from analytics.io._errors import LoadError
from analytics.io._profile import Profile

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
DELIMITERS = [",", ";", "\t", "|"]
Progress = Callable[[int, int], None]


@dataclass
class RawTable:
    """One source's rows for one canonical table, before mapping and checks."""

    source: str
    frame: pd.DataFrame
    malformed: list[tuple[int, str, str]] = field(default_factory=list)  # (row, text, reason)
    encoding: str | None = None
    text: bool = False  # read from text (CSV, Excel): values may carry stray spaces


def is_database_url(source) -> bool:
    return isinstance(source, str) and "://" in source


def read_sources(source, profile: Profile, progress: Progress | None = None) -> dict[str, list[RawTable]]:
    """Every table the source holds, as raw tables keyed by canonical table name."""
    if is_database_url(source):
        return _read_database(source, profile)
    path = Path(source)
    if not path.exists():
        raise LoadError(f"{path}: no such file or folder; give a folder of exports, a file, or a database URL")
    if path.is_dir():
        found = {}
        for table in ("clients", "complaints", "interactions"):
            files = _matching_files(path, profile.table(table).files)
            if files:
                found[table] = [_read_file(f, profile, progress) for f in files]
        if "complaints" not in found:
            patterns = ", ".join(profile.table("complaints").files)
            raise LoadError(
                f"{path}: no complaints file found (looked for {patterns}); "
                f"name the file complaints.csv or set [complaints] files in the profile"
            )
        return found
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_workbook(path, profile)
    return {"complaints": [_read_file(path, profile, progress)]}


def _matching_files(folder: Path, patterns) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        files += [
            p
            for p in sorted(folder.glob(pattern))
            if p.is_file() and p.suffix.lower() in CSV_SUFFIXES | PARQUET_SUFFIXES | EXCEL_SUFFIXES
            and p not in files
        ]
    return files


def _read_file(path: Path, profile: Profile, progress: Progress | None) -> RawTable:
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise LoadError(f"{path}: the file is empty; export it again with a header row and data rows")
    if suffix in PARQUET_SUFFIXES:
        try:
            frame = pq.read_table(path).to_pandas(types_mapper=pd.ArrowDtype)
        except (pa.ArrowInvalid, OSError) as error:
            raise LoadError(f"{path}: not a readable Parquet file ({error})") from error
        return _numbered(RawTable(str(path), frame))
    if suffix in EXCEL_SUFFIXES:
        sheets = _read_workbook(path, profile)
        return next(iter(sheets.values()))[0]
    return _read_csv(path, profile, progress)


def _read_workbook(path: Path, profile: Profile) -> dict[str, list[RawTable]]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str)
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise LoadError(f"{path}: not a readable Excel workbook ({error})") from error
    found = {}
    for table in ("clients", "complaints", "interactions"):
        names = [s for s in sheets if s.strip().lower() == table]
        if names:
            found[table] = [_numbered(RawTable(f"{path}[{names[0]}]", _as_arrow_strings(sheets[names[0]]), text=True))]
    if "complaints" not in found:
        if len(sheets) == 1:
            name, frame = next(iter(sheets.items()))
            found["complaints"] = [_numbered(RawTable(f"{path}[{name}]", _as_arrow_strings(frame), text=True))]
        else:
            raise LoadError(
                f"{path}: no sheet named 'complaints' among {list(sheets)}; "
                f"name the sheets clients, complaints and interactions"
            )
    return found


def _as_arrow_strings(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(pd.ArrowDtype(pa.string()))


def _numbered(raw: RawTable, rows=None) -> RawTable:
    numbers = np.arange(1, len(raw.frame) + 1) if rows is None else np.asarray(rows, dtype=np.int64)
    raw.frame["_row"] = pd.arrays.ArrowExtensionArray(pa.array(numbers))
    return raw


# --- CSV ---------------------------------------------------------------------


def detect_encoding(path: Path, sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8"  # the BOM is skipped by the reader
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in sample:
        raise LoadError(
            f"{path}: holds binary data (NUL bytes), not delimited text; "
            f"export it again as CSV (UTF-8 or Latin-1)"
        )
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 4:  # not just a character cut by the sample's end
            return "cp1252"
    return "utf-8"


def sniff_delimiter(path: Path, text: str, wanted: str) -> str:
    header = text.splitlines()[0] if text.splitlines() else ""
    counts = {d: next(csv.reader([header], delimiter=d), []).__len__() for d in DELIMITERS}
    best = max(counts, key=counts.get)
    if wanted == "auto":
        return best
    if counts[wanted] == 1 and counts[best] > 1:
        name = {"\t": "\\t"}.get(best, best)
        raise LoadError(
            f"{path}: the header has a single column when split on {wanted!r}, but "
            f"{counts[best]} columns when split on {name!r}; the file uses another delimiter: "
            f'set [csv] delimiter = "{name}" in the profile (or "auto")'
        )
    return wanted


def _read_csv(path: Path, profile: Profile, progress: Progress | None) -> RawTable:
    with path.open("rb") as handle:
        sample = handle.read(1 << 20)
    if not sample.strip():
        raise LoadError(f"{path}: the file is empty; export it again with a header row and data rows")
    encoding = profile.encoding if profile.encoding != "auto" else detect_encoding(path, sample)
    text = sample.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    delimiter = sniff_delimiter(path, text, profile.delimiter)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        repeated = sorted({h for h in header if header.count(h) > 1})
        raise LoadError(f"{path}: the header repeats column(s) {repeated}; each column needs its own name")
    try:
        return _read_csv_arrow(path, header, delimiter, encoding, progress)
    except UnicodeDecodeError:
        return _read_csv_arrow(path, header, delimiter, "cp1252", progress)
    except pa.ArrowInvalid as error:
        if "UTF8" in str(error) and encoding == "utf-8":
            return _read_csv_arrow(path, header, delimiter, "cp1252", progress)
        raise LoadError(f"{path}: cannot be read as delimited text ({error})") from error


def _read_csv_arrow(path, header, delimiter, encoding, progress) -> RawTable:
    malformed_seen = []
    types = {h: pa.string() for h in header}
    read_options = pa_csv.ReadOptions(
        encoding=encoding, column_names=header, skip_rows=1, block_size=16 << 20
    )
    parse_options = pa_csv.ParseOptions(
        delimiter=delimiter,
        newlines_in_values=True,
        invalid_row_handler=lambda row: malformed_seen.append(row) or "skip",
    )
    convert_options = pa_csv.ConvertOptions(
        column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=True
    )
    total = path.stat().st_size
    reader = pa_csv.open_csv(path, read_options, parse_options, convert_options)
    batches, done = [], 0
    for batch in reader:
        batches.append(batch)
        done += batch.nbytes
        if progress:
            progress(min(done, total), total)
    table = pa.Table.from_batches(batches, schema=reader.schema)
    if progress:
        progress(total, total)
    if malformed_seen:
        # Arrow does not say where a malformed row was: read again, slowly, to number every row.
        return _read_csv_numbered(path, header, delimiter, encoding)
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return _numbered(RawTable(str(path), frame, encoding=encoding, text=True))


def _read_csv_numbered(path, header, delimiter, encoding) -> RawTable:
    rows, numbers, malformed = [], [], []
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        next(reader)
        for number, row in enumerate(reader, start=1):
            if len(row) == len(header):
                rows.append(row)
                numbers.append(number)
            elif row:  # a blank line is no row
                reason = f"has {len(row)} fields, expected {len(header)} (delimiter {delimiter!r})"
                malformed.append((number, delimiter.join(row), reason))
    frame = pd.DataFrame(rows, columns=header, dtype=pd.ArrowDtype(pa.string()))
    for column in header:
        frame[column] = frame[column].mask(frame[column] == "")
    return _numbered(RawTable(str(path), frame, malformed, encoding, text=True), numbers)


# --- databases -----------------------------------------------------------------


def _read_database(url: str, profile: Profile) -> dict[str, list[RawTable]]:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except Exception as error:
        raise LoadError(f"{_safe_url(url)}: not a usable database URL ({error})") from error
    found = {}
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            present = set(inspector.get_table_names())
            for table in ("clients", "complaints", "interactions"):
                query = profile.table(table).sql
                is_query = query.lstrip().lower().startswith(("select", "with"))
                if not is_query and query not in present:
                    continue
                sql = sa.text(query) if is_query else sa.select(sa.text("*")).select_from(sa.table(query))
                frame = pd.read_sql(sql, connection, dtype_backend="pyarrow")
                found[table] = [_numbered(RawTable(f"{_safe_url(url)}#{table}", frame))]
    except sa.exc.SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        raise LoadError(f"{_safe_url(url)}: the database could not be read ({cause})") from error
    finally:
        engine.dispose()
    if "complaints" not in found:
        raise LoadError(
            f"{_safe_url(url)}: no complaints table; set [complaints] sql to its table name or a query in the profile"
        )
    return found


def _safe_url(url: str) -> str:
    """The URL without its password, for messages and reports."""
    try:
        import sqlalchemy as sa

        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def iter_tables(found: dict[str, list[RawTable]]) -> Iterator[tuple[str, RawTable]]:
    for table, raws in found.items():
        for raw in raws:
            yield table, raw
