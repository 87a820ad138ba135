"""Classification metrics for the three outcome tiers (pure numpy, no scikit-learn needed).

Macro F1 is the leaderboard's ranking metric (multimodal report, "Experimentation"): every class
counts equally, so a model cannot rank by over-predicting the majority class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from campaignlab import LABEL_NAMES
from campaignlab.errors import DataError

PRIORITY_WEIGHTS = {"negative": 0.4, "average": 0.1, "positive": 0.5}
"""The report's LightGBM tuning objective: F1 weighted Positives 50%, Negatives 40%, Averages 10%."""


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(y_pred).astype(np.int64).ravel()
    if t.shape != p.shape:
        raise DataError(f"y_true has {t.size} labels but y_pred has {p.size}")
    if t.size == 0:
        raise DataError("no labels to score")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.min() < 0 or a.max() > 2:
            raise DataError(f"{name}: got labels outside 0..2 ({sorted(set(a.tolist()) - {0, 1, 2})})")
    return t, p


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """(3, 3) counts; rows are true classes, columns predicted classes (0 Negative, 1 Average, 2 Positive)."""
    t, p = _check(y_true, y_pred)
    return np.bincount(t * 3 + p, minlength=9).reshape(3, 3)


def f1_per_class(cm: np.ndarray) -> np.ndarray:
    """F1 of each class from a confusion matrix; a class never predicted nor present scores 0."""
    tp = np.diag(cm).astype(float)
    denom = cm.sum(0) + cm.sum(1)  # 2TP + FP + FN
    return np.divide(2 * tp, denom, out=np.zeros(3), where=denom > 0)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """The ``metrics.json`` contract.

    Returns:
        ``macro_f1``, ``per_class_f1`` (``negative``, ``average``, ``positive``), ``weighted_f1``
        (F1 weighted by class support, as scikit-learn's ``average="weighted"``), ``accuracy`` and
        ``confusion_matrix`` (rows true, columns predicted), all as plain JSON types.
    """
    cm = confusion_matrix(y_true, y_pred)
    f1 = f1_per_class(cm)
    support = cm.sum(1)
    return {
        "macro_f1": float(f1.mean()),
        "per_class_f1": {name: float(f1[i]) for i, name in enumerate(LABEL_NAMES)},
        "weighted_f1": float((f1 * support).sum() / support.sum()),
        "accuracy": float(np.trace(cm) / cm.sum()),
        "confusion_matrix": cm.astype(int).tolist(),
    }


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(f1_per_class(confusion_matrix(y_true, y_pred)).mean())


def priority_weighted_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The report's LightGBM objective: 0.5 F1(positive) + 0.4 F1(negative) + 0.1 F1(average)."""
    f1 = f1_per_class(confusion_matrix(y_true, y_pred))
    return float(sum(PRIORITY_WEIGHTS[name] * f1[i] for i, name in enumerate(LABEL_NAMES)))
