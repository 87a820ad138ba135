"""A real local federation: SuperLink + 3 SuperNodes as separate processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from campaignlab.federated.partition import PartitionConfig, partition
from tests.conftest import run_cli


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited (its parent may not have reaped it yet)


def test_local_federation_three_supernodes(tiny_features: Path, tmp_path: Path):
    parts = tmp_path / "parts"
    partition(tiny_features, PartitionConfig(num_clients=3, data_split="homogeneous"), parts)
    cfg = tmp_path / "fl.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "server": {
                    "num_rounds": 2,
                    "fraction_eval": 0.0,
                },  # server-side evaluation only: fewer processes
                "client": {"num_clients": 3},
                "model": {
                    "local_epochs": 1,
                    "hidden_embed_dim": 64,
                    "embed_dim": 64,
                    "hidden_dim": 64,
                    "lr": 0.005,
                    "optuna_n_trials": 0,
                },
                "general": {"use_wandb": False, "data_version": "v25_tiny"},
                "backend": {"client_resources": {"num_cpus": 1}},
            }
        )
    )
    out = tmp_path / "run"
    # TLS (throw-away local CA) and SuperNode authentication (registered keys): the full path.
    proc = run_cli(
        "federate",
        "--config",
        cfg,
        "--data",
        parts,
        "--out",
        out,
        "--mode",
        "deployment",
        "--tls",
        "--node-auth",
        "--quiet",
    )
    logs = out / "deployment" / "logs"
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    rounds = m["federated"]["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    assert rounds[2]["loss"] < rounds[0]["loss"]  # the global model improved over the initial one
    assert m["mode"] == "deployment"
    assert (out / "deployment" / "tls" / "ca.pem").is_file()
    link_log = (logs / "superlink.log").read_text()
    assert "SuperNode authentication is disabled" not in link_log and "insecure" not in link_log
    assert m["deployment"]["tls"] and m["deployment"]["node_auth"] and m["deployment"]["supernodes"] == 3
    assert (logs / "register.log").read_text().count("registered successfully") == 3
    # Three SuperNodes took part in both rounds, each reading only its own client file.
    for i in range(3):
        log = (logs / f"supernode_{i}.log").read_text()
        assert log.count("Receiving: train message") == 2, log[-2000:]
    run_log = (logs / "flwr_run.log").read_text()
    assert "Received 3 results and 0 failures" in run_log
    app = (out / "deployment" / "app" / "pyproject.toml").read_text()
    assert 'serverapp = "campaignlab.federated.server_app:app"' in app
    # Every process the run started (SuperLink, SuperNodes, their SuperExecs and apps) is gone.
    pids = json.loads((logs / "pids.json").read_text())
    # SuperLink, 3 SuperNodes and `flwr run`; every one of them stopped.
    assert len(pids["started"]) == 5 and set(pids["started"]) <= set(pids["stopped"])
    assert not [p for p in pids["stopped"] if _alive(p)]
    assert os.environ.get("FLWR_HOME") is None  # the run used its own FLWR_HOME
