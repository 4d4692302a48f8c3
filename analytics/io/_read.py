"""Reading sources into raw tables: every column as the export has it, plus ``_row``.

``_row`` is the 1-based number of the data row in its source (the header is not
counted), so a message can point a person at the row in their own file.

Long because each kind of file (CSV in three ways, Parquet, Excel, compressed) needs its
own reader of rows and row numbers; databases are read in ``_database``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from analytics._engine import is_url
from analytics.io._errors import LoadError
from analytics.io._profile import Profile

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
COMPRESSED_SUFFIXES = {".gz": gzip, ".bz2": bz2}  # exports are often shipped compressed
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
    """Whether ``source`` names a database (``sqlite:///…``, ``duckdb:///…``,
    ``postgresql://…``) rather than a file or folder.

    Examples
    --------
    >>> from analytics.io import is_database_url
    >>> is_database_url("duckdb:///warehouse.duckdb"), is_database_url("exports/complaints.csv")
    (True, False)
    """
    return isinstance(source, str) and "://" in source and not is_url(source)  # shared storage holds files, not a database


def read_sources(source, profile: Profile, progress: Progress | None = None) -> dict[str, list[RawTable]]:
    """Every table the source holds, as raw tables keyed by canonical table name.

    Examples
    --------
    >>> from analytics.datasets import SAMPLE_FOLDER
    >>> from analytics.io import load_profile, read_sources
    >>> raw = read_sources(SAMPLE_FOLDER, load_profile("generic"))
    >>> {table: [len(part.frame) for part in parts] for table, parts in raw.items()}
    {'clients': [3000], 'complaints': [13119], 'interactions': [22588]}
    """
    if is_database_url(source):
        from analytics.io._database import read_database  # here: that module builds on this one

        return read_database(source, profile)
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
    if kind_of(path) in EXCEL_SUFFIXES:
        return _read_workbook(path, profile)
    return {"complaints": [_read_file(path, profile, progress)]}


def _matching_files(folder: Path, patterns) -> list[Path]:
    files: list[Path] = []
    for pattern in patterns:
        files += [
            p
            for p in sorted(folder.glob(pattern))
            if p.is_file() and kind_of(p) in CSV_SUFFIXES | PARQUET_SUFFIXES | EXCEL_SUFFIXES
            and p not in files
        ]
    return files


def kind_of(path: Path) -> str:
    """The file's kind by its suffix, looking through compression: ``a.csv.gz`` is ``.csv``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        return suffixes[-2] if len(suffixes) > 1 and suffixes[-2] in CSV_SUFFIXES else suffixes[-1]
    return suffixes[-1] if suffixes else ""


def _open(path: Path, encoding: str | None = None):
    """The file's bytes, or with ``encoding`` its text (line endings untranslated), decompressed."""
    opener = COMPRESSED_SUFFIXES.get(path.suffix.lower())
    if encoding is None:
        return opener.open(path, "rb") if opener else path.open("rb")
    return opener.open(path, "rt", encoding=encoding, newline="") if opener else path.open(encoding=encoding, newline="")


def _read_file(path: Path, profile: Profile, progress: Progress | None) -> RawTable:
    suffix = kind_of(path)
    if path.stat().st_size == 0:
        raise LoadError(f"{path}: the file is empty; export it again with a header row and data rows")
    if suffix in PARQUET_SUFFIXES:
        try:
            frame = pq.read_table(path).to_pandas(types_mapper=pd.ArrowDtype)
        except (pa.ArrowInvalid, OSError) as error:
            raise LoadError(f"{path}: not a readable Parquet file ({error})") from error
        return numbered(RawTable(str(path), frame))
    if suffix in EXCEL_SUFFIXES:
        sheets = _read_workbook(path, profile)
        return next(iter(sheets.values()))[0]
    return _read_csv(path, profile, progress)


def _read_workbook(path: Path, profile: Profile) -> dict[str, list[RawTable]]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise LoadError(f"{path}: not a readable Excel workbook ({error})") from error
    found = {}
    for table in ("clients", "complaints", "interactions"):
        names = [s for s in sheets if s.strip().lower() == table]
        if names:
            found[table] = [numbered(RawTable(f"{path}[{names[0]}]", _as_arrow_strings(sheets[names[0]]), text=True))]
    if "complaints" not in found:
        if len(sheets) == 1:
            name, frame = next(iter(sheets.items()))
            found["complaints"] = [numbered(RawTable(f"{path}[{name}]", _as_arrow_strings(frame), text=True))]
        else:
            raise LoadError(
                f"{path}: no sheet named 'complaints' among {list(sheets)}; "
                f"name the sheets clients, complaints and interactions"
            )
    return found


def _as_arrow_strings(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(pd.ArrowDtype(pa.string()))


def numbered(raw: RawTable, rows=None) -> RawTable:
    numbers = np.arange(1, len(raw.frame) + 1) if rows is None else np.asarray(rows, dtype=np.int64)
    raw.frame["_row"] = pd.arrays.ArrowExtensionArray(pa.array(numbers))
    return raw


# --- CSV ---------------------------------------------------------------------


def detect_encoding(path: Path, sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8"  # the BOM is skipped by the reader
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
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
    with _open(path) as handle:
        try:
            sample = handle.read(1 << 20)
        except (OSError, EOFError, zlib.error) as error:  # a damaged gzip or bzip2 stream
            raise LoadError(f"{path}: cannot be decompressed ({error}); compress it again or send it uncompressed") from error
    if not sample.strip():
        raise LoadError(f"{path}: the file is empty; export it again with a header row and data rows")
    encoding = profile.encoding if profile.encoding != "auto" else detect_encoding(path, sample)
    if encoding != "utf-16":
        _refuse_nul_bytes(path)
    text = sample.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    delimiter = sniff_delimiter(path, text, profile.delimiter)
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))  # any line ending: \n, \r\n or \r
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


def _refuse_nul_bytes(path: Path) -> None:
    """A NUL byte anywhere in a text export means a binary file or a damaged export: say where."""
    lines = 1
    with _open(path) as handle:
        while chunk := handle.read(16 << 20):
            at = chunk.find(b"\x00")
            if at >= 0:
                line = lines + chunk.count(b"\n", 0, at)
                raise LoadError(
                    f"{path}: holds binary data, not delimited text: line {line:,} holds a NUL byte, which no text export "
                    f"contains; export it again as CSV (UTF-8 or Latin-1)"
                )
            lines += chunk.count(b"\n")


def _read_csv_arrow(path, header, delimiter, encoding, progress, block_size=16 << 20) -> RawTable:
    malformed_seen = []
    types = {h: pa.string() for h in header}
    read_options = pa_csv.ReadOptions(encoding=encoding, column_names=header, skip_rows=1, block_size=block_size)
    parse_options = pa_csv.ParseOptions(
        delimiter=delimiter,
        newlines_in_values=True,
        invalid_row_handler=lambda row: malformed_seen.append(row) or "skip",
    )
    convert_options = pa_csv.ConvertOptions(
        column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True
    )  # only the empty cell is missing here; a profile names its own ([format] null_values)
    total = path.stat().st_size
    try:
        reader = pa_csv.open_csv(str(path), read_options, parse_options, convert_options)  # decompresses .gz and .bz2
        batches, done = [], 0
        for batch in reader:
            batches.append(batch)
            done += batch.nbytes
            if progress:
                progress(min(done, total), total)
    except pa.ArrowInvalid as error:
        if "straddling" in str(error) and block_size < MAX_BLOCK:  # one row longer than a block: read in larger blocks
            return _read_csv_arrow(path, header, delimiter, encoding, progress, min(block_size * 16, MAX_BLOCK))
        raise
    table = pa.Table.from_batches(batches, schema=reader.schema)
    if progress:
        progress(total, total)
    if malformed_seen or _may_hide_broken_quotes(table):
        # Arrow does not say where a malformed row was, reads an unclosed quote to the end of
        # the file as one value, and keeps "say "hi" ok" as say hi" ok": read again, strictly,
        # numbering every record.
        return _read_csvnumbered(path, header, delimiter, encoding)
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return numbered(RawTable(str(path), frame, encoding=encoding, text=True))


MAX_BLOCK = 1 << 30


def _may_hide_broken_quotes(table: pa.Table) -> bool:
    """Whether the table shows what a quote error leaves behind: a last row holding line
    breaks (a quote never closed runs to the end of the file), or a quote inside a value."""
    last = table.slice(max(len(table) - 1, 0))
    if any(pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py() for column in last.columns):
        return True
    return any(pc.any(pc.match_substring(column, '"')).as_py() for column in table.columns)


def _read_csvnumbered(path, header, delimiter, encoding) -> RawTable:
    """Every record numbered, read by Python's strict CSV reader. A record that breaks the
    format (a quote never closed, text after a closing quote) is quarantined with the lines
    it spans, and reading starts again on the line after the one it began on, so that rows
    an unclosed quote swallowed are read as rows and nothing is lost."""
    csv.field_size_limit(MAX_BLOCK)  # a long complaint text is a value, not an error
    with _open(path, "utf-8-sig" if encoding == "utf-8" else encoding) as handle:
        lines = handle.readlines()
    rows, numbers, malformed = [], [], []
    for number, (first, last, fields, problem) in enumerate(_records(lines, delimiter), start=1):
        where = f"line {first + 1:,}" if first == last else f"lines {first + 1:,} to {last + 1:,}"
        if problem:
            text = "".join(lines[first : last + 1])
            malformed.append((number, text, f"{where}: {problem}"))
        elif len(fields) == len(header):
            rows.append(fields)
            numbers.append(number)
        else:
            reason = f"{where}: has {len(fields)} fields, expected {len(header)} (delimiter {delimiter!r})"
            malformed.append((number, delimiter.join(fields), reason))
    frame = pd.DataFrame(rows, columns=header, dtype=pd.ArrowDtype(pa.string()))
    for column in header:
        frame[column] = frame[column].mask(frame[column] == "")
    return numbered(RawTable(str(path), frame, malformed, encoding, text=True), numbers)


def _records(lines: list[str], delimiter: str):
    """``(first line, last line, fields, problem)`` of each record after the header (lines
    counted from 0); a blank line is no record."""
    start = 1
    while start < len(lines):
        position = [start - 1]  # the line the reader last took
        reader = csv.reader(_lines_from(lines, start, position), delimiter=delimiter, strict=True)
        first = start
        try:
            for fields in reader:
                if fields:
                    yield first, position[0], fields, None
                first = position[0] + 1
            return
        except csv.Error as error:
            if "unexpected end of data" in str(error):  # the quote swallowed every line after it: only its own line is broken
                yield first, first, None, "a quote opened on this line is never closed; the lines after it are read as rows of their own"
            else:
                yield first, position[0], None, f"not valid CSV ({error}); the lines after its first are read as rows of their own"
            start = first + 1


def _lines_from(lines: list[str], begin: int, position: list[int]):
    for i in range(begin, len(lines)):
        position[0] = i
        yield lines[i]


# --- databases -----------------------------------------------------------------


def iter_tables(found: dict[str, list[RawTable]]) -> Iterator[tuple[str, RawTable]]:
    for table, raws in found.items():
        for raw in raws:
            yield table, raw
