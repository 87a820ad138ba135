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

    params = (
        {"data_uri": "gs://bucket/exports/2025-06/", "registry": "vertex://proj/us-central1/campaign-outcome"}
        if name == "retraining"
        else {}
    )
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


def _condition(spec: dict, tasks: dict, name: str) -> tuple[str, dict]:
    """The condition text and the inner tasks of the ``dsl.If`` group named ``name``."""
    task = next(t for k, t in tasks.items() if k.startswith("condition") and name in t["taskInfo"]["name"])
    return task["triggerPolicy"]["condition"], spec["components"][task["componentRef"]["name"]]["dag"][
        "tasks"
    ]


def test_retraining_gates_the_data_then_promotes_only_under_if(compiled: dict[str, Path]) -> None:
    spec = yaml.safe_load(compiled["retraining"].read_text())
    tasks = _tasks(spec)
    assert {"pull-model", "importer", "ingest", "embed", "gate"} <= set(tasks)
    assert tasks["gate"]["dependentTasks"] == sorted(["embed", "ingest", "pull-model"])
    # A failed gate runs only the stop step; a passed gate trains, evaluates both, compares, registers.
    cond, inner = _condition(spec, tasks, "data-drifted")
    assert "gate" in cond and "'false'" in cond and list(inner) == ["gate-verdict"]
    cond, inner = _condition(spec, tasks, "data-ok")
    assert "'true'" in cond
    assert {"train-model", "evaluate", "evaluate-2", "compare-models", "register-version"} <= set(inner)
    # Champion and challenger are scored on the same new features.
    embed_out = [
        i["componentInputArtifact"]
        for i in (
            inner["evaluate"]["inputs"]["artifacts"]["features"],
            inner["evaluate-2"]["inputs"]["artifacts"]["features"],
        )
    ]
    assert embed_out[0] == embed_out[1]
    cond, promote = _condition(spec, inner, "challenger-wins")
    assert "promote" in cond and "'true'" in cond and list(promote) == ["promote-version"]
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert "champion_model_uri" not in params
    assert not params["data_uri"].get("isOptional") and not params["registry"].get("isOptional")
    assert params["model"]["defaultValue"] == "robust_modality"  # Arch2: the best family, not LightGBM
    assert params["split"]["defaultValue"] == "time" and params["on_drift"]["defaultValue"] == "stop"


def test_training_and_federated_take_generated_raw_or_ingested_data(compiled: dict[str, Path]) -> None:
    for name in ("training", "federated"):
        spec = yaml.safe_load(compiled[name].read_text())
        tasks = _tasks(spec)
        branches = spec["components"][tasks["condition-branches-1"]["componentRef"]["name"]]["dag"]["tasks"]
        conds = {t["taskInfo"]["name"]: t["triggerPolicy"]["condition"] for t in branches.values()}
        assert set(conds) == {"own-campaigns", "ingested-dataset", "generated-data"}
        assert "data_uri" in conds["own-campaigns"] and "dataset_uri" in conds["ingested-dataset"]
        inner = {
            k: spec["components"][t["componentRef"]["name"]]["dag"]["tasks"] for k, t in branches.items()
        }
        assert {"importer", "ingest"} == set(inner["condition-2"]) and set(inner["condition-4"]) == {
            "generate"
        }
        # embed reads whichever branch ran (dsl.OneOf).
        src = tasks["embed"]["inputs"]["artifacts"]["dataset"]["taskOutputArtifact"]
        assert src["producerTask"] == "condition-branches-1"
        params = spec["root"]["inputDefinitions"]["parameters"]
        assert params["data_uri"]["defaultValue"] == "" and params["mapping"]["parameterType"] == "STRUCT"


def test_experiments_fans_out_with_parallel_for(compiled: dict[str, Path]) -> None:
    spec = yaml.safe_load(compiled["experiments"].read_text())
    loops = [t for t in _tasks(spec).values() if "parameterIterator" in t]
    assert len(loops) == 2
    items = sorted(t["parameterIterator"]["items"]["inputParameter"] for t in loops)
    assert items == ["pipelinechannel--client_counts", "pipelinechannel--presets"]


def test_federated_compares_federated_with_centralized(compiled: dict[str, Path]) -> None:
    spec = yaml.safe_load(compiled["federated"].read_text())
    tasks = _tasks(spec)
    assert list(tasks) == ["compare-federated", "condition-branches-1", "embed", "federate", "partition"]
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
