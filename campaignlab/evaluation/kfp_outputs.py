"""Publish an evaluation folder as typed KFP output artifacts, without importing kfp.

``campaignlab evaluate`` writes one folder (``metrics.json``, ``kfp_metrics.json``,
``confusion_matrix.json``, ``confusion_matrix.png``, ``predictions.parquet``). A pipeline step wants
typed artifacts: a Metrics file, a ClassificationMetrics file, an HTML report and a Dataset.
``campaignlab kfp-metadata`` copies each to the path KFP gave it and, given the task's executor
input (the ``{{$}}`` placeholder), writes ``executor_output.json`` with the artifact metadata that
the Vertex AI console displays (scalar metrics and the confusion matrix) in the format of
``kfp.dsl.executor`` (``{"artifacts": {name: {"artifacts": [{"name", "uri", "metadata"}]}}}``).
"""

from __future__ import annotations

import base64
import html
import json
import shutil
from pathlib import Path
from typing import Any

from campaignlab.errors import DataError
from campaignlab.io import atomic_write_bytes, read_json, require_complete, write_json


def metrics_metadata(eval_dir: Path) -> dict[str, float]:
    """``kfp_metrics.json``: flat name -> number (what a ``system.Metrics`` artifact shows)."""
    data = read_json(eval_dir / "kfp_metrics.json")
    if not isinstance(data, dict):
        raise DataError(f"{str(eval_dir / 'kfp_metrics.json')!r} must map metric names to numbers")
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def confusion_metadata(eval_dir: Path) -> dict[str, Any]:
    """``confusion_matrix.json`` as ``system.ClassificationMetrics`` metadata (``confusionMatrix``)."""
    data = read_json(eval_dir / "confusion_matrix.json")
    try:
        categories, matrix = list(data["categories"]), [list(map(int, r)) for r in data["matrix"]]
    except (KeyError, TypeError, ValueError):
        raise DataError(
            f"{str(eval_dir / 'confusion_matrix.json')!r} must hold 'categories' and 'matrix'"
        ) from None
    return {
        "confusionMatrix": {
            "annotationSpecs": [{"displayName": str(c)} for c in categories],
            "rows": [{"row": r} for r in matrix],
        }
    }


def html_report(eval_dir: Path) -> str:
    """Metrics table and the confusion-matrix plot (inline) as one HTML page."""
    metrics = metrics_metadata(eval_dir)
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{v:.4f}</td></tr>" for k, v in sorted(metrics.items()))
    png = eval_dir / "confusion_matrix.png"
    img = ""
    if png.is_file():
        data = base64.b64encode(png.read_bytes()).decode()
        img = f"<p><img alt='confusion matrix' src='data:image/png;base64,{data}'></p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Evaluation</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px 8px}"
        "table{border-collapse:collapse}</style></head><body><h1>Evaluation</h1>"
        f"<table>{rows}</table>{img}</body></html>\n"
    )


def publish(
    eval_dir: Path,
    *,
    metrics: Path | None = None,
    classification_metrics: Path | None = None,
    report: Path | None = None,
    predictions: Path | None = None,
    executor_input: str | None = None,
) -> dict[str, Any]:
    """Copy the evaluation files to the artifact paths; write executor_output.json if possible.

    Returns:
        The executor output written (empty when no usable executor input was given: running
        outside a KFP launcher, e.g. by hand, is fine and just skips the metadata).
    """
    require_complete(eval_dir, "evaluation folder", needs=("metrics.json",))
    scalar = metrics_metadata(eval_dir)
    confusion = confusion_metadata(eval_dir)
    if metrics is not None:
        write_json(metrics, scalar)
    if classification_metrics is not None:
        write_json(classification_metrics, confusion)
    if report is not None:
        atomic_write_bytes(report, html_report(eval_dir).encode())
    if predictions is not None:
        src = eval_dir / "predictions.parquet"
        if not src.is_file():
            raise DataError(f"{str(src)!r} does not exist")
        predictions.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, predictions)
    return write_executor_output(executor_input, scalar, confusion)


def write_executor_output(
    executor_input: str | None, scalar: dict[str, float], confusion: dict[str, Any]
) -> dict[str, Any]:
    """Attach metadata to every Metrics / ClassificationMetrics output named in the executor input."""
    if not executor_input:
        return {}
    try:
        spec = json.loads(executor_input)
        outputs = spec["outputs"]
        output_file = outputs["outputFile"]
    except (ValueError, KeyError, TypeError):
        # An unresolved "{{$}}" (a runner without executor input): files are published, no metadata.
        return {}
    result: dict[str, Any] = {"artifacts": {}}
    for name, entry in (outputs.get("artifacts") or {}).items():
        for art in entry.get("artifacts", []):
            schema = (art.get("type") or {}).get("schemaTitle", "")
            if schema == "system.Metrics":
                meta: dict[str, Any] = dict(scalar)
            elif schema == "system.ClassificationMetrics":
                meta = dict(confusion)
            else:
                continue
            result["artifacts"][name] = {
                "artifacts": [{"name": art.get("name", ""), "uri": art.get("uri", ""), "metadata": meta}]
            }
    atomic_write_bytes(output_file, json.dumps(result).encode())
    return result
