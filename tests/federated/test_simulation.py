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
    partition(tiny_features, PartitionConfig(num_clients=2, data_split="homogeneous"), parts)

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
    assert "| FL with 2 clients (Mean) |" in proc.stdout and "| Centralized (Baseline) |" in proc.stdout
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


def test_reference_check_leaves_out_a_sign_flipping_client(tiny_features: Path, tmp_path: Path):
    # Client 0 sends global - 10 (local - global); the reference check scores every update on the
    # server's reference rows (held out of the test set) and leaves it out; the global model improves.
    parts = tmp_path / "parts"
    partition(
        tiny_features, PartitionConfig(num_clients=3, data_split="homogeneous", reference_rows=60), parts
    )
    cfg = small_config(tmp_path / "atk.yaml", centralized_baseline=False)
    data = yaml.safe_load(cfg.read_text())
    data["client"] = {"num_clients": 3, "attack": {"kind": "sign_flip", "clients": [0], "factor": 10}}
    data["server"].update({"strategy": "FedAvgM", "strategy_params": {"server_momentum": 0.5},
                           "fraction_eval": 0.0, "reference_check": {"tolerance": 0.0}})  # fmt: skip
    # Tiny models score near chance after one epoch: two epochs at a higher rate give the honest
    # updates a lead, and tolerance 0 leaves out whatever scores below the median update.
    data["model"].update({"optuna_n_trials": 0, "local_epochs": 2, "lr": 0.01})
    cfg.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    proc = run_cli("federate", "--config", cfg, "--data", parts, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert m["centralized"] is None and m["gap_macro_f1_points"] is None  # no baseline was asked for
    assert m["strategy"] == {
        "name": "FedAvgM",
        "params": {"server_learning_rate": 1.0, "server_momentum": 0.5},
    }
    ref = m["federated"]["reference_check"]
    assert set(ref) == {"1", "2"} and all(r["left_out"] == [0] for r in ref.values()), ref
    assert all(r["scores"]["0"] < r["median"] for r in ref.values())
    rounds = m["federated"]["rounds"]
    assert rounds[0]["num-examples"] == 180 - 60  # the reference rows left the server test set
    assert rounds[-1]["loss"] < rounds[0]["loss"]


def test_central_dp_reports_epsilon_from_the_accountant(tiny_features: Path, tmp_path: Path):
    parts = tmp_path / "parts"
    partition(tiny_features, PartitionConfig(num_clients=2, data_split="homogeneous"), parts)
    out = tmp_path / "run"
    proc = run_cli(
        "federate", "--config", small_config(tmp_path / "dp.yaml", centralized_baseline=False),
        "--strategy", "FedProx", "--strategy-params", "proximal_mu=0.1", "--optuna-n-trials", "0",
        "--data", parts, "--out", out, "--quiet",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    prox = json.loads((out / "metrics.json").read_text())
    assert prox["strategy"] == {"name": "FedProx", "params": {"proximal_mu": 0.1}}
    assert prox["federated"]["rounds"][-1]["loss"] < prox["federated"]["rounds"][0]["loss"]
    data = yaml.safe_load((tmp_path / "dp.yaml").read_text())
    data["server"]["differential_privacy"] = {"noise_multiplier": 0.8, "clipping_norm": 2.0, "delta": 1e-4}
    (tmp_path / "dp.yaml").write_text(yaml.safe_dump(data))
    proc = run_cli("federate", "--config", tmp_path / "dp.yaml", "--optuna-n-trials", "0", "--data", parts,
                   "--out", tmp_path / "dp", "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    dp = json.loads((tmp_path / "dp" / "metrics.json").read_text())["federated"]["differential_privacy"]
    # (epsilon, delta) as Google's dp-accounting computes it for 2 Gaussian releases at z = 0.8.
    from dp_accounting import dp_event
    from dp_accounting.rdp import RdpAccountant

    acc = RdpAccountant()
    acc.compose(dp_event.GaussianDpEvent(0.8), 2)
    assert dp["epsilon"] == acc.get_epsilon(1e-4) and dp["delta"] == 1e-4
    assert 1 < dp["epsilon"] < 100
