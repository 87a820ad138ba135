"""``campaignlab federate`` on Flower's simulation engine (Ray), end to end on the tiny features."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from campaignlab.federated.partition import PartitionConfig, partition
from tests.conftest import run_cli


def small_config(path: Path, **general: object) -> Path:
    cfg = {
        "server": {"num_rounds": 2},
        "client": {"num_clients": 2},
        "model": {
            "local_epochs": 1,
            "hidden_embed_dim": 64,
            "embed_dim": 64,
            "hidden_dim": 64,
            "lr": 0.005,
            "optuna_n_trials": 1,
        },
        "general": {"use_wandb": False, "data_version": "v25_tiny", **general},
        "backend": {"client_resources": {"num_cpus": 1}},  # 2 cores: one CPU per simulated client
    }
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_federate_simulation_end_to_end(tiny_features: Path, tmp_path: Path):
    parts = tmp_path / "parts"
    partition(tiny_features, PartitionConfig(num_clients=2, split="homogeneous"), parts)

    # A config that does not match the partition folder fails before any training, exit 2.
    bad = run_cli(
        "federate",
        "--config",
        small_config(tmp_path / "bad.yaml", data_split="heterogeneous", alpha=0.5),
        "--data",
        parts,
        "--out",
        tmp_path / "bad",
        "--quiet",
    )
    assert bad.returncode == 2
    assert "heterogeneous_2clients_alpha0.5" in bad.stderr and "does not exist" in bad.stderr
    assert not (tmp_path / "bad").exists()

    out = tmp_path / "run"
    cfg = small_config(tmp_path / "fl.yaml", use_wandb=True)
    proc = run_cli("federate", "--config", cfg, "--data", parts, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| FL with 2 clients |" in proc.stdout and "| Centralized (Baseline) |" in proc.stdout
    m = json.loads((out / "metrics.json").read_text())
    rounds = m["federated"]["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]  # 0 = the initial global model
    for r in rounds:
        assert set(r) >= {"loss", "macro_f1", "f1_negative", "f1_average", "f1_positive"}
        assert r["num-examples"] == 180  # the server test set (30% of 600)
    assert rounds[-1]["loss"] < rounds[0]["loss"]  # FedAvg improved the global model
    assert m["federated"]["final"] == rounds[-1]
    # Both clients trained every round, weighted by their examples (210 each).
    assert set(m["federated"]["client_train"]) == {"1", "2"}
    assert m["centralized"]["epochs"] == m["epoch_budget"] == 2  # num_rounds x local_epochs
    assert 0 <= m["centralized"]["macro_f1"] <= 1
    assert m["gap_macro_f1_points"] == 100 * (m["centralized"]["macro_f1"] - rounds[-1]["macro_f1"])
    assert m["tuning"]["data"].startswith("client 0") and len(m["tuning"]["trials"]) == 1
    assert m["partition"]["name"] == "homogeneous_2clients" and m["mode"] == "simulation"
    for f in ("fl_curve.png", "federated/global_model.pt", "centralized_model.pt", "results_table.md"):
        assert (out / f).is_file(), f
    assert (out / "fl_curve.png").read_bytes()[:4] == b"\x89PNG"

    # use_wandb: an offline W&B run inside the output folder carrying the per-round and final metrics.
    logs = list((out / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 1, list((out / "wandb").rglob("*"))
    log = logs[0].read_bytes()  # LevelDB-style log of protobuf records: keys and JSON values in clear
    for key in (b"fl/macro_f1", b"fl/f1_positive", b"fl/loss", b"centralized/macro_f1"):
        assert key in log, key
    assert json.dumps(rounds[-1]["macro_f1"]).encode() in log
    assert any("offline W&B run" in n for n in m["notes"])
