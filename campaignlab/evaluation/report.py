"""Evaluation outputs: the files ``campaignlab evaluate`` writes and the benchmark's results table.

Evaluation folder:

* ``metrics.json``: ``macro_f1``, ``per_class_f1`` (``negative``, ``average``, ``positive``),
  ``weighted_f1`` (support-weighted), ``priority_weighted_f1`` (0.5 Positive + 0.4 Negative + 0.1
  Average), ``accuracy``, ``confusion_matrix`` (rows true, columns predicted), from
  :mod:`campaignlab.evaluation.metrics`;
* ``kfp_metrics.json``: the scalar metrics as one flat ``{name: float}`` mapping (each pair is one
  ``Metrics.log_metric`` call of a KFP ``Metrics`` artifact);
* ``confusion_matrix.json``: ``{"categories": [...], "matrix": [[...]]}``, the arguments of a KFP
  ``ClassificationMetrics.log_confusion_matrix`` call;
* ``confusion_matrix.png``;
* ``predictions.parquet``: ``sample_id`` string, ``label`` int8, ``prob_negative``, ``prob_average``,
  ``prob_positive`` float64;
* ``evaluation.json``: what was evaluated (model, features, split, rows), the priority-weighted F1 and
  versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from campaignlab import LABEL_NAMES
from campaignlab.evaluation.metrics import classification_metrics
from campaignlab.evaluation.plots import confusion_matrix_plot
from campaignlab.io import write_json, write_parquet

PREDICTION_COLUMNS = ("sample_id", "label", "prob_negative", "prob_average", "prob_positive")


def predictions_table(sample_id: np.ndarray, label: np.ndarray, proba: np.ndarray) -> pa.Table:
    """The predictions contract: one row per sample, predicted label and the three probabilities."""
    proba = np.asarray(proba, dtype=np.float64)
    return pa.table(
        {
            "sample_id": pa.array([str(s) for s in sample_id], pa.string()),
            "label": pa.array(np.asarray(label, dtype=np.int8), pa.int8()),
            **{f"prob_{name}": pa.array(proba[:, i], pa.float64()) for i, name in enumerate(LABEL_NAMES)},
        }
    )


def kfp_metrics(metrics: dict[str, Any], extra: dict[str, float] | None = None) -> dict[str, float]:
    """Flat scalar metrics for a KFP ``Metrics`` artifact."""
    flat = {
        "macro_f1": metrics["macro_f1"],
        "weighted_f1": metrics["weighted_f1"],
        "priority_weighted_f1": metrics["priority_weighted_f1"],
        "accuracy": metrics["accuracy"],
        **{f"f1_{k}": v for k, v in metrics["per_class_f1"].items()},
    }
    return {**flat, **(extra or {})}


def write_evaluation(
    out: str | Path,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray,
    sample_id: np.ndarray,
    *,
    title: str = "Confusion matrix",
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write every evaluation file into the existing folder ``out``; return the metrics."""
    out = Path(out)
    metrics = classification_metrics(y_true, y_pred)
    write_json(out / "metrics.json", metrics)
    write_json(out / "kfp_metrics.json", kfp_metrics(metrics))
    write_json(
        out / "confusion_matrix.json",
        {"categories": list(LABEL_NAMES), "matrix": metrics["confusion_matrix"]},
    )
    confusion_matrix_plot(
        metrics["confusion_matrix"],
        out / "confusion_matrix.png",
        title=f"{title} (macro F1 {metrics['macro_f1']:.3f})",
    )
    write_parquet(predictions_table(sample_id, y_pred, proba), out / "predictions.parquet")
    write_json(
        out / "evaluation.json",
        {**(meta or {}), "num_samples": len(y_true), "priority_weighted_f1": metrics["priority_weighted_f1"]},
    )
    return metrics


def results_table(
    rows: list[dict[str, Any]], reference: dict[tuple[str, str], tuple[float, float, float, float]]
) -> str:
    """Markdown table in the report's shape (macro F1, then F1 per class, in %) beside the report's figures.

    Args:
        rows: dicts with ``preset``, ``model`` (display name), ``metrics`` (``metrics.json`` content),
            ``seconds`` (training time) and optional ``note``.
        reference: ``(preset, model) -> (macro, negative, average, positive)`` in %, the report's table.
    """

    def pct(x: float) -> str:
        return f"{100 * x:.2f}"

    lines = [
        "| dataset | model | macro F1 | negative | average | positive | report macro F1 (neg / avg / pos) "
        "| Δ macro | train s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r["metrics"]
        f1 = m["per_class_f1"]
        ref = reference.get((r["preset"], r["model"]))
        ref_txt = f"{ref[0]:.2f} ({ref[1]:.2f} / {ref[2]:.2f} / {ref[3]:.2f})" if ref else "-"
        delta = f"{100 * m['macro_f1'] - ref[0]:+.2f}" if ref else "-"
        lines.append(
            f"| {r['preset']} | {r['model']} | {pct(m['macro_f1'])} | {pct(f1['negative'])} | "
            f"{pct(f1['average'])} | {pct(f1['positive'])} | {ref_txt} | {delta} | {r['seconds']:.1f} |"
        )
    return "\n".join(lines)
