"""Score new raw campaigns with a model folder (``campaignlab predict --model M --campaigns C``).

The step re-embeds the campaigns with the model's own embedding recipe (``recipe.json``: encoder, task
type, dimensions, geo table, platform vocabulary) and scores them with per-modality attributions. The
campaigns are read and validated as ``campaignlab ingest`` reads them, with the same mapping. It runs in
the ``serve`` image, which holds every model family's libraries and the text encoder.
"""

from kfp import dsl

from components.images import SERVE_IMAGE


@dsl.container_component
def predict_campaigns(
    model: dsl.Input[dsl.Model],
    campaigns: dsl.Input[dsl.Dataset],
    predictions: dsl.Output[dsl.Dataset],
    mapping: dict = {},  # noqa: B006  kfp needs a literal default; the component never mutates it
):
    """Predictions and an errors file for a batch of new campaigns.

    Args:
        model: a model folder written by ``campaignlab train`` (e.g. pulled from the registry).
        campaigns: raw campaigns (a CSV, Parquet or JSON Lines file, a folder of them, or a dataset folder
            written by ``campaignlab ingest --unlabelled``), no label needed.
        predictions: a folder: ``predictions.parquet`` (campaign_id, label, tier, prob_*,
            attribution_*), ``errors.parquet`` (every row that could not be scored, with the columns of
            ingest's ``rejected.parquet``: source, row, line, field, value, reason, ...),
            ``summary.json`` and ``attribution.png`` (mean absolute attribution per modality).
        mapping: the campaigns' column names and value conventions (the keys of ingest's mapping file,
            e.g. ``{"campaign_id": "Campaign ID", "zip_zero_pad": true}``); empty: the contract's names.
    """
    return dsl.ContainerSpec(
        image=SERVE_IMAGE,
        command=["campaignlab", "predict"],
        args=[
            "--model", model.path,
            "--campaigns", campaigns.path,
            "--mapping", mapping,
            "--out", predictions.path,
            "--quiet",
        ],
    )  # fmt: skip
