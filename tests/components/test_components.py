"""The component interfaces: typed artifacts, `campaignlab <command>` in the right image, light imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_importing_components_and_pipelines_loads_no_heavy_library() -> None:
    code = (
        "import sys, components, pipelines, components.images, pipelines.params, pipelines.compile\n"
        "import pipelines.training, pipelines.federated, pipelines.experiments, pipelines.retraining\n"
        "import pipelines.vertex\n"
        "print(sorted(m for m in ('torch', 'lightgbm', 'flwr', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "[]"


def _spec(component):  # the ComponentSpec kfp derived from the decorated function
    return component.component_spec


def _types(io: dict) -> dict[str, str]:
    return {k: (v.type if hasattr(v, "type") else str(v)) for k, v in io.items()}


@pytest.mark.parametrize(
    ("name", "image_set", "outputs"),
    [
        ("generate", "core", {"dataset": "system.Dataset@0.0.1"}),
        ("embed", "embed", {"features": "system.Dataset@0.0.1"}),
        ("train_hierarchical_lgbm", "gbm", {"model": "system.Model@0.0.1"}),
        ("train_shared_latent", "torch", {"model": "system.Model@0.0.1"}),
        ("train_robust_modality", "torch", {"model": "system.Model@0.0.1"}),
        ("partition", "core", {"partitions": "system.Dataset@0.0.1"}),
        ("federate", "fl", {"run": "system.Model@0.0.1", "results": "system.Markdown@0.0.1"}),
        (
            "compare_federated",
            "core",
            {
                "comparison": "system.Artifact@0.0.1",
                "summary": "system.Markdown@0.0.1",
                "report": "system.HTML@0.0.1",
            },
        ),
        (
            "evaluate",
            "torch",
            {
                "evaluation": "system.Artifact@0.0.1",
                "metrics": "system.Metrics@0.0.1",
                "confusion_matrix": "system.ClassificationMetrics@0.0.1",
                "report": "system.HTML@0.0.1",
                "predictions": "system.Dataset@0.0.1",
            },
        ),
        (
            "compare_models",
            "core",
            {
                "comparison": "system.Artifact@0.0.1",
                "best_model": "system.Model@0.0.1",
                "summary": "system.Markdown@0.0.1",
                "report": "system.HTML@0.0.1",
                "promote": "String",
            },
        ),
        ("register_model", "core", {"registered": "system.Model@0.0.1"}),
        ("ingest", "core", {"dataset": "system.Dataset@0.0.1"}),
        (
            "gate",
            "torch",
            {"verdict": "system.Artifact@0.0.1", "report": "system.HTML@0.0.1", "passed": "String"},
        ),
        ("gate_verdict", "torch", {}),
        (
            "pull_model",
            "core",
            {"model": "system.Model@0.0.1", "reference": "system.Artifact@0.0.1", "version": "String"},
        ),
        ("register_version", "core", {"version": "String"}),
        ("promote_version", "core", {}),
        ("train_model", "torch", {"trained": "system.Model@0.0.1"}),
    ],
)
def test_component_interface(name: str, image_set: str, outputs: dict[str, str]) -> None:
    import components
    from components.images import default_image

    spec = _spec(getattr(components, name))
    assert _types(spec.outputs or {}) == outputs
    container = spec.implementation.container
    assert container.image == default_image(image_set)
    command = container.command
    # Either `campaignlab <step>` directly, or a two-line sh script of campaignlab calls.
    if command[0] == "sh":
        assert command[1] == "-ec" and "campaignlab " in command[2]
    else:
        assert command[0] == "campaignlab"


def test_images_resolve_from_the_build_file_and_registry(tmp_path: Path) -> None:
    from components.images import default_image, resolve_images

    f = tmp_path / "images.json"
    from campaignlab import __version__

    f.write_text(
        json.dumps({"version": __version__, "images": {"core": f"campaignlab-core:{__version__}-abc123"}})
    )
    m = resolve_images(f)
    assert m[default_image("core")] == f"campaignlab-core:{__version__}-abc123"
    assert m[default_image("gbm")] == default_image("gbm")  # not built: unchanged
    m = resolve_images(f, registry="us-docker.pkg.dev/p/r/")
    assert m[default_image("core")] == f"us-docker.pkg.dev/p/r/campaignlab-core:{__version__}-abc123"
    m = resolve_images(f, registry="localhost:5000", tag="dev")
    assert m[default_image("fl")] == "localhost:5000/campaignlab-fl:dev"
    with pytest.raises(FileNotFoundError):
        resolve_images(tmp_path / "nope.json")


def test_own_data_components_call_the_commands_with_their_flags() -> None:
    """Each input feeds the flag of the same name of the command the component runs."""
    import components

    def args(c) -> list[str]:  # type: ignore[no-untyped-def]
        return [a for a in _spec(c).implementation.container.args if isinstance(a, str)]

    assert _spec(components.ingest).implementation.container.command == ["campaignlab", "ingest"]
    for flag in ("--mapping", "--split", "--test-fraction", "--max-rejected", "--out"):
        assert flag in args(components.ingest)
    gate_args = args(components.gate)
    for name in ("max_rejected_share", "max_label_shift", "max_new_platform_share", "max_platform_shift",
                 "max_embedding_auc", "on_drift"):  # fmt: skip
        assert "--" + name.replace("_", "-") in gate_args and name in _spec(components.gate).inputs
    assert "--report-only" in gate_args and "--passed-out" in gate_args
    assert _spec(components.pull_model).implementation.container.command == ["campaignlab", "models", "pull"]
    assert _spec(components.train_model).implementation.container.command == ["campaignlab", "train"]
    assert "--model" in args(components.train_model) and "model" in _spec(components.train_model).inputs
