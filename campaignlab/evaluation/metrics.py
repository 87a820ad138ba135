"""Classification metrics for the three outcome tiers: the one place the project computes them.

Evaluation (``metrics.json``), tuning, the leaderboard's blind scoring and federated learning all call
these functions, so one name means one number everywhere. The F1 scores come from scikit-learn
(imported inside the functions: the core imports without it).

| name | meaning |
|---|---|
| ``macro_f1`` | unweighted mean of the three per-class F1: the leaderboard's ranking metric |
| ``f1_negative``, ``f1_average``, ``f1_positive`` | F1 of each class (0 Negative, 1 Average, 2 Positive) |
| ``weighted_f1`` | per-class F1 weighted by class support (scikit-learn's ``average="weighted"``) |
| ``priority_weighted_f1`` | 0.5 F1 Positive + 0.4 F1 Negative + 0.1 F1 Average: LightGBM's tuning metric |
| ``accuracy`` | share of samples predicted right |

Macro F1 ranks (multimodal report, "Experimentation"): every class counts equally, so a model cannot
rank by over-predicting the majority class. A class neither present nor predicted scores F1 0, not NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from campaignlab import LABEL_NAMES
from campaignlab.errors import DataError

LABELS = (0, 1, 2)
PRIORITY_WEIGHTS = {"negative": 0.4, "average": 0.1, "positive": 0.5}
"""The report's LightGBM tuning objective: F1 weighted Positives 50%, Negatives 40%, Averages 10%."""

SCORE_NAMES = (
    "macro_f1",
    "f1_negative",
    "f1_average",
    "f1_positive",
    "weighted_f1",
    "priority_weighted_f1",
    "accuracy",
)
"""The keys of :func:`scores`, in display order (the leaderboard stores one column per name)."""


def _check(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(y_pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise DataError(f"y_true has {t.size} labels but y_pred has {p.size}")
    if t.size == 0:
        raise DataError("no labels to score")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.min() < 0 or a.max() > 2:
            raise DataError(f"{name}: got labels outside 0..2 ({sorted(set(a.tolist()) - set(LABELS))})")
    return t, p


def confusion_matrix(y_true: Any, y_pred: Any) -> np.ndarray:
    """(3, 3) counts; rows are true classes, columns predicted classes (0 Negative, 1 Average, 2 Positive)."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    t, p = _check(y_true, y_pred)
    return np.asarray(sk_confusion_matrix(t, p, labels=list(LABELS)))


def per_class_f1(y_true: Any, y_pred: Any) -> np.ndarray:
    """(3,) F1 of each class, in label order; a class never predicted nor present scores 0."""
    from sklearn.metrics import f1_score

    t, p = _check(y_true, y_pred)
    return np.asarray(f1_score(t, p, labels=list(LABELS), average=None, zero_division=0), dtype=float)


def macro_f1(y_true: Any, y_pred: Any) -> float:
    """Unweighted mean of the per-class F1 (the ranking metric)."""
    return float(per_class_f1(y_true, y_pred).mean())


def weighted_f1(y_true: Any, y_pred: Any) -> float:
    """Per-class F1 weighted by each class's support in ``y_true`` (scikit-learn ``average="weighted"``)."""
    from sklearn.metrics import f1_score

    t, p = _check(y_true, y_pred)
    return float(f1_score(t, p, labels=list(LABELS), average="weighted", zero_division=0))


def _priority(f1: np.ndarray) -> float:
    return float(sum(PRIORITY_WEIGHTS[name] * f1[i] for i, name in enumerate(LABEL_NAMES)))


def priority_weighted_f1(y_true: Any, y_pred: Any) -> float:
    """The report's LightGBM objective: 0.5 F1(positive) + 0.4 F1(negative) + 0.1 F1(average)."""
    return _priority(per_class_f1(y_true, y_pred))


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Share of samples whose predicted tier is the true one."""
    from sklearn.metrics import accuracy_score

    t, p = _check(y_true, y_pred)
    return float(accuracy_score(t, p))


def scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """Every score of :data:`SCORE_NAMES` as plain floats (what the leaderboard and federated runs report).

    Raises:
        DataError: empty or mismatched inputs, or labels outside 0..2.
    """
    f1 = per_class_f1(y_true, y_pred)
    per = {f"f1_{name}": float(f1[i]) for i, name in enumerate(LABEL_NAMES)}
    return {
        "macro_f1": float(f1.mean()),
        **per,
        "weighted_f1": weighted_f1(y_true, y_pred),
        "priority_weighted_f1": _priority(f1),
        "accuracy": accuracy(y_true, y_pred),
    }


def classification_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """The ``metrics.json`` contract.

    Returns:
        ``macro_f1``, ``per_class_f1`` (``negative``, ``average``, ``positive``), ``weighted_f1``
        (support-weighted), ``priority_weighted_f1`` (0.5/0.4/0.1), ``accuracy`` and
        ``confusion_matrix`` (rows true, columns predicted), all as plain JSON types.
    """
    s = scores(y_true, y_pred)
    return {
        "macro_f1": s["macro_f1"],
        "per_class_f1": {name: s[f"f1_{name}"] for name in LABEL_NAMES},
        "weighted_f1": s["weighted_f1"],
        "priority_weighted_f1": s["priority_weighted_f1"],
        "accuracy": s["accuracy"],
        "confusion_matrix": confusion_matrix(y_true, y_pred).astype(int).tolist(),
    }
