"""Read a campaign source into raw records: CSV, Parquet, JSON Lines, a folder, ``gs://`` or ``bq://``.

Every record keeps where it came from: the file (or table), its 1-based ``row`` among the data records
and, for text formats, the ``line`` it starts on (the header is line 1 of a CSV file, so in a spreadsheet
the record's row is this line when no field spans lines). A record that cannot be parsed (a CSV line with
the wrong number of fields, a JSON line that is not an object) is kept as *malformed*, never dropped.

CSV: the encoding is taken from a byte-order mark (UTF-8, UTF-16), else UTF-8, else detected
(charset-normalizer when installed, else Windows-1252), unless given; quoted fields may hold
delimiters, quotes and newlines; the delimiter (``,`` ``;`` tab ``|``) is sniffed from the header.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaignlab.errors import DataError

SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
"""File suffix (before an optional ``.gz``) -> format."""


@dataclass
class Malformed:
    """A record that could not be parsed into fields."""

    row: int
    line: int | None
    raw: str
    message: str


@dataclass
class RawTable:
    """The records of one file or table, before validation.

    Attributes:
        name: the file's path (relative to the source folder, or the full URI of a cloud object).
        kind: csv, parquet, jsonl, json or bigquery.
        columns: column names in source order.
        rows: one ``{column: raw value}`` per parsed record.
        row_numbers: the 1-based record number of each row.
        lines: the line each row starts on (None for Parquet and BigQuery).
        malformed: records that could not be parsed.
        sha256: digest of the bytes read (BigQuery: of the rows as canonical JSON lines).
        details: format details recorded in the manifest (encoding, delimiter, ...).
    """

    name: str
    kind: str
    columns: list[str]
    rows: list[dict[str, Any]]
    row_numbers: list[int]
    lines: list[int | None]
    malformed: list[Malformed] = field(default_factory=list)
    sha256: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def num_records(self) -> int:
        return len(self.rows) + len(self.malformed)


def format_of(name: str) -> str | None:
    """The format of a file name by its suffix (``.csv``, ``.csv.gz``, ...), None when unsupported."""
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    return SUFFIXES.get(Path(lower).suffix)


# --- text decoding -----------------------------------------------------------------------------


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Bytes -> (text, encoding used). A BOM wins, then UTF-8, then detection."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as err:
            raise DataError(f"encoding: cannot decode the file as {encoding!r}: {err}") from None
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guess = None
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[: 1 << 20]).best()
        guess = best.encoding if best is not None else None
    except ImportError:  # pragma: no cover - charset-normalizer ships with the Google clients
        guess = None
    for enc in (guess, "cp1252", "latin-1"):
        if enc is None:
            continue
        try:
            return data.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    raise DataError("encoding: cannot detect the text encoding; give it with --encoding")  # pragma: no cover


def _maybe_gunzip(name: str, data: bytes) -> bytes:
    if name.lower().endswith(".gz"):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise DataError(f"{name}: not a valid gzip file: {err}") from None
    return data


# --- parsers (bytes -> RawTable) ---------------------------------------------------------------


def parse_csv(name: str, data: bytes, encoding: str | None = None) -> RawTable:
    """Parse CSV bytes (see the module docstring for encodings, quoting and delimiters)."""
    text, used = decode(_maybe_gunzip(name, data), encoding)
    sample = text[: 1 << 16]
    delimiter = "\t" if name.lower().removesuffix(".gz").endswith(".tsv") else ","
    try:
        first_line = sample.splitlines()[0] if sample else ""
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t|").delimiter
    except (csv.Error, IndexError):
        pass
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, doublequote=True, strict=False)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{name}: the file is empty (expected a header row)") from None
    except csv.Error as err:
        raise DataError(f"{name}: cannot read the header row: {err}") from None
    columns = [c.strip() for c in header]
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise DataError(f"{name}: the header names column(s) {dup} more than once")
    n = len(columns)
    table = RawTable(name, "csv", columns, [], [], [], details={"encoding": used, "delimiter": delimiter})
    prev_end = reader.line_num
    row = 0
    while True:
        start = prev_end + 1
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            row += 1
            table.malformed.append(Malformed(row, start, "", f"CSV error: {err}"))
            prev_end = reader.line_num
            continue
        prev_end = reader.line_num
        if not rec:  # a blank line is no record
            continue
        row += 1
        if len(rec) > n and not any(v.strip() for v in rec[n:]):
            rec = rec[:n]  # trailing delimiters
        if len(rec) != n:
            raw = delimiter.join(rec)
            table.malformed.append(Malformed(row, start, raw[:500], f"{len(rec)} fields, the header has {n}"))
            continue
        table.rows.append(dict(zip(columns, rec, strict=True)))
        table.row_numbers.append(row)
        table.lines.append(start)
    return table


def _records_table(name: str, kind: str, records: Iterator[tuple[int, int | None, Any, str]]) -> RawTable:
    table = RawTable(name, kind, [], [], [], [])
    seen: dict[str, None] = {}
    for row, line, obj, raw in records:
        if not isinstance(obj, dict):
            table.malformed.append(
                Malformed(row, line, raw[:500], f"expected a JSON object, got {type(obj).__name__}")
            )
            continue
        for k in obj:
            seen.setdefault(str(k), None)
        table.rows.append({str(k): v for k, v in obj.items()})
        table.row_numbers.append(row)
        table.lines.append(line)
    table.columns = list(seen)
    return table


def parse_jsonl(name: str, data: bytes, encoding: str | None = None) -> RawTable:
    """Parse JSON Lines: one object per line; blank lines are no records; a bad line is malformed."""
    text, used = decode(_maybe_gunzip(name, data), encoding)
    bad: list[Malformed] = []

    def records() -> Iterator[tuple[int, int | None, Any, str]]:
        row = 0
        for i, line in enumerate(text.split("\n"), 1):  # not splitlines: JSON may hold U+2028
            if not line.strip():
                continue
            row += 1
            try:
                yield row, i, json.loads(line), line
            except json.JSONDecodeError as err:
                bad.append(Malformed(row, i, line[:500], f"invalid JSON: {err.msg} at column {err.colno}"))

    table = _records_table(name, "jsonl", records())
    table.malformed = sorted(table.malformed + bad, key=lambda m: m.row)
    table.details = {"encoding": used}
    return table


def parse_json(name: str, data: bytes, encoding: str | None = None) -> RawTable:
    """Parse a JSON file holding a list of objects (or an object with a ``records``/``rows`` list)."""
    text, used = decode(_maybe_gunzip(name, data), encoding)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{name}: invalid JSON: {err}; JSON Lines files should end in .jsonl") from None
    if isinstance(doc, dict):
        doc = doc.get("records", doc.get("rows"))
    if not isinstance(doc, list):
        raise DataError(f"{name}: expected a JSON list of campaign objects")
    table = _records_table(
        name, "json", ((i, None, obj, json.dumps(obj, default=str)) for i, obj in enumerate(doc, 1))
    )
    table.details = {"encoding": used}
    return table


def parse_arrow(name: str, kind: str, arrow_table: Any) -> RawTable:
    """Rows of a pyarrow Table (Parquet, BigQuery) as records numbered from 1."""
    cols = [str(c) for c in arrow_table.column_names]
    data = arrow_table.to_pydict()
    n = arrow_table.num_rows
    rows = [{c: data[c][i] for c in cols} for i in range(n)]
    return RawTable(name, kind, cols, rows, list(range(1, n + 1)), [None] * n)


def parse_parquet(name: str, data: bytes) -> RawTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        t = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"{name}: not a readable Parquet file: {err}") from None
    return parse_arrow(name, "parquet", t)


def parse_bytes(name: str, data: bytes, encoding: str | None = None) -> RawTable:
    """Parse one file's bytes by its suffix and record its sha256."""
    kind = format_of(name)
    if kind is None:
        raise DataError(f"{name}: unsupported file type; expected one of {sorted(SUFFIXES)} (optionally .gz)")
    if kind == "csv":
        table = parse_csv(name, data, encoding)
    elif kind == "jsonl":
        table = parse_jsonl(name, data, encoding)
    elif kind == "json":
        table = parse_json(name, data, encoding)
    else:
        table = parse_parquet(name, data)
    table.sha256 = hashlib.sha256(data).hexdigest()
    table.details["bytes"] = len(data)
    return table


# --- sources ----------------------------------------------------------------------------------


@dataclass
class Source:
    """What was read: the URI, its kind, the tables and the files skipped on purpose."""

    uri: str
    kind: str  # file, folder, gcs, bigquery
    tables: list[RawTable]
    skipped: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        """One digest over every table (name and content digest, in read order)."""
        h = hashlib.sha256()
        for t in self.tables:
            h.update(f"{t.name}\0{t.sha256}\n".encode())
        return h.hexdigest()


def is_skipped_name(name: str) -> bool:
    """Hidden and marker files that exports leave beside the data (``.DS_Store``, ``_SUCCESS``)."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return base.startswith((".", "_"))


def folder_files(names: list[str], where: str) -> tuple[list[str], list[str]]:
    """Split a folder's file names into (data files, skipped marker files); unsupported files are an error."""
    files, skipped, bad = [], [], []
    for n in sorted(names):
        if is_skipped_name(n):
            skipped.append(n)
        elif format_of(n) is None:
            bad.append(n)
        else:
            files.append(n)
    if bad:
        raise DataError(
            f"{where}: unsupported file(s) {bad[:5]}; a source folder may hold only "
            f"{sorted(SUFFIXES)} files (optionally .gz)"
        )
    if not files:
        raise DataError(f"{where}: no campaign files ({sorted(SUFFIXES)}) found")
    return files, skipped


def read_source(uri: str | Path, encoding: str | None = None) -> Source:
    """Read a local file or folder, a ``gs://`` object or prefix, or a ``bq://project.dataset.table``.

    Raises:
        DataError: the source does not exist, is empty, or holds an unsupported file.
    """
    text = str(uri)
    if text.startswith("gs://"):
        from campaignlab.ingest.cloud import read_gcs

        return read_gcs(text, encoding)
    if text.startswith("bq://"):
        from campaignlab.ingest.cloud import read_bigquery

        return read_bigquery(text)
    path = Path(text)
    if path.is_dir():
        names = [str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()]
        files, skipped = folder_files(names, f"source folder {text!r}")
        tables = [parse_bytes(n, (path / n).read_bytes(), encoding) for n in files]
        return Source(text, "folder", tables, skipped)
    if path.is_file():
        return Source(text, "file", [parse_bytes(path.name, path.read_bytes(), encoding)])
    raise DataError(
        f"source {text!r} does not exist (expected a CSV/Parquet/JSON Lines file, a folder of them, "
        "gs://BUCKET/PATH or bq://PROJECT.DATASET.TABLE)"
    )
