"""The prediction pipeline, compiled to YAML and run by the local runner: the registry's champion (pulled
by ``models pull``) scores new raw campaigns, renamed by a mapping run parameter, with the same
probabilities as the CLI and the service. On the host (process backend: the containers' command lines)
and in the project's Docker images."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from local_runner.handlers import Status
from local_runner.orchestrator import run_file
from tests.conftest import REPO, run_cli
from tests.serving.conftest import raw_campaigns, start_service

PROBS = ("prob_negative", "prob_average", "prob_positive")
MAPPING = {"campaign_id": "Campaign ID", "platform": "Channel"}


def renamed_export(campaigns_csv: Path, out: Path) -> Path:
    """campaigns_csv with the user's own column names (the mapping run parameter renames them back)."""
    with campaigns_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = MAPPING  # contract field -> the user's column
    with out.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[names.get(c, c) for c in rows[0]])
        w.writeheader()
        w.writerows({names.get(k, k): v for k, v in r.items()} for r in rows)
    return out


def register_champion(model: Path, dataset: Path, features: Path, registry: Path) -> None:
    """Register ``model`` as the champion, with its training data (``models pull`` copies the reference)."""
    run_cli("models", "register", model, "--dataset", dataset, "--features", features,
            "--registry", registry, "--alias", "champion", check=True)  # fmt: skip


def run_prediction(root: Path, campaigns: Path, registry: Path, backend: str) -> tuple[Any, Path]:
    """Compile and run the prediction pipeline; return the result and the predictions folder."""
    yaml_path = root / "prediction.yaml"
    run_cli("pipeline", "compile", "prediction", "--out", yaml_path, check=True)
    params = {
        "campaigns_uri": str(campaigns),
        "registry": str(registry),
        "ref": "champion",
        "mapping": MAPPING,
    }
    result = run_file(yaml_path, params, root=root / "runs", backend=backend, max_parallel=2)
    by_id = {t.id: t for t in result.tasks}
    assert result.status == Status.SUCCEEDED, {k: (t.status, t.message) for k, t in by_id.items()}
    folder = next((result.run_dir / "tasks" / "predict-campaigns").rglob("predictions.parquet")).parent
    return result, folder


def check_against_cli(folder: Path, cli: pd.DataFrame, atol: float) -> None:
    pipe = pq.read_table(folder / "predictions.parquet").to_pandas().set_index("campaign_id")
    errors = pq.read_table(folder / "errors.parquet").to_pylist()
    assert len(pipe) == 40 and len(errors) == 4  # predictions + errors = the 44 input rows
    assert sorted(e["reason"] for e in errors) == [
        "duplicate_id",
        "empty_text",
        "malformed_zip",
        "missing_id",
    ]
    assert (folder / "attribution.png").is_file()
    assert list(pipe.index) == list(cli.index) and (pipe["label"] == cli["label"]).all()
    np.testing.assert_allclose(pipe[list(PROBS)].to_numpy(), cli[list(PROBS)].to_numpy(), atol=atol)


@pytest.mark.slow
def test_prediction_pipeline_runs_on_the_host_like_the_cli(
    models: dict[str, Path], campaigns_csv: Path, tiny_dataset: Path, tiny_features: Path, embed_cache: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    registry = tmp_path / "runs" / "registry"
    register_champion(models["hierarchical_lgbm"], tiny_dataset, tiny_features, registry)
    cli_out = tmp_path / "cli"
    run_cli("predict", "--registry", f"{registry}:champion", "--campaigns", campaigns_csv, "--out", cli_out,
            "--cache-dir", embed_cache, "--threads", "1", "--quiet", check=True)  # fmt: skip
    cli = pq.read_table(cli_out / "predictions.parquet").to_pandas().set_index("campaign_id")
    # The step runs `campaignlab` of this venv (and its default embedding cache, as a user's run would).
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    export = renamed_export(campaigns_csv, tmp_path / "export.csv")
    result, folder = run_prediction(tmp_path, export, registry, "process")
    pulled = next((result.run_dir / "tasks" / "pull-model").rglob("model.json"))
    assert (pulled.parent / "recipe.json").is_file()  # the champion's folder, with its embedding recipe
    check_against_cli(folder, cli, atol=1e-5)


@pytest.mark.docker
@pytest.mark.slow
def test_cli_pipeline_and_service_give_the_same_probabilities(
    models: dict[str, Path], campaigns_csv: Path, embed_cache: Path, tiny_dataset: Path, tiny_features: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    assert (REPO / "build" / "images.json").is_file(), "build the images first: bash containers/build.sh"
    registry = tmp_path / "runs" / "registry"  # under the runs root: the containers see it
    register_champion(models["robust_modality"], tiny_dataset, tiny_features, registry)

    # 1. The CLI, through the registry.
    cli_out = tmp_path / "cli"
    run_cli("predict", "--registry", f"{registry}:champion", "--campaigns", campaigns_csv, "--out", cli_out,
            "--cache-dir", embed_cache, "--threads", "1", "--quiet", check=True)  # fmt: skip
    cli = pq.read_table(cli_out / "predictions.parquet").to_pandas().set_index("campaign_id")

    # 2. The prediction pipeline in Docker (the container re-embeds the texts: its cache is empty).
    export = renamed_export(campaigns_csv, tmp_path / "export.csv")
    _, folder = run_prediction(tmp_path, export, registry, "docker")
    check_against_cli(folder, cli, atol=1e-5)

    # 3. The service, on the registry's champion.
    svc = start_service(f"{registry}:champion", tmp_path / "serve.log", flag="--registry",
                        args=("--cache-dir", str(embed_cache), "--threads", "1"))  # fmt: skip
    try:
        rows = raw_campaigns(tiny_dataset, 40)
        r = httpx.post(svc.url + "/predict", json={"instances": rows}, timeout=120)
        assert r.status_code == 200, r.text
    finally:
        svc.stop()
    for p in r.json()["predictions"]:
        c = cli.loc[p["campaign_id"]]
        assert p["label"] == c["label"]
        for k in ("negative", "average", "positive"):
            assert abs(p["probabilities"][k] - c[f"prob_{k}"]) < 1e-9


@pytest.mark.docker
@pytest.mark.slow
def test_the_serve_image_runs_unchanged_with_vertex_variables(
    models: dict[str, Path], campaigns_csv: Path, embed_cache: Path, tmp_path: Path
) -> None:
    """The serve image, started as Vertex AI starts a custom container (AIP_* variables, the model folder
    in AIP_STORAGE_URI), answers with the CLI's probabilities (it re-embeds: its cache is empty)."""
    import csv
    import json
    import time

    import docker

    from tests.serving.conftest import free_port

    image = json.loads((REPO / "build" / "images.json").read_text())["images"]["serve"]
    model = models["shared_latent"]
    cli_out = tmp_path / "cli"
    run_cli("predict", "--model", model, "--campaigns", campaigns_csv, "--out", cli_out,
            "--cache-dir", embed_cache, "--threads", "1", "--quiet", check=True)  # fmt: skip
    cli = pq.read_table(cli_out / "predictions.parquet").to_pandas().set_index("campaign_id")
    port = free_port()
    client = docker.from_env()
    container = client.containers.run(
        image, ["serve", "--threads", "1"], detach=True, remove=True, name=f"campaignlab-serve-test-{port}",
        ports={"8080/tcp": ("127.0.0.1", port)}, volumes={str(model): {"bind": "/model", "mode": "ro"}},
        environment={"AIP_HTTP_PORT": "8080", "AIP_STORAGE_URI": "/model", "AIP_HEALTH_ROUTE": "/v1/health",
                     "AIP_PREDICT_ROUTE": "/v1/predict"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        with campaigns_csv.open(newline="") as fh:
            rows = list(csv.DictReader(fh))[:40]
        r = httpx.post(f"http://127.0.0.1:{port}/v1/predict", json={"instances": rows}, timeout=300)
        assert r.status_code == 200, (r.text, container.logs()[-2000:])
    finally:
        container.stop(timeout=10)
    for p in r.json()["predictions"]:
        c = cli.loc[p["campaign_id"]]
        assert p["label"] == c["label"]
        for k in ("negative", "average", "positive"):
            assert abs(p["probabilities"][k] - c[f"prob_{k}"]) < 1e-5
