"""Evaluate a model on a features folder's test split (``campaignlab evaluate``).

The core command writes one evaluation folder; ``campaignlab kfp-metadata`` then publishes it as
typed artifacts (Metrics, ClassificationMetrics, an HTML report, the predictions as a Dataset) and
writes the executor output with the metadata that the Vertex AI console shows.
"""

from kfp import dsl

from components.images import TORCH_IMAGE

# Two campaignlab calls in one container; "$0".."${10}" are the args below (sh -c convention).
# With a leaderboard URL the test predictions are also submitted (token: the container's
# CAMPAIGNLAB_LEADERBOARD_TOKEN environment variable, e.g. from Secret Manager on Vertex).
_SCRIPT = """\
if [ -n "$8" ]; then
  campaignlab evaluate --model "$0" --features "$1" --out "$2" \
    --leaderboard-url "$8" --leaderboard-version "$9" --leaderboard-model "${10}"
else
  campaignlab evaluate --model "$0" --features "$1" --out "$2"
fi
campaignlab kfp-metadata "$2" --metrics "$3" --classification-metrics "$4" --report "$5" \
  --predictions "$6" --executor-input "$7"
"""


@dsl.container_component
def evaluate(
    model: dsl.Input[dsl.Model],
    features: dsl.Input[dsl.Dataset],
    evaluation: dsl.Output[dsl.Artifact],
    metrics: dsl.Output[dsl.Metrics],
    confusion_matrix: dsl.Output[dsl.ClassificationMetrics],
    report: dsl.Output[dsl.HTML],
    predictions: dsl.Output[dsl.Dataset],
    leaderboard_url: str = "",
    leaderboard_version: str = "",
    leaderboard_model: str = "",
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
        leaderboard_url: if set, also submit the predictions to this leaderboard for blind scoring.
        leaderboard_version: the leaderboard's dataset version (required with ``leaderboard_url``).
        leaderboard_model: the model name shown in the leaderboard ranking.
    """
    return dsl.ContainerSpec(
        image=TORCH_IMAGE,
        command=["sh", "-ec", _SCRIPT],
        args=[
            model.path,
            features.path,
            evaluation.path,
            metrics.path,
            confusion_matrix.path,
            report.path,
            predictions.path,
            dsl.PIPELINE_TASK_EXECUTOR_INPUT_PLACEHOLDER,
            leaderboard_url,
            leaderboard_version,
            leaderboard_model,
        ],
    )
