"""Prediction pipeline: new campaigns in, the registry's champion scores them, predictions and errors out."""

from kfp import dsl

from components.prediction import predict_campaigns


@dsl.pipeline(
    name="campaignlab-prediction",
    description="Score new campaigns with the registry's champion: predictions, attributions and errors.",
)
def prediction(campaigns_uri: str, registry_uri: str, alias: str = "champion"):
    """Import a batch of new campaigns and the model registry, then score the campaigns with the model the
    alias names, re-embedded with that model's recipe.

    Args:
        campaigns_uri: the new campaigns (gs://... on Vertex; a local path for a local run): a file, a
            folder of files or an ingested dataset folder, in the raw-campaign contract (no label).
        registry_uri: the model registry folder (gs://BUCKET/registry on Vertex).
        alias: which registered model scores them (``champion``, ``challenger`` or a version number).
    """
    campaigns = dsl.importer(
        artifact_uri=campaigns_uri, artifact_class=dsl.Dataset, reimport=False
    ).set_display_name("new campaigns")
    registry = dsl.importer(
        artifact_uri=registry_uri, artifact_class=dsl.Artifact, reimport=False
    ).set_display_name("model registry")
    predict_campaigns(campaigns=campaigns.output, registry=registry.output, alias=alias).set_display_name(
        "predict with the registry's model"
    )
