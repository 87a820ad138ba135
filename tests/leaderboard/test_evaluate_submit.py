"""`campaignlab evaluate --leaderboard-url ...` submits its test predictions and gets server-side scores."""

import json
import os
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.leaderboard.conftest import Server


@pytest.mark.slow  # trains a network, then a real server round trip
def test_evaluate_submits_to_the_leaderboard(
    server: Server, tiny_dataset: Path, tiny_features: Path, tmp_path: Path
) -> None:
    model = tmp_path / "arch2"
    run_cli("train", "--model", "robust_modality", "--features", tiny_features, "--out", model, check=True)
    out = tmp_path / "eval"
    proc = run_cli(
        "evaluate", "--model", model, "--features", tiny_features, "--out", out,
        "--leaderboard-url", server.url, "--leaderboard-version", "v25", "--leaderboard-model", "arch2-ci",
        env={"CAMPAIGNLAB_LEADERBOARD_TOKEN": server.tokens["carol"]},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "leaderboard submission" in proc.stdout
    local = json.loads((out / "metrics.json").read_text())
    with server.client("alice") as c:
        ranking = c.get("/api/versions/v25/ranking").json()
    rows = ranking["submissions"]
    mine = [r for r in rows if r.get("model") == "arch2-ci"]
    assert len(mine) == 1
    # The server scored the same predictions against its hidden labels, on the version's secret public
    # part: the local predictions scored on that part give the same (rounded) macro F1.
    import numpy as np
    import pyarrow.parquet as pq

    from tests.leaderboard.conftest import answer_labels, expected_scores

    truth = answer_labels(tiny_dataset)
    local_pred = pq.read_table(out / "predictions.parquet").to_pydict()
    pred = dict(zip(local_pred["sample_id"], local_pred["label"], strict=True))
    y = np.asarray(truth["label"], np.int8)
    p = np.asarray([pred[s] for s in truth["sample_id"].to_pylist()], np.int8)
    public = server.public_mask()
    assert mine[0]["scores"] == pytest.approx(expected_scores(y[public], p[public]), abs=1.01e-4)
    assert local["macro_f1"] == pytest.approx(expected_scores(y, p)["macro_f1"], abs=1e-4)


def test_evaluate_refuses_an_incomplete_leaderboard_request(tiny_features: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    proc = run_cli(
        "evaluate", "--model", tmp_path / "nomodel", "--features", tiny_features, "--out", out,
        "--leaderboard-url", "http://127.0.0.1:9", "--leaderboard-token", "x",
    )  # fmt: skip
    assert proc.returncode == 2 and "--leaderboard-version" in proc.stderr
    assert not out.exists()


@pytest.mark.slow  # trains a network, then a real server round trip
def test_evaluate_component_submits_when_given_a_leaderboard(
    server: Server, tiny_features: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The evaluate component's real command line (run by the local runner's process backend)."""
    import sys

    from kfp import compiler, dsl

    from components.evaluate import evaluate
    from local_runner.handlers import Status
    from local_runner.orchestrator import run_file

    model = tmp_path / "arch1"
    run_cli("train", "--model", "shared_latent", "--features", tiny_features, "--out", model, check=True)

    @dsl.pipeline(name="evaluate-and-submit")
    def pipe(model_uri: str, features_uri: str, url: str):
        m = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model)
        f = dsl.importer(artifact_uri=features_uri, artifact_class=dsl.Dataset)
        evaluate(model=m.output, features=f.output, leaderboard_url=url, leaderboard_version="v25",
                 leaderboard_model="component-ci")  # fmt: skip

    yaml_path = tmp_path / "p.yaml"
    compiler.Compiler().compile(pipe, str(yaml_path))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    monkeypatch.setenv("CAMPAIGNLAB_LEADERBOARD_TOKEN", server.tokens["bob"])
    params = {"model_uri": str(model), "features_uri": str(tiny_features), "url": server.url}
    result = run_file(yaml_path, params, root=tmp_path / "runs", backend="process")
    assert result.status == Status.SUCCEEDED, [(t.id, t.status, t.message) for t in result.tasks]
    with server.client("bob") as c:
        rows = c.get("/api/versions/v25/ranking").json()["submissions"]
    assert [r["model"] for r in rows].count("component-ci") == 1
