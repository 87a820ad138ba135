"""Per-step resources: compiled as KFP resource requests bound to pipeline parameters, so Vertex AI
schedules each step on the machine (and GPUs) the run asks for. Checked on the compiled YAML, resolved
as Vertex resolves it: executor placeholder -> task input -> pipeline parameter -> value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from campaignlab.cli import build_app
from pipelines import resources
from tests.fakes.vertex_pipelines_server import VertexFake

app = build_app()
runner = CliRunner()
PLACEHOLDER = re.compile(r"^\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}$")


def compile_(tmp_path: Path, name: str, *params: str) -> dict[str, Any]:
    out = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}.yaml"
    args = ["pipeline", "compile", name, "--out", str(out)]
    for p in params:
        args += ["--param", p]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return yaml.safe_load(out.read_text())


def requests(spec: dict[str, Any], values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Each task's resources with the parameters resolved (``values`` as a run would pass them); tasks
    inside condition groups (e.g. the data branches: generate or ingest) are walked into."""
    root = spec["root"]
    run = {k: p.get("defaultValue") for k, p in root["inputDefinitions"]["parameters"].items()}
    run.update(values or {})
    executors = spec["deploymentSpec"]["executors"]
    out: dict[str, dict[str, Any]] = {}

    def bind(binding: dict[str, Any], env: dict[str, Any]) -> Any:
        if "componentInputParameter" in binding:
            return env.get(binding["componentInputParameter"])
        return (binding.get("runtimeValue") or {}).get("constant")

    def walk(tasks: dict[str, Any], env: dict[str, Any]) -> None:
        for task_name, task in tasks.items():
            component = spec["components"][task["componentRef"]["name"]]
            bindings = (task.get("inputs") or {}).get("parameters") or {}
            if "dag" in component:  # a condition group: its inputs bind the parent's values
                walk(component["dag"]["tasks"], {k: bind(b, env) for k, b in bindings.items()})
                continue
            executor = executors[component["executorLabel"]]
            if "container" not in executor:  # an importer: no machine
                continue
            res = executor["container"].get("resources") or {}

            def resolve(text: Any, bindings: dict[str, Any] = bindings, env: dict[str, Any] = env) -> Any:
                match = PLACEHOLDER.match(str(text))
                if not match:
                    return text
                return bind(bindings[match.group(1)], env)

            acc = res.get("accelerator") or {}
            out[task_name] = {
                "cpu": resolve(res.get("resourceCpuLimit")),
                "memory": resolve(res.get("resourceMemoryLimit")),
                "accelerator": (resolve(acc.get("resourceType")), int(resolve(acc.get("resourceCount")) or 0))
                if acc
                else None,
            }

    walk(root["dag"]["tasks"], run)
    return out


def test_every_step_carries_its_default_resources(tmp_path: Path) -> None:
    got = requests(compile_(tmp_path, "training"))
    d = resources.STEPS
    assert got["generate"] == {"cpu": d["generate"].cpu, "memory": d["generate"].memory, "accelerator": None}
    assert got["embed"] == {"cpu": "8", "memory": "32G", "accelerator": ("", 0)}
    for trainer in ("train-shared-latent", "train-robust-modality"):
        assert got[trainer] == {"cpu": "8", "memory": "32G", "accelerator": ("", 0)}
    assert got["train-hierarchical-lgbm"]["accelerator"] is None  # LightGBM: CPUs only
    assert all(got[t]["cpu"] == "4" and got[t]["memory"] == "16G" for t in got if t.startswith("evaluate"))
    federated = requests(compile_(tmp_path, "federated"))
    assert federated["federate"] == {"cpu": "8", "memory": "32G", "accelerator": ("", 0)}


def test_resource_requests_change_with_the_run_parameters(tmp_path: Path) -> None:
    """Compiled defaults (compile --param) and values given at submit time both pick the machine."""
    spec = compile_(tmp_path, "training", "train_cpu=16", "train_memory=64G",
                    "train_accelerator_type=NVIDIA_TESLA_T4", "train_accelerator_count=1")  # fmt: skip
    got = requests(spec)
    assert got["train-robust-modality"] == {
        "cpu": "16",
        "memory": "64G",
        "accelerator": ("NVIDIA_TESLA_T4", 1),
    }
    assert got["train-shared-latent"]["accelerator"] == ("NVIDIA_TESLA_T4", 1)
    assert got["train-hierarchical-lgbm"] == {"cpu": "16", "memory": "64G", "accelerator": None}
    assert got["embed"]["accelerator"] == ("", 0) and got["generate"]["cpu"] == "2"  # others unchanged
    # A run of the default compile given other values at submit time:
    later = {"embed_accelerator_type": "NVIDIA_L4", "embed_accelerator_count": 2, "evaluate_cpu": "1"}
    at_submit = requests(compile_(tmp_path, "training"), later)
    assert at_submit["embed"]["accelerator"] == ("NVIDIA_L4", 2)
    assert at_submit["evaluate"]["cpu"] == "1"
    fed = requests(compile_(tmp_path, "federated", "federate_accelerator_type=NVIDIA_L4",
                            "federate_accelerator_count=1", "federate_cpu=16"))  # fmt: skip
    assert fed["federate"] == {"cpu": "16", "memory": "32G", "accelerator": ("NVIDIA_L4", 1)}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["train_cpu=lots"], "train_cpu: got 'lots' -> expected a CPU count"),
        (["evaluate_memory=16GB"], "evaluate_memory: got '16GB' -> expected a memory size"),
        (["embed_accelerator_type=NVIDIA_K9000", "embed_accelerator_count=1"], "embed_accelerator_type: got"),
        (["train_accelerator_count=1"], "expected both set (e.g. NVIDIA_TESLA_T4 and 1) or neither"),
        (
            ["federate_accelerator_type=NVIDIA_TESLA_T4"],
            "federate_accelerator_count: got 'NVIDIA_TESLA_T4' and 0",
        ),
    ],
)
def test_bad_resource_parameters_fail_before_compiling(
    tmp_path: Path, params: list[str], message: str
) -> None:
    name = "federated" if params[0].startswith("federate") else "training"
    args = ["pipeline", "compile", name, "--out", str(tmp_path / "p.yaml")]
    for p in params:
        args += ["--param", p]
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert message in res.output and not (tmp_path / "p.yaml").exists()


def test_submit_sends_the_resource_parameters(tmp_path: Path) -> None:
    template = tmp_path / "training.yaml"
    assert runner.invoke(app, ["pipeline", "compile", "training", "--out", str(template)]).exit_code == 0
    with VertexFake() as fake:
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": fake.url}
        res = runner.invoke(app, ["pipeline", "submit", str(template), "--project", "p-1", "--region",
                                  "us-central1", "--pipeline-root", "gs://b/root", "--service-account",
                                  "runner@p-1.iam.gserviceaccount.com", "--param", "train_cpu=16",
                                  "--param", "train_accelerator_type=NVIDIA_L4",
                                  "--param", "train_accelerator_count=1"], env=env)  # fmt: skip
        assert res.exit_code == 0, res.output
        body = fake.calls("create_pipeline_job")[0].body
    assert body["runtimeConfig"]["parameterValues"] == {
        "train_cpu": "16",
        "train_accelerator_type": "NVIDIA_L4",
        "train_accelerator_count": 1,
    }
    assert requests(body["pipelineSpec"], body["runtimeConfig"]["parameterValues"])["train-shared-latent"][
        "accelerator"
    ] == ("NVIDIA_L4", 1)


def test_limits_reach_tasks_inside_condition_groups(tmp_path: Path) -> None:
    """Resource parameters used inside dsl.If/Else groups (the data branches, retraining's data-ok
    group) are passed down through every group, so each task gets its values."""
    training = requests(compile_(tmp_path, "training"), {"generate_cpu": "3"})
    assert training["generate"]["cpu"] == "3"  # inside the generated-data branch
    retraining = requests(compile_(tmp_path, "retraining"), {"train_cpu": "16", "evaluate_memory": "20G"})
    assert retraining["train-model"]["cpu"] == "16"
    assert retraining["evaluate"]["memory"] == retraining["evaluate-2"]["memory"] == "20G"
    assert retraining["gate"]["memory"] == "20G"
