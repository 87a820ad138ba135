"""Blind scoring: read a predictions file with bounded work, check it against the test split, score it.

A submission must name every test ``sample_id`` exactly once with a ``label`` in {0, 1, 2}. Problems are
reported by sample id and submitted value only: no message ever mentions a true test label.

Bounded work before decoding (the upload itself is at most ``--max-upload-mb``): a Parquet file is
judged by its footer first: the footer at most :data:`MAX_FOOTER_BYTES`, at most :data:`MAX_COLUMNS`
columns, ``sample_id`` and ``label`` once each with the right types, no more rows than the test split
has samples (fewer are decoded, and the missing ids listed), and at most :data:`DECODE_BUDGET_BYTES`
declared for the two columns read. Only those two columns are read, ``sample_id`` as a dictionary whose
values are checked (at most :data:`MAX_ID_BYTES` bytes, valid UTF-8) before it is expanded. A CSV file
may have at most one line more than the test split has samples and a header of at most
:data:`MAX_COLUMNS` distinct names; only its two columns are converted. So a compression bomb (millions
of rows in a few KiB) or a file of thousands of columns is refused before anything large is allocated.

Scores (:func:`campaignlab.evaluation.metrics.scores`) are computed separately on the version's
public and private parts of the test split (see :mod:`campaignlab.leaderboard.public` for what is
shown when).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from campaignlab.errors import DataError
from campaignlab.evaluation.metrics import scores as compute_scores

MAX_COLUMNS = 32  # sample_id, label and a few prob_* columns
MAX_FOOTER_BYTES = 1 << 20  # a predictions file's Parquet metadata is a few KiB
MAX_ID_BYTES = 256  # longest sample_id accepted (the generator's are ~10 bytes)
DECODE_BUDGET_BYTES = 64 << 20  # uncompressed bytes the two columns read may declare
_SHOW = 5  # sample ids quoted per problem
_QUOTE_CHARS = 40  # characters quoted of one value


class PredictionsError(DataError):
    """A predictions file is unreadable (``status`` 400), too large to decode (413) or does not match
    the test split (422)."""

    def __init__(self, message: str, problems: list[str] | None = None, status: int = 422) -> None:
        super().__init__(message if not problems else message + ": " + "; ".join(problems))
        self.summary = message
        self.problems = problems or []
        self.status = status


@dataclass(frozen=True)
class Predictions:
    """The two columns of a predictions file, as sent (nulls and bad values are checked later)."""

    sample_id: pa.Array  # string
    label: pa.Array  # any integer type


@dataclass(frozen=True)
class Scored:
    scores: dict[str, dict[str, float]]  # part ("public", "private") -> metrics.scores
    counts: dict[str, int]  # part -> test samples in it
    predictions: np.ndarray  # (n_test,) int8 in answer-key order
    n_rows: int


def _quote(values: list[Any], total: int | None = None) -> str:
    """The first few values (each cut to a few characters), and how many there are when some are left out."""
    total = len(values) if total is None else total

    def one(v: Any) -> str:
        r = repr(v)
        return r if len(r) <= _QUOTE_CHARS else r[: _QUOTE_CHARS - 1] + "…"

    shown = ", ".join(one(v) for v in values[:_SHOW])
    return shown + (f", ... ({total} in all)" if total > _SHOW else "")


def _column_problem(names: list[str]) -> None:
    """Refuse too many columns, repeated names, or a missing sample_id/label (before any decoding)."""
    if len(names) > MAX_COLUMNS:
        raise PredictionsError(
            f"the predictions file has {len(names)} columns; at most {MAX_COLUMNS} are accepted "
            "(sample_id, label and a few prob_* columns)"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise PredictionsError(
            f"the predictions file repeats column name(s) {_quote(repeated)}: each column must appear once"
        )
    missing = [c for c in ("sample_id", "label") if c not in names]
    if missing:
        raise PredictionsError(
            f"the predictions file lacks column(s) {missing}; it needs sample_id (string) and label "
            f"(integer 0/1/2), has {_quote(names, len(names))}"
        )


def _check_ids(sid: pa.Array) -> None:
    """Bound and validate sample_id values (for a Parquet column: its dictionary, before expanding it)."""
    try:
        sid.validate(full=True)
    except pa.ArrowInvalid:
        raise PredictionsError("column sample_id holds invalid UTF-8: sample ids must be text") from None
    longest = pc.max(pc.binary_length(sid)).as_py() if len(sid) else 0
    if longest is not None and longest > MAX_ID_BYTES:
        raise PredictionsError(
            f"column sample_id holds a value of {longest} bytes; test sample ids have at most "
            f"{MAX_ID_BYTES} bytes"
        )


def _read_parquet(data: bytes, n_test: int) -> Predictions:
    if len(data) < 12 or data[-4:] != b"PAR1":
        raise PredictionsError(
            "the predictions file is not a readable Parquet file (no PAR1 footer: truncated?)", status=400
        )
    footer = int.from_bytes(data[-8:-4], "little")
    if footer > MAX_FOOTER_BYTES:
        raise PredictionsError(
            f"the Parquet footer (metadata) is {footer} bytes; at most {MAX_FOOTER_BYTES} are read "
            "(a predictions file has a handful of columns)",
            status=413,
        )
    try:
        pf = pq.ParquetFile(
            pa.BufferReader(data),
            read_dictionary=["sample_id"],
            thrift_string_size_limit=MAX_FOOTER_BYTES,
            thrift_container_size_limit=16 * MAX_COLUMNS,
        )
        meta = pf.metadata
    except (pa.ArrowException, OSError, ValueError) as err:
        raise PredictionsError(
            f"the predictions file is not a readable Parquet file ({err})", status=400
        ) from None
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    _column_problem(names)
    schema = pf.schema_arrow
    sid_type, lab_type = schema.field("sample_id").type, schema.field("label").type
    if pa.types.is_dictionary(sid_type):
        sid_type = sid_type.value_type
    if pa.types.is_dictionary(lab_type):
        lab_type = lab_type.value_type
    if not (pa.types.is_string(sid_type) or pa.types.is_large_string(sid_type)):
        raise PredictionsError(f"column sample_id must be strings, got {sid_type}")
    if not pa.types.is_integer(lab_type):
        raise PredictionsError(f"column label must be integers 0/1/2, got {lab_type}")
    if meta.num_rows > n_test:  # fewer rows decode in bounded work and get the ids they miss listed
        raise PredictionsError(
            f"the predictions file has {meta.num_rows} rows; the test split has {n_test}: "
            "one row per test sample_id"
        )
    wanted = [names.index("sample_id"), names.index("label")]
    declared = sum(
        meta.row_group(g).column(i).total_uncompressed_size
        for g in range(meta.num_row_groups)
        for i in wanted
    )
    if declared > DECODE_BUDGET_BYTES:
        raise PredictionsError(
            f"columns sample_id and label declare {declared} bytes uncompressed; at most "
            f"{DECODE_BUDGET_BYTES} are decoded for {n_test} rows",
            status=413,
        )
    try:
        table = pf.read(columns=["sample_id", "label"])
    except (pa.ArrowException, OSError, ValueError) as err:
        raise PredictionsError(
            f"the predictions file is not a readable Parquet file ({err})", status=400
        ) from None
    chunks = []
    for chunk in table["sample_id"].chunks:  # dictionary arrays: check the values before expanding
        values = chunk.dictionary if isinstance(chunk, pa.DictionaryArray) else chunk
        _check_ids(values)
        chunks.append(chunk.dictionary_decode() if isinstance(chunk, pa.DictionaryArray) else chunk)
    sid = pa.chunked_array(chunks, type=chunks[0].type if chunks else pa.string()).combine_chunks()
    lab = table["label"].combine_chunks()
    if isinstance(lab, pa.DictionaryArray):
        lab = lab.dictionary_decode()
    return Predictions(sid.cast(pa.string()), lab)


def _read_csv(data: bytes, n_test: int) -> Predictions:
    head = data[:4096]
    if b"\0" in head or b"," not in head:  # binary junk, or text that cannot be comma-separated
        raise PredictionsError(
            "the predictions file is neither Parquet (no PAR1 magic bytes) nor CSV with a "
            "'sample_id,label' header",
            status=400,
        )
    lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    if lines > n_test + 2:  # a header, n_test rows, maybe a blank last line
        raise PredictionsError(
            f"the CSV file has {lines} lines; the test split needs {n_test + 1} (a header and one line "
            "per test sample_id)"
        )
    header = data.splitlines()[0] if data else b""
    try:
        names = next(csv.reader([header.decode("utf-8")]))
    except (UnicodeDecodeError, csv.Error, StopIteration) as err:
        raise PredictionsError(f"the CSV header is not readable ({err})", status=400) from None
    _column_problem(names)
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            convert_options=pacsv.ConvertOptions(
                column_types={"sample_id": pa.string()}, include_columns=["sample_id", "label"]
            ),
        )
    except (pa.ArrowException, ValueError) as err:
        raise PredictionsError(f"the predictions file is not readable CSV ({err})", status=400) from None
    sid, lab = table["sample_id"].combine_chunks(), table["label"].combine_chunks()
    _check_ids(sid)
    if not pa.types.is_integer(lab.type):
        raise PredictionsError(f"column label must be integers 0/1/2, got {lab.type}")
    return Predictions(sid, lab)


def read_predictions(data: bytes, n_test: int) -> Predictions:
    """Parse Parquet (told by its magic bytes) or CSV with a header, with bounded work (module docstring).

    Extra columns (``prob_*`` written by ``campaignlab predict``) are not read.

    Args:
        data: the uploaded bytes.
        n_test: test samples of the version: the row count a file must have.

    Raises:
        PredictionsError: unreadable file (status 400), more to decode than allowed (413), or
            missing/repeated/ill-typed columns, or a wrong row count (422).
    """
    if not data:
        raise PredictionsError("the predictions file is empty", status=400)
    if data[:4] == b"PAR1":
        return _read_parquet(data, n_test)
    return _read_csv(data, n_test)


def check_and_score(pred: Predictions, key: Any) -> Scored:
    """Check ``pred`` against ``key`` (a store.AnswerKey) and score it on the public and private parts.

    Raises:
        PredictionsError: listing every kind of problem (nulls, bad labels, duplicates, unknown or
            missing sample ids) with a few example sample ids each.
    """
    problems: list[str] = []
    sid_col, lab_col = pred.sample_id, pred.label
    n_test = len(key.ids)
    if sid_col.null_count:
        problems.append(f"{sid_col.null_count} row(s) have no sample_id")
    if lab_col.null_count:
        problems.append(f"{lab_col.null_count} row(s) have no label")
    valid_label = pc.is_in(lab_col, value_set=pa.array([0, 1, 2], lab_col.type))
    bad_mask = pc.and_(pc.invert(valid_label), lab_col.is_valid())
    bad = np.flatnonzero(np.asarray(bad_mask.fill_null(False)))
    if len(bad):
        problems.append(
            f"{len(bad)} label(s) outside {{0, 1, 2}} (e.g. sample_id "
            f"{_quote(sid_col.take(bad[:_SHOW]).to_pylist(), len(bad))} -> "
            f"{_quote(lab_col.take(bad[:_SHOW]).to_pylist())})"
        )
    # Position of each predicted id in the test split (hash lookup in Arrow; -1: not a test id).
    pos = np.asarray(pc.index_in(sid_col, value_set=key.ids).fill_null(-1), dtype=np.int64)
    unknown_mask = (pos < 0) & np.asarray(sid_col.is_valid())
    if unknown_mask.any():
        unknown = pc.unique(sid_col.filter(pa.array(unknown_mask))).to_pylist()
        problems.append(f"{len(unknown)} sample_id(s) are not in the test split: {_quote(unknown)}")
    counts = np.bincount(pos[pos >= 0], minlength=n_test)
    dup = np.flatnonzero(counts > 1)
    if len(dup):
        problems.append(
            f"{len(dup)} sample_id(s) appear more than once: "
            + _quote(key.ids.take(dup[:_SHOW]).to_pylist(), len(dup))
        )
    missing = np.flatnonzero(counts == 0)
    if len(missing):
        problems.append(
            f"{len(missing)} test sample_id(s) have no prediction: "
            + _quote(key.ids.take(missing[:_SHOW]).to_pylist(), len(missing))
        )
    if problems:
        raise PredictionsError(
            f"predictions must name each of the {n_test} test sample_ids exactly once "
            "with a label in {0, 1, 2}",
            problems,
        )
    y_pred = np.empty(n_test, dtype=np.int8)
    y_pred[pos] = np.asarray(lab_col.cast(pa.int8()))  # every label is 0, 1 or 2 by now
    parts = {"public": key.public, "private": ~key.public}
    scores = {p: compute_scores(key.labels[m], y_pred[m]) for p, m in parts.items() if m.any()}
    return Scored(scores, {p: int(parts[p].sum()) for p in scores}, y_pred, len(sid_col))
