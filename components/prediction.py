"""Score new raw campaigns with a registry's model (``campaignlab predict --registry R:ALIAS --campaigns``).

The step resolves the alias (``champion`` by default) in the registry, re-embeds the campaigns with the
model's own embedding recipe (``recipe.json``: encoder, task type, dimensions, geo table, platform
vocabulary) and scores them with per-modality attributions. It runs in the ``serve`` image, which holds
every model family's libraries and the text encoder.
"""

from kfp import dsl

from components.images import SERVE_IMAGE


@dsl.container_component
def predict_campaigns(
    campaigns: dsl.Input[dsl.Dataset],
    registry: dsl.Input[dsl.Artifact],
    predictions: dsl.Output[dsl.Dataset],
    alias: str = "champion",
):
    """Predictions and an errors file for a batch of new campaigns.

    Args:
        campaigns: raw campaigns (a CSV, Parquet or JSON Lines file, a folder of them, or a dataset folder
            written by ``campaignlab ingest --unlabelled``), no label needed.
        registry: the model registry folder (local, or on Cloud Storage).
        predictions: a folder: ``predictions.parquet`` (campaign_id, label, tier, prob_*,
            attribution_*), ``errors.parquet`` (every row that could not be scored, with its row number,
            field and reason), ``summary.json`` and ``attribution.png`` (mean absolute attribution per
            modality).
        alias: the registry alias (or version number) of the model to use.
    """
    return dsl.ContainerSpec(
        image=SERVE_IMAGE,
        command=["campaignlab", "predict"],
        args=[
            "--registry", dsl.ConcatPlaceholder([registry.path, ":", alias]),
            "--campaigns", campaigns.path,
            "--out", predictions.path,
            "--quiet",
        ],
    )  # fmt: skip
