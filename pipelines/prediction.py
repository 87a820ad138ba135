"""Prediction pipeline: new campaigns in, a registered model scores them, predictions and errors out.

pull the model (registry, ref: champion) ─┐
import new campaigns ─────────────────────┴─ predict: re-embed with the model's recipe, score, explain
"""

from kfp import dsl

from components import predict_campaigns, pull_model
from pipelines import resources
from pipelines.params import run_defaults

_DEFAULTS = run_defaults("prediction")  # pipelines/configs/prediction.yaml
_R = resources.defaults("predict")  # pipelines/resources.py


@dsl.pipeline(
    name="campaignlab-prediction",
    description="Score new campaigns with the registry's champion: predictions, attributions and errors.",
)
def prediction(
    campaigns_uri: str,
    registry: str,
    ref: str = _DEFAULTS["ref"],
    mapping: dict = _DEFAULTS["mapping"],
    predict_cpu: str = _R["predict_cpu"],
    predict_memory: str = _R["predict_memory"],
):
    """Pull a registered model and score a batch of new raw campaigns with it, re-embedded with that
    model's recipe: predictions with per-modality attributions, and an errors file for every row that
    could not be scored.

    Args:
        campaigns_uri: the new campaigns (gs://... on Vertex; a local path for a local run): a
            CSV/Parquet/JSON Lines file, a folder of them, or an ingested dataset folder, in the
            raw-campaign contract (no label).
        registry: the model registry (vertex://PROJECT/REGION/MODEL on Vertex; in a local run a folder
            under the runs root).
        ref: which registered version scores them: an alias (champion, challenger), a version number
            or latest.
        mapping: the campaigns' columns and value conventions (the keys of ``campaignlab ingest``'s
            mapping file; the same mapping the model's training data was ingested with works unchanged).
        predict_cpu, predict_memory: limits of the predict step (Vertex picks the machine).
    """
    pulled = pull_model(registry=registry, ref=ref).set_display_name("pull model")
    campaigns = dsl.importer(artifact_uri=campaigns_uri, artifact_class=dsl.Dataset, reimport=False)
    campaigns.set_display_name("new campaigns")
    scored = predict_campaigns(model=pulled.outputs["model"], campaigns=campaigns.output, mapping=mapping)
    scored.set_display_name("predict")
    resources.limit(scored, predict_cpu, predict_memory)
