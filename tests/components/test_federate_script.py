"""The federate component's container script writes a config the real FederatedConfig accepts and calls
`campaignlab federate` with the partition and output paths KFP gives it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_federate_script_writes_a_valid_config(tmp_path: Path) -> None:
    from components.federate import _SCRIPT, federate

    container = federate.component_spec.implementation.container
    assert container.command[:2] == ["sh", "-ec"] and container.command[2] == _SCRIPT
    # Prepare: a partition folder (as `campaignlab partition --out` writes it) and a stand-in
    # `campaignlab` that validates the YAML with the real config model and records its arguments.
    parts = tmp_path / "partitions" / "heterogeneous_10clients_alpha0.5"
    parts.mkdir(parents=True)
    (parts / "manifest.json").write_text(json.dumps({"data_version": "features"}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "campaignlab"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, sys, pathlib\n"
        "from campaignlab.federated.config import load_federated_config\n"
        "args = sys.argv[1:]\n"
        "cfg = load_federated_config(args[args.index('--config') + 1])\n"
        "out = pathlib.Path(args[args.index('--out') + 1]); out.mkdir(parents=True)\n"
        "(out / 'results_table.md').write_text('| table |')\n"
        "(out / 'seen.json').write_text(json.dumps({'args': args, 'cfg': cfg.model_dump()}))\n"
    )
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    run, results = tmp_path / "out" / "run", tmp_path / "out" / "results.md"
    results.parent.mkdir()
    args = [
        str(tmp_path / "partitions"),
        str(run),
        str(results),
        "3",
        "10",
        "2",
        "0",
        "7",
        "heterogeneous",
        "0.5",
        "1.0",
    ]
    # Execute: the script exactly as the container runs it (sh -ec SCRIPT ARGS...).
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(["sh", "-ec", _SCRIPT, *args], capture_output=True, text=True, env=env)
    # Assert
    assert proc.returncode == 0, proc.stderr
    seen = json.loads((run / "seen.json").read_text())
    assert seen["args"][seen["args"].index("--data") + 1] == str(tmp_path / "partitions")
    cfg = seen["cfg"]
    assert cfg["server"]["num_rounds"] == 3 and cfg["client"]["num_clients"] == 10
    assert cfg["model"]["local_epochs"] == 2 and cfg["model"]["optuna_n_trials"] == 0
    g = cfg["general"]
    assert (g["random_seed"], g["data_split"], g["alpha"], g["data_version"]) == (
        7,
        "heterogeneous",
        0.5,
        "features",
    )
    assert g["use_wandb"] is False
    assert cfg["backend"]["client_resources"]["num_cpus"] == 1.0
    assert results.read_text() == "| table |"
