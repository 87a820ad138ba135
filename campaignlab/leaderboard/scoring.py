"""Blind scoring: read a predictions file, check it against the test split, compute the scores.

A submission must name every test ``sample_id`` exactly once with a ``label`` in {0, 1, 2}. Problems are
reported by sample id and submitted value only: no message ever mentions a true test label.

Scores (scikit-learn): ``macro_f1`` (the ranking metric), per-class F1 ``f1_negative``, ``f1_average``,
``f1_positive``, ``weighted_f1`` = 0.5 positive + 0.4 negative + 0.1 average (the multimodal report's
tuning metric) and ``accuracy``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from campaignlab.errors import DataError

CLASS_KEYS = {0: "negative", 1: "average", 2: "positive"}
WEIGHTS = {"positive": 0.5, "negative": 0.4, "average": 0.1}
_SHOW = 5  # sample ids quoted per problem


class PredictionsError(DataError):
    """A predictions file is unreadable (``status`` 400) or does not match the test split (422)."""

    def __init__(self, message: str, problems: list[str] | None = None, status: int = 422) -> None:
        super().__init__(message if not problems else message + ": " + "; ".join(problems))
        self.summary = message
        self.problems = problems or []
        self.status = status


@dataclass(frozen=True)
class Scored:
    scores: dict[str, float]
    predictions: pa.Table  # (sample_id, label int8) in test-split order
    n_rows: int


def _quote(values: list[Any], total: int | None = None) -> str:
    """The first few values, and how many there are in all when some are left out."""
    total = len(values) if total is None else total
    shown = ", ".join(repr(v) for v in values[:_SHOW])
    return shown + (f", ... ({total} in all)" if total > _SHOW else "")


def read_predictions(data: bytes) -> pa.Table:
    """Parse Parquet (told by its magic bytes) or CSV with a header; return (sample_id, label) columns.

    Extra columns (``prob_*`` written by ``campaignlab predict``) are ignored.

    Raises:
        PredictionsError: unreadable file (status 400) or missing/ill-typed columns (422).
    """
    if not data:
        raise PredictionsError("the predictions file is empty", status=400)
    if data[:4] == b"PAR1":
        try:
            table = pq.read_table(io.BytesIO(data))
        except (pa.ArrowException, OSError, ValueError) as err:
            raise PredictionsError(
                f"the predictions file is not a readable Parquet file ({err})", status=400
            ) from None
    else:
        head = data[:4096]
        if b"\0" in head or b"," not in head:  # binary junk, or text that cannot be comma-separated
            raise PredictionsError(
                "the predictions file is neither Parquet (no PAR1 magic bytes) nor CSV with a "
                "'sample_id,label' header",
                status=400,
            )
        try:
            table = pacsv.read_csv(
                io.BytesIO(data),
                convert_options=pacsv.ConvertOptions(
                    column_types={"sample_id": pa.string()}, include_columns=None
                ),
            )
        except (pa.ArrowException, ValueError) as err:
            raise PredictionsError(f"the predictions file is not readable CSV ({err})", status=400) from None
    missing = [c for c in ("sample_id", "label") if c not in table.column_names]
    if missing:
        raise PredictionsError(
            f"the predictions file lacks column(s) {missing}; it needs sample_id (string) and label "
            f"(integer 0/1/2), has {table.column_names[:20]}"
        )
    sid, lab = table["sample_id"], table["label"]
    if not (pa.types.is_string(sid.type) or pa.types.is_large_string(sid.type)):
        raise PredictionsError(f"column sample_id must be strings, got {sid.type}")
    if not pa.types.is_integer(lab.type):
        raise PredictionsError(f"column label must be integers 0/1/2, got {lab.type}")
    return pa.table({"sample_id": sid.cast(pa.string()), "label": lab})


def check_and_score(table: pa.Table, key: Any) -> Scored:
    """Check ``table`` (from :func:`read_predictions`) against ``key`` (a store.AnswerKey) and score it.

    Raises:
        PredictionsError: listing every kind of problem (nulls, bad labels, duplicates, unknown or
            missing sample ids) with a few example sample ids each.
    """
    from sklearn.metrics import f1_score

    problems: list[str] = []
    sid_col, lab_col = table["sample_id"].combine_chunks(), table["label"].combine_chunks()
    n_test = len(key.ids)
    if sid_col.null_count:
        problems.append(f"{sid_col.null_count} row(s) have no sample_id")
    if lab_col.null_count:
        problems.append(f"{lab_col.null_count} row(s) have no label")
    labels = np.asarray(lab_col.fill_null(-1), dtype=np.int64)
    bad = np.flatnonzero(~np.isin(labels, (0, 1, 2)) & np.asarray(lab_col.is_valid()))
    if len(bad):
        problems.append(
            f"{len(bad)} label(s) outside {{0, 1, 2}} (e.g. sample_id "
            f"{_quote(sid_col.take(bad[:_SHOW]).to_pylist(), len(bad))} -> {_quote(labels[bad].tolist())})"
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
    y_pred[pos] = labels
    y_true = key.labels
    per_class = f1_score(y_true, y_pred, labels=[0, 1, 2], average=None, zero_division=0)
    f1 = {CLASS_KEYS[c]: float(per_class[c]) for c in range(3)}
    scores = {
        "macro_f1": float(np.mean(per_class)),
        "f1_negative": f1["negative"],
        "f1_average": f1["average"],
        "f1_positive": f1["positive"],
        "weighted_f1": sum(WEIGHTS[k] * f1[k] for k in WEIGHTS),
        "accuracy": float(np.mean(y_true == y_pred)),
    }
    ordered = pa.table({"sample_id": key.ids, "label": pa.array(y_pred)})
    return Scored(scores, ordered, len(sid_col))
