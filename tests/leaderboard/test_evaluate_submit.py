"""`campaignlab evaluate --leaderboard-url ...` submits its test predictions and gets server-side scores."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.leaderboard.conftest import Server


def test_evaluate_submits_to_the_leaderboard(server: Server, tiny_features: Path, tmp_path: Path) -> None:
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
    # the server scored the same predictions against its hidden labels: same macro F1 as local
    assert abs(mine[0]["scores"]["macro_f1"] - local["macro_f1"]) < 1e-9


def test_evaluate_refuses_an_incomplete_leaderboard_request(tiny_features: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    proc = run_cli(
        "evaluate", "--model", tmp_path / "nomodel", "--features", tiny_features, "--out", out,
        "--leaderboard-url", "http://127.0.0.1:9", "--leaderboard-token", "x",
    )  # fmt: skip
    assert proc.returncode == 2 and "--leaderboard-version" in proc.stderr
    assert not out.exists()
