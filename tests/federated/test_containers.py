"""The real federation in containers: SuperLink and 3 SuperNodes, each in its own container from the fl image.

Needs the fl image built by containers/build.sh (``make test`` builds the images before pytest) and
recorded in build/images.json. TLS and SuperNode authentication are on; the containers share one
user-defined network whose name is unique to the run; each SuperNode mounts only its own client file.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from campaignlab.federated.partition import PartitionConfig, partition
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _docker(*args: str) -> list[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.split()


def test_federation_in_containers_two_rounds_three_supernodes(tiny_features: Path, tmp_path: Path) -> None:
    images = REPO / "build" / "images.json"
    assert images.is_file(), "build the images first: bash containers/build.sh fl (make test does)"
    image = json.loads(images.read_text())["images"]["fl"]
    parts = tmp_path / "parts"
    part = partition(tiny_features, PartitionConfig(num_clients=3, data_split="homogeneous"), parts)
    cfg = tmp_path / "fl.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "server": {"num_rounds": 2, "fraction_eval": 0.0},
                "client": {"num_clients": 3},
                "model": {
                    "local_epochs": 3,  # so that 2 rounds also beat the initial model's F1
                    "hidden_embed_dim": 64,
                    "embed_dim": 64,
                    "hidden_dim": 64,
                    "lr": 0.01,
                    "optuna_n_trials": 0,
                },
                "general": {"use_wandb": False, "centralized_baseline": False},
                "backend": {"client_resources": {"num_cpus": 1}},
            }
        )
    )
    out = tmp_path / "run"
    proc = run_cli(
        "federate",
        "--config",
        cfg,
        "--data",
        parts,
        "--out",
        out,
        "--mode",
        "containers",
        "--image",
        image,
        "--tls",
        "--node-auth",
        "--quiet",
    )
    logs = out / "deployment" / "logs"
    assert proc.returncode == 0, proc.stderr[-4000:]
    m = json.loads((out / "metrics.json").read_text())
    rounds = m["federated"]["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    assert rounds[2]["loss"] < rounds[0]["loss"]  # the global model improved over the initial one
    assert rounds[2]["macro_f1"] > rounds[0]["macro_f1"]
    dep = m["deployment"]
    assert dep["mode"] == "containers" and dep["image"] == image
    assert dep["tls"] and dep["node_auth"] and dep["supernodes"] == 3
    run_id = dep["network"].removeprefix("campaignlab-fl-")
    # Three SuperNodes, each in its own container, registered and taking part in both rounds.
    for i in range(3):
        log = (logs / f"supernode-{i}.log").read_text()
        assert log.count("Receiving: train message") == 2, log[-2000:]
        assert "registered successfully" in (logs / f"cli-register-{i}.log").read_text()
        # What a cross-silo node sees: its own client file, the CA certificate and its own key only.
        mounts = {mt["Destination"]: mt["Source"] for mt in dep["mounts"][f"supernode-{i}"]}
        assert mounts == {
            "/data/client.parquet": str((parts / "homogeneous_3clients" / f"client_{i}.parquet").resolve()),
            "/tls/ca.pem": "deployment/tls/ca.pem",  # inside the run folder: relative to it
            "/keys/node": f"deployment/keys/node_{i}",
        }
    link_mounts = {mt["Destination"] for mt in dep["mounts"]["superlink"]}
    assert link_mounts == {"/tls", "/data/partition", "/out"}  # no client file in the SuperLink's container
    link_log = (logs / "superlink.log").read_text()
    assert "SuperNode authentication is disabled" not in link_log and "insecure" not in link_log.lower()
    assert "Received 3 results and 0 failures" in (logs / "cli-run.log").read_text()
    # Every container and the network are gone.
    cleanup = json.loads((logs / "cleanup.json").read_text())
    assert cleanup["run_id"] == run_id and cleanup["left"] == {"containers": [], "networks": []}
    assert len(cleanup["containers"]) == 1 + 3 + 3 + 1  # SuperLink, SuperNodes, registrations, run
    assert _docker("ps", "-aq", "--filter", f"label=campaignlab.fl.run={run_id}") == []
    assert _docker("network", "ls", "-q", "--filter", f"name={dep['network']}") == []
    assert part.name == "homogeneous_3clients"
