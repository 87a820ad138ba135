"""Evaluate a model on a features folder's test split (``campaignlab evaluate``).

One command writes the evaluation folder, publishes it as typed artifacts (Metrics,
ClassificationMetrics, an HTML report, the predictions as a Dataset) and writes the executor output
with the metadata that the Vertex AI console shows. Given a leaderboard URL it also submits the test
predictions (the token: the container's ``CAMPAIGNLAB_LEADERBOARD_TOKEN`` environment variable, e.g.
from Secret Manager on Vertex).
"""

from typing import Optional

from kfp import dsl

from components.flags import optional
from components.images import TORCH_IMAGE


@dsl.container_component
def evaluate(
    model: dsl.Input[dsl.Model],
    features: dsl.Input[dsl.Dataset],
    evaluation: dsl.Output[dsl.Artifact],
    metrics: dsl.Output[dsl.Metrics],
    confusion_matrix: dsl.Output[dsl.ClassificationMetrics],
    report: dsl.Output[dsl.HTML],
    predictions: dsl.Output[dsl.Dataset],
    leaderboard_url: Optional[str] = None,  # noqa: UP045  kfp reads typing.Optional
    leaderboard_version: Optional[str] = None,  # noqa: UP045
    leaderboard_model: Optional[str] = None,  # noqa: UP045
):
    """Score a model folder written by a train step on the test split.

    Args:
        model: a model folder written by a train step.
        features: the features folder the model is scored on.
        evaluation: the evaluation folder (metrics.json, confusion_matrix.json/.png, predictions).
        metrics: macro F1, per-class F1, weighted F1 and accuracy.
        confusion_matrix: rows true class, columns predicted (negative, average, positive).
        report: the metrics and the confusion-matrix plot as one HTML page.
        predictions: predictions.parquet of the test split.
        leaderboard_url: if set (and not empty), also submit the predictions to this leaderboard.
        leaderboard_version: the leaderboard's dataset version (required with ``leaderboard_url``).
        leaderboard_model: the model name shown in the leaderboard ranking.
    """
    return dsl.ContainerSpec(
        image=TORCH_IMAGE,
        command=["campaignlab", "evaluate"],
        args=[
            "--model", model.path,
            "--features", features.path,
            "--out", evaluation.path,
            "--metrics-artifact", metrics.path,
            "--confusion-matrix-artifact", confusion_matrix.path,
            "--report-artifact", report.path,
            "--predictions-artifact", predictions.path,
            "--executor-input", dsl.PIPELINE_TASK_EXECUTOR_INPUT_PLACEHOLDER,
            optional("leaderboard_url", leaderboard_url),
            optional("leaderboard_version", leaderboard_version),
            optional("leaderboard_model", leaderboard_model),
        ],
    )  # fmt: skip
