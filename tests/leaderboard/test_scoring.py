"""Scoring and predictions checks on hand-made data (no server)."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaignlab.leaderboard.scoring import PredictionsError, check_and_score, read_predictions
from campaignlab.leaderboard.store import AnswerKey

IDS = ["s0", "s1", "s2", "s3", "s4", "s5"]
TRUE = np.array([0, 0, 1, 1, 2, 2], np.int8)
KEY = AnswerKey(pa.array(IDS), TRUE, np.ones(6, bool))  # every sample public


def score(data: bytes, key: AnswerKey = KEY):
    return check_and_score(read_predictions(data, len(key.ids)), key)


def parquet(ids: list, labels: list, label_type: pa.DataType = pa.int8()) -> bytes:
    buf = io.BytesIO()
    pq.write_table(
        pa.table({"sample_id": pa.array(ids, pa.string()), "label": pa.array(labels, label_type)}), buf
    )
    return buf.getvalue()


def _bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


INVALID_UTF8 = _bytes(
    pa.table(
        {
            "sample_id": pa.array([b"\xff" + i.encode() for i in IDS], pa.binary()).view(pa.string()),
            "label": pa.array(TRUE),
        }
    )
)
WIDE = _bytes(pa.table({"sample_id": IDS, "label": TRUE, **{f"p{i}": TRUE for i in range(38)}}))
LONG_ID = _bytes(pa.table({"sample_id": ["x" * 300, *IDS[1:]], "label": TRUE}))


def test_unsigned_label_columns_are_read() -> None:
    s = score(parquet(IDS, TRUE.tolist(), pa.uint8())).scores["public"]
    assert s["macro_f1"] == 1.0


def test_scores_worked_out_by_hand() -> None:
    # Prepare: predictions in shuffled order; s1 (true 0) predicted 1, s5 (true 2) predicted 1.
    data = parquet(["s5", "s4", "s3", "s2", "s1", "s0"], [1, 2, 1, 1, 1, 0])
    # Execute
    scored = score(data)
    # Assert: Negative P=1 R=1/2 F1=2/3; Average P=2/4 R=1 F1=2/3; Positive P=1 R=1/2 F1=2/3.
    s = scored.scores["public"]
    assert set(scored.scores) == {"public"}  # no private part in this key
    assert s["f1_negative"] == pytest.approx(2 / 3)
    assert s["f1_average"] == pytest.approx(2 / 3)
    assert s["f1_positive"] == pytest.approx(2 / 3)
    assert s["macro_f1"] == pytest.approx(2 / 3)
    assert s["priority_weighted_f1"] == pytest.approx(0.5 * 2 / 3 + 0.4 * 2 / 3 + 0.1 * 2 / 3)
    assert s["weighted_f1"] == pytest.approx(2 / 3)  # two samples per class
    assert s["accuracy"] == pytest.approx(4 / 6)
    # Stored predictions are in test-split order.
    assert scored.predictions.tolist() == [0, 1, 1, 1, 2, 1]


def test_priority_weighted_f1_uses_positive_negative_average_weights() -> None:
    # All Positive right, Negatives all called Average: F1 neg 0, avg P=2/4 R=1 -> 2/3, pos 1.
    s = score(parquet(IDS, [1, 1, 1, 1, 2, 2])).scores["public"]
    assert (s["f1_negative"], s["f1_average"], s["f1_positive"]) == pytest.approx((0.0, 2 / 3, 1.0))
    assert s["priority_weighted_f1"] == pytest.approx(0.5 * 1.0 + 0.4 * 0.0 + 0.1 * 2 / 3)
    assert s["weighted_f1"] == pytest.approx((2 * 0.0 + 2 * 2 / 3 + 2 * 1.0) / 6)
    assert s["macro_f1"] == pytest.approx(5 / 9)


def test_public_and_private_parts_are_scored_apart() -> None:
    # Prepare: s0, s2, s4 public (one per class), s1, s3, s5 private; the private ones all wrong.
    key = AnswerKey(pa.array(IDS), TRUE, np.array([1, 0, 1, 0, 1, 0], bool))
    # Execute
    scored = score(parquet(IDS, [0, 1, 1, 2, 2, 0]), key)
    # Assert: public perfect, private all wrong; the counts are the parts' sizes.
    assert scored.scores["public"]["macro_f1"] == 1.0 and scored.scores["private"]["accuracy"] == 0.0
    assert scored.counts == {"public": 3, "private": 3}


def test_csv_and_extra_columns_accepted() -> None:
    csv = b"sample_id,label,prob_2\n" + b"".join(
        f"{i},{v},0.1\n".encode() for i, v in zip(IDS, TRUE, strict=True)
    )
    s = score(csv).scores["public"]
    assert s["macro_f1"] == 1.0 and s["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("data", "status", "needles"),
    [
        (b"", 400, ["empty"]),
        (b"\x00\x01garbage" * 10, 400, ["neither Parquet"]),
        (b"PAR1 not really parquet", 400, ["not a readable Parquet"]),
        (parquet([*IDS, "s0"], [0, 0, 1, 1, 2, 2, 0]), 422, ["has 7 rows; the test split has 6"]),
        (parquet(IDS[:5], [0, 0, 1, 1, 2]), 422, ["1 test sample_id(s) have no prediction: 's5'"]),
        (b"sample_id,label,label\n" + b"s0,0,0\n" * 6, 422, ["repeats column name(s) 'label'"]),
        (b"sample_id,label\n" + b"s0,0\n" * 8, 422, ["CSV file has 9 lines; the test split needs 7"]),
        (parquet(IDS, [0, 0, 1, 1, 2, 2], pa.float64()), 422, ["label must be integers"]),
        (b"id,label\ns0,1\n", 422, ["lacks column", "sample_id"]),
        (
            parquet([*IDS[:5], "s0"], [0, 0, 1, 1, 2, 0]),
            422,
            ["appear more than once: 's0'", "no prediction: 's5'"],
        ),
        (parquet([*IDS[:5], "zz"], [0, 0, 1, 1, 2, 1]), 422, ["not in the test split: 'zz'"]),
        (parquet(IDS, [0, 3, 1, -1, 2, 2]), 422, ["2 label(s) outside {0, 1, 2}", "'s1', 's3'", "3, -1"]),
        (parquet(IDS, [0, None, 1, 1, 2, 2]), 422, ["1 row(s) have no label"]),
        (parquet(IDS, [0, 0, 1, 1, 2, 2**64 - 1], pa.uint64()), 422, [f"-> {2**64 - 1}"]),
        (INVALID_UTF8, 422, ["column sample_id holds invalid UTF-8"]),
        (WIDE, 422, ["has 40 columns; at most 32"]),
        (LONG_ID, 422, ["holds a value of 300 bytes"]),
    ],
)
def test_bad_predictions_say_what_is_wrong(data: bytes, status: int, needles: list[str]) -> None:
    with pytest.raises(PredictionsError) as info:
        score(data)
    err = info.value
    assert err.status == status
    for needle in needles:
        assert needle in str(err), str(err)
