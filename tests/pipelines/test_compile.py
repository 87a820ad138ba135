"""Every pipeline compiles, its YAML loads in aiplatform's PipelineJob, and run parameters are validated."""

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
PIPELINES = ("training", "federated", "experiments", "retraining")


@pytest.fixture(scope="module")
def images_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An images file like containers/build.sh writes (content-hash tags)."""
    f = tmp_path_factory.mktemp("img") / "images.json"
    names = ("core", "gbm", "torch", "fl", "embed", "serve")
    f.write_text(
        json.dumps(
            {
                "version": __version__,
                "images": {n: f"campaignlab-{n}:{__version__}-0123456789ab" for n in names},
            }
        )
    )
    return f


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory, images_file: Path) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("compiled")
    paths = {}
    for name in PIPELINES:
        paths[name] = out / f"{name}.yaml"
        res = runner.invoke(
            app, ["pipeline", "compile", name, "--out", str(paths[name]), "--images", str(images_file)]
        )
        assert res.exit_code == 0, res.output
    return paths


def _tasks(spec: dict) -> dict:
    return spec["root"]["dag"]["tasks"]


@pytest.mark.parametrize("name", PIPELINES)
def test_compiled_yaml_loads_in_pipeline_job(compiled: dict[str, Path], name: str) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    params = {"champion_model_uri": "gs://bucket/models/champion"} if name == "retraining" else {}
    job = aiplatform.PipelineJob(
        display_name=f"test-{name}",
        template_path=str(compiled[name]),
        pipeline_root="gs://bucket/root",
        parameter_values=params,
        enable_caching=False,
        project="proj",
        location="us-central1",
        credentials=AnonymousCredentials(),
    )
    assert job.pipeline_spec["pipelineInfo"]["name"] == f"campaignlab-{name}"
    assert job.runtime_config.gcs_output_directory == "gs://bucket/root"
    spec = yaml.safe_load(compiled[name].read_text())
    images = {
        e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values() if "container" in e
    }
    assert images and all(i.endswith(f":{__version__}-0123456789ab") for i in images), images


def test_training_runs_three_trainers_in_parallel_then_picks_best(compiled: dict[str, Path]) -> None:
    spec = yaml.safe_load(compiled["training"].read_text())
    tasks = _tasks(spec)
    trainers = [t for t in tasks if t.startswith("train-")]
    assert sorted(trainers) == ["train-hierarchical-lgbm", "train-robust-modality", "train-shared-latent"]
    for t in trainers:  # each depends on embed only: nothing serialises the three
        assert tasks[t]["dependentTasks"] == ["embed"]
    compare = tasks["compare-models"]
    assert sorted(compare["dependentTasks"]) == sorted([*trainers, "evaluate", "evaluate-2", "evaluate-3"])
    # The defaults of the config file became the compiled defaults.
    defaults = spec["root"]["inputDefinitions"]["parameters"]
    assert defaults["preset"]["defaultValue"] == "v25" and defaults["scale"]["defaultValue"] == 0.01


def test_retraining_promotes_only_under_if(compiled: dict[str, Path]) -> None:
    spec = yaml.safe_load(compiled["retraining"].read_text())
    tasks = _tasks(spec)
    cond = [t for t in tasks.values() if "triggerPolicy" in t]
    assert len(cond) == 1
    assert (
        "promote" in cond[0]["triggerPolicy"]["condition"]
        and "'true'" in cond[0]["triggerPolicy"]["condition"]
    )
    inner = spec["components"][cond[0]["componentRef"]["name"]]["dag"]["tasks"]
    assert list(inner) == ["register-model"]
    assert "importer" in tasks  # the champion comes in as a Model artifact
    assert "champion_model_uri" in spec["root"]["inputDefinitions"]["parameters"]


def test_experiments_fans_out_with_parallel_for(compiled: dict[str, Path]) -> None:
    spec = yaml.safe_load(compiled["experiments"].read_text())
    loops = [t for t in _tasks(spec).values() if "parameterIterator" in t]
    assert len(loops) == 2
    items = sorted(t["parameterIterator"]["items"]["inputParameter"] for t in loops)
    assert items == ["pipelinechannel--client_counts", "pipelinechannel--presets"]


def test_federated_compares_federated_with_centralized(compiled: dict[str, Path]) -> None:
    spec = yaml.safe_load(compiled["federated"].read_text())
    tasks = _tasks(spec)
    assert list(tasks) == ["compare-federated", "embed", "federate", "generate", "partition"]
    assert tasks["compare-federated"]["dependentTasks"] == ["federate"]
    args = spec["deploymentSpec"]["executors"]["exec-compare-federated"]["container"]["args"]
    run_path = "{{$.inputs.artifacts['run'].path}}"
    concat = [json.loads(a)["Concat"] for a in args if a.startswith('{"Concat"')]
    assert concat == [
        ["federated=", run_path, "#federated.final"],
        ["centralized=", run_path, "#centralized"],
    ]


def test_bad_run_parameters_fail_before_compiling(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("preset: v25\nscael: 0.1\nseed: forty-two\n")
    res = runner.invoke(
        app, ["pipeline", "compile", "training", "--out", str(tmp_path / "x.yaml"), "--config", str(cfg)]
    )
    assert res.exit_code == 2
    assert "scael: got 0.1 -> unknown key" in res.output
    assert "seed: got 'forty-two'" in res.output
    assert not (tmp_path / "x.yaml").exists()
    res = runner.invoke(app, ["pipeline", "compile", "nope", "--out", str(tmp_path / "x.yaml")])
    assert res.exit_code == 2 and "expected one of ['training'" in res.output


def test_param_overrides_become_defaults_and_registry_applies(tmp_path: Path, images_file: Path) -> None:
    out = tmp_path / "t.yaml"
    res = runner.invoke(
        app,
        ["pipeline", "compile", "experiments", "--out", str(out), "--images", str(images_file),
         "--param", "presets=[v26]", "--param", "client_counts=[5, 10]",
         "--registry", "europe-docker.pkg.dev/p/r", "--image-tag", "0.1.0"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    spec = yaml.safe_load(out.read_text())
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["presets"]["defaultValue"] == ["v26"]
    assert params["client_counts"]["defaultValue"] == [5, 10]
    images = {
        e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values() if "container" in e
    }
    assert "europe-docker.pkg.dev/p/r/campaignlab-fl:0.1.0" in images


@pytest.mark.parametrize("name", PIPELINES)
def test_shipped_configs_validate(name: str) -> None:
    import pipelines
    from campaignlab.config import read_yaml
    from pipelines.params import default_config, model_from_signature

    path = default_config(name)
    assert path is not None
    model = model_from_signature(name, pipelines.get(name).pipeline_func)
    model.model_validate(read_yaml(path))
