"""The federate and partition components are plain container specs over `campaignlab` flags.

Each input is one flag named after its config field (one name from the component input through the
CLI flag to the config field), its default is the one in campaignlab/federated/default.yaml, and the
component's command runs as KFP would run it: the placeholders resolved to real paths, on a real
(tiny) partition, with the data version read from the partition's manifest by the command itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from campaignlab.federated.config import default_config

REPO = Path(__file__).resolve().parents[2]


def _resolve(container: object, values: dict[str, object]) -> list[str]:
    """The component's command + args with KFP placeholders replaced by ``values`` (by input name)."""
    import re

    out = []
    for a in [*container.command, *container.args]:  # type: ignore[attr-defined]
        s = str(a)
        m = re.fullmatch(
            r"\{\{\$\.(?:inputs|outputs)\.(?:parameters|artifacts)\['([a-z_]+)'\](?:\.path)?\}\}", s
        )
        out.append(str(values[m.group(1)]) if m else s)
    return out


def test_components_have_no_shell_and_take_the_yaml_defaults() -> None:
    from components.federate import federate
    from components.partition import partition

    d = default_config()
    for comp in (federate, partition):
        c = comp.component_spec.implementation.container
        assert c.command[0] == "campaignlab" and "sh" not in c.command, c.command
        assert not any("\n" in str(a) or "python3 -c" in str(a) for a in c.args)
    inputs = federate.component_spec.inputs
    defaults = {k: v.default for k, v in inputs.items() if v.default is not None}
    assert defaults == {
        "strategy": d.server.strategy,
        "num_rounds": d.server.num_rounds,
        "num_clients": d.client.num_clients,
        "local_epochs": d.model.local_epochs,
        "optuna_n_trials": d.model.optuna_n_trials,
        "random_seed": d.general.random_seed,
        "data_split": d.general.data_split,
        "alpha": d.general.alpha,
        "num_cpus": d.backend.client_resources.num_cpus,
    }
    # Each input is passed as the flag of the same name.
    args = [str(a) for a in federate.component_spec.implementation.container.args]
    for name in defaults:
        flag = "--" + name.replace("_", "-")
        assert args[args.index(flag) + 1] == f"{{{{$.inputs.parameters['{name}']}}}}", name
    p_inputs = partition.component_spec.inputs
    assert {k: v.default for k, v in p_inputs.items() if v.default is not None} == {
        "num_clients": d.client.num_clients,
        "data_split": d.general.data_split,
        "alpha": d.general.alpha,
    }


def test_partition_and_federate_commands_run_as_the_components_give_them(
    tiny_features: Path, tmp_path: Path
) -> None:
    from components.federate import federate
    from components.partition import partition

    parts, run, results = tmp_path / "parts", tmp_path / "run", tmp_path / "results.md"
    p_cmd = _resolve(
        partition.component_spec.implementation.container,
        {"features": tiny_features, "partitions": parts, "num_clients": 2, "data_split": "homogeneous",
         "alpha": 0.1},
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "campaignlab", *p_cmd[1:]], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    f_cmd = _resolve(
        federate.component_spec.implementation.container,
        {"partitions": parts, "run": run, "results": results, "strategy": "FedAvgM", "num_rounds": 1,
         "num_clients": 2, "local_epochs": 1, "optuna_n_trials": 0, "random_seed": 7,
         "data_split": "homogeneous", "alpha": 0.1, "num_cpus": 1.0},
    )  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "campaignlab", *f_cmd[1:]], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads((run / "metrics.json").read_text())
    cfg = m["config"]
    assert cfg["server"]["strategy"] == "FedAvgM" and cfg["server"]["num_rounds"] == 1
    assert (cfg["client"]["num_clients"], cfg["model"]["local_epochs"], cfg["model"]["optuna_n_trials"]) == (
        2,
        1,
        0,
    )
    assert (cfg["general"]["random_seed"], cfg["general"]["use_wandb"]) == (7, False)
    # The data version came from the partition's manifest (the features folder's name).
    assert cfg["general"]["data_version"] == tiny_features.name == m["partition"]["data_version"]
    assert results.read_text() == (run / "results_table.md").read_text()
    assert "| Centralized (Baseline) |" in results.read_text()
