"""The real training pipeline, compiled to YAML, run end to end in the project's Docker images.

Needs the images built by containers/build.sh (`make test` builds them before pytest) and recorded
in build/images.json, exactly as `make run` uses them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_runner.handlers import Status
from local_runner.orchestrator import run_file
from tests.conftest import REPO, run_cli

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_training_pipeline_runs_end_to_end_in_docker(tmp_path: Path) -> None:
    images = REPO / "build" / "images.json"
    assert images.is_file(), "build the images first: bash containers/build.sh (make test does)"
    yaml_path = tmp_path / "training.yaml"
    run_cli("pipeline", "compile", "training", "--out", yaml_path, check=True)

    result = run_file(yaml_path, {"scale": 0.01, "preset": "v28", "seed": 3}, root=tmp_path / "runs",
                      max_parallel=3)  # fmt: skip
    by_id = {t.id: t for t in result.tasks}
    assert result.status == Status.SUCCEEDED, {k: (t.status, t.message) for k, t in by_id.items()}
    for step in ("generate", "embed", "train-hierarchical-lgbm", "train-shared-latent",
                 "train-robust-modality", "compare-models"):  # fmt: skip
        assert by_id[step].status == Status.SUCCEEDED
        assert (result.run_dir / "logs" / f"{step}.log").is_file()
    # the compare step saw all three models and picked the best by macro F1
    best = json.loads(next((result.run_dir / "tasks" / "compare-models").rglob("best.json")).read_text())
    text = json.dumps(best)
    for name in ("hierarchical_lgbm", "shared_latent", "robust_modality"):
        assert name in text
    summary = Path(by_id["compare-models"].artifacts["summary"][0]["uri"]).read_text()
    assert "macro F1" in summary and "Best by macro F1" in summary
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["status"] == "succeeded"
