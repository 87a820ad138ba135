"""The prediction pipeline compiles, loads in aiplatform's PipelineJob, and has the documented DAG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from campaignlab import __version__
from campaignlab.cli import build_app

app = build_app()
runner = CliRunner()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("prediction")
    images = root / "images.json"
    names = ("core", "gbm", "torch", "fl", "embed", "serve")
    tags = {n: f"campaignlab-{n}:{__version__}-0123456789ab" for n in names}
    images.write_text(json.dumps({"version": __version__, "images": tags}))
    out = root / "prediction.yaml"
    res = runner.invoke(
        app, ["pipeline", "compile", "prediction", "--out", str(out), "--images", str(images)]
    )
    assert res.exit_code == 0, res.output
    return out


def test_prediction_pipeline_pulls_the_ref_and_scores_with_it(compiled: Path) -> None:
    spec = yaml.safe_load(compiled.read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert sorted(tasks) == ["importer", "predict-campaigns", "pull-model"]
    assert sorted(tasks["predict-campaigns"]["dependentTasks"]) == ["importer", "pull-model"]
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["ref"]["defaultValue"] == "champion" and params["mapping"]["parameterType"] == "STRUCT"
    assert "defaultValue" not in params["campaigns_uri"] and "defaultValue" not in params["registry"]
    executors = spec["deploymentSpec"]["executors"]
    pull = executors["exec-pull-model"]["container"]
    assert pull["command"] == ["campaignlab", "models", "pull"]
    assert pull["args"][0] == "{{$.inputs.parameters['ref']}}"
    container = executors["exec-predict-campaigns"]["container"]
    assert container["image"] == f"campaignlab-serve:{__version__}-0123456789ab"
    assert container["command"] == ["campaignlab", "predict"]
    args = container["args"]
    assert args[args.index("--model") + 1] == "{{$.inputs.artifacts['model'].path}}"
    assert args[args.index("--mapping") + 1] == "{{$.inputs.parameters['mapping']}}"
    model_in = tasks["predict-campaigns"]["inputs"]["artifacts"]["model"]["taskOutputArtifact"]
    assert model_in == {"outputArtifactKey": "model", "producerTask": "pull-model"}
    assert container["resources"]["resourceCpuLimit"].startswith("{{$.inputs.parameters[")


def test_prediction_pipeline_loads_in_pipeline_job(compiled: Path) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    job = aiplatform.PipelineJob(
        display_name="test-prediction",
        template_path=str(compiled),
        pipeline_root="gs://bucket/root",
        parameter_values={
            "campaigns_uri": "gs://bucket/new.csv",
            "registry": "vertex://proj/us-central1/campaign-outcome",
            "mapping": {"campaign_id": "Campaign ID"},
        },
        enable_caching=False,
        project="proj",
        location="us-central1",
        credentials=AnonymousCredentials(),
    )
    assert job.pipeline_spec["pipelineInfo"]["name"] == "campaignlab-prediction"


def test_shipped_prediction_config_validates() -> None:
    import pipelines
    from campaignlab.config import read_yaml
    from pipelines.params import default_config, model_from_signature

    path = default_config("prediction")
    assert path is not None
    model = model_from_signature("prediction", pipelines.get("prediction").pipeline_func)
    model.model_validate(read_yaml(path))
