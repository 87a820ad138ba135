"""Metrics worked out by hand, checked against scikit-learn, and the evaluation files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from campaignlab.errors import DataError
from campaignlab.evaluation.metrics import (
    SCORE_NAMES,
    classification_metrics,
    confusion_matrix,
    macro_f1,
    priority_weighted_f1,
    scores,
    weighted_f1,
)
from campaignlab.evaluation.plots import confusion_matrix_plot
from campaignlab.evaluation.report import results_table, write_evaluation

# true:  0 0 0 0 1 1 1 2 2 2
# pred:  0 0 1 2 1 1 0 2 2 1
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 1])


def test_metrics_by_hand() -> None:
    m = classification_metrics(Y_TRUE, Y_PRED)
    assert m["confusion_matrix"] == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]
    # negative: TP 2, FP 1, FN 2 -> 4/7; average: TP 2, FP 2, FN 1 -> 4/7; positive: TP 2, FP 1, FN 1 -> 4/6
    assert m["per_class_f1"] == pytest.approx({"negative": 4 / 7, "average": 4 / 7, "positive": 2 / 3})
    assert m["macro_f1"] == pytest.approx((4 / 7 + 4 / 7 + 2 / 3) / 3)
    assert m["weighted_f1"] == pytest.approx((4 * 4 / 7 + 3 * 4 / 7 + 3 * 2 / 3) / 10)
    assert m["accuracy"] == pytest.approx(0.6)
    assert priority_weighted_f1(Y_TRUE, Y_PRED) == pytest.approx(0.4 * 4 / 7 + 0.1 * 4 / 7 + 0.5 * 2 / 3)
    assert m["priority_weighted_f1"] == pytest.approx(0.4 * 4 / 7 + 0.1 * 4 / 7 + 0.5 * 2 / 3)
    json.dumps(m)  # plain JSON types


def test_weighted_f1_is_support_weighted_and_priority_weighted_f1_is_the_reports_mix() -> None:
    # Prepare: 8 Average samples, 1 Negative, 1 Positive; Averages right, the other two called Average.
    t = np.array([1] * 8 + [0, 2])
    p = np.array([1] * 10)
    # Execute
    s = scores(t, p)
    # Assert: F1 average = 2*8/(2*8+2) = 8/9, the others 0. Support-weighted: 0.8 * 8/9; the report's
    # 0.5 Positive + 0.4 Negative + 0.1 Average: 0.1 * 8/9. One name, one number, in every module.
    assert s["f1_average"] == pytest.approx(8 / 9) and s["f1_negative"] == s["f1_positive"] == 0.0
    assert s["weighted_f1"] == pytest.approx(0.8 * 8 / 9) == weighted_f1(t, p)
    assert s["priority_weighted_f1"] == pytest.approx(0.1 * 8 / 9) == priority_weighted_f1(t, p)
    assert s["macro_f1"] == pytest.approx(8 / 27) and s["accuracy"] == pytest.approx(0.8)
    assert tuple(s) == SCORE_NAMES


def test_every_module_uses_the_one_metrics_module() -> None:
    """The leaderboard's scores and federated learning's evaluation are the metrics module's numbers."""
    import pyarrow as pa

    from campaignlab.leaderboard.scoring import Predictions, check_and_score
    from campaignlab.leaderboard.store import AnswerKey

    ids = pa.array([f"s{i}" for i in range(len(Y_TRUE))])
    key = AnswerKey(ids, Y_TRUE.astype(np.int8), np.ones(len(Y_TRUE), bool))
    lb = check_and_score(Predictions(ids, pa.array(Y_PRED, pa.int8())), key).scores["public"]
    assert lb == pytest.approx(scores(Y_TRUE, Y_PRED))
    from campaignlab.federated import model as fl_model

    assert fl_model.scores is scores  # federated evaluation calls the same function


def test_metrics_agree_with_scikit_learn() -> None:
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.metrics import confusion_matrix as sk_cm

    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 3, 500), rng.integers(0, 3, 500)
    p[:5] = 2
    m = classification_metrics(t, p)
    assert m["macro_f1"] == pytest.approx(f1_score(t, p, average="macro"))
    assert m["weighted_f1"] == pytest.approx(f1_score(t, p, average="weighted"))
    assert list(m["per_class_f1"].values()) == pytest.approx(list(f1_score(t, p, average=None)))
    assert m["accuracy"] == pytest.approx(accuracy_score(t, p))
    assert m["confusion_matrix"] == sk_cm(t, p, labels=[0, 1, 2]).tolist()


def test_a_class_never_predicted_scores_zero_not_nan() -> None:
    m = classification_metrics(np.array([0, 1, 2]), np.array([0, 0, 0]))
    assert m["per_class_f1"]["average"] == 0.0 and m["per_class_f1"]["positive"] == 0.0
    assert macro_f1(np.array([0, 1, 2]), np.array([0, 1, 2])) == 1.0


def test_bad_labels_are_rejected() -> None:
    with pytest.raises(DataError, match=r"outside 0\.\.2"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]))
    with pytest.raises(DataError, match="2 labels but y_pred has 3"):
        confusion_matrix(np.array([0, 1]), np.array([0, 1, 2]))


def test_write_evaluation_files(tmp_path: Path) -> None:
    proba = np.eye(3)[Y_PRED] * 0.7 + 0.1
    ids = np.array([f"c{i}" for i in range(10)], dtype=object)
    m = write_evaluation(tmp_path, Y_TRUE, Y_PRED, proba, ids, meta={"model_type": "x"})
    assert json.loads((tmp_path / "metrics.json").read_text()) == m
    assert json.loads((tmp_path / "kfp_metrics.json").read_text()) == pytest.approx(
        {
            "macro_f1": m["macro_f1"],
            "weighted_f1": m["weighted_f1"],
            "accuracy": 0.6,
            "f1_negative": 4 / 7,
            "f1_average": 4 / 7,
            "f1_positive": 2 / 3,
            "priority_weighted_f1": priority_weighted_f1(Y_TRUE, Y_PRED),
        }
    )
    cm = json.loads((tmp_path / "confusion_matrix.json").read_text())
    assert cm == {
        "categories": ["negative", "average", "positive"],
        "matrix": [[2, 1, 1], [1, 2, 0], [0, 1, 2]],
    }
    table = pq.read_table(tmp_path / "predictions.parquet")
    assert table["label"].to_pylist() == Y_PRED.tolist()
    assert table["prob_positive"].to_pylist()[3] == pytest.approx(0.8)
    ev = json.loads((tmp_path / "evaluation.json").read_text())
    assert ev["num_samples"] == 10 and ev["model_type"] == "x"


def test_confusion_matrix_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "cm.png"
    confusion_matrix_plot([[5, 1, 0], [2, 3, 1], [0, 0, 0]], out)  # an empty row must not divide by zero
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_results_table_in_the_reports_shape() -> None:
    m = classification_metrics(Y_TRUE, Y_PRED)
    text = results_table(
        [{"preset": "v25", "model": "Deep Learning Arch2", "metrics": m, "seconds": 12.34}],
        {("v25", "Deep Learning Arch2"): (89.47, 91.25, 85.95, 91.22)},
    )
    lines = text.splitlines()
    assert lines[0].startswith("| dataset | model | macro F1 | negative | average | positive |")
    assert lines[2] == (
        "| v25 | Deep Learning Arch2 | 60.32 | 57.14 | 57.14 | 66.67 "
        "| 89.47 (91.25 / 85.95 / 91.22) | -29.15 | 12.3 |"
    )
