"""The Flower ``ServerApp``: FedAvg (weighted by examples) over the clients, evaluation on the test set.

:func:`run_server` is the whole server side; the module-level ``app`` (used by a real federation through
``flwr run``) reads the config once from ``context.run_config`` and calls it, and
:func:`build_server_app` binds a config for the simulation engine's Python API (which passes no run
config). Each round the server

1. sends the global arrays and the flattened config (``ConfigRecord``) to ``fraction_fit`` of the clients,
2. averages their replies weighted by ``num-examples`` (:class:`flwr.serverapp.strategy.FedAvg`),
3. asks ``fraction_eval`` of the clients to evaluate it on their own data, and
4. evaluates it on ``server_test.parquet`` with :func:`campaignlab.federated.model.test`.

It writes ``rounds.json`` (round 0 = the initial model) and ``global_model.pt`` into ``out_dir``.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from campaignlab.io import write_json

from .config import FederatedConfig, from_run_config, to_run_config
from .dataset import load_arrays
from .model import JointModelConfig, build_model, test
from .partition import SERVER_TEST, read_partition_manifest

ROUNDS_FILE = "rounds.json"
MODEL_FILE = "global_model.pt"
PARTITION_DIR_KEY = "paths.partition-dir"
OUT_DIR_KEY = "paths.out-dir"


def joint_model_config(cfg: FederatedConfig, dims: dict[str, int]) -> JointModelConfig:
    return JointModelConfig(
        dims=dims,
        hidden_embed_dim=cfg.model.hidden_embed_dim,
        embed_dim=cfg.model.embed_dim,
        hidden_dim=cfg.model.hidden_dim,
        dropout_prob=cfg.model.dropout_prob,
        modality_dropout_prob=cfg.model.modality_dropout_prob,
    )


def initial_model(cfg: FederatedConfig, dims: dict[str, int]) -> Any:
    """The seeded initial global model (the centralized baseline starts from the same weights)."""
    import torch

    torch.manual_seed(cfg.general.random_seed)
    return build_model(joint_model_config(cfg, dims))


def _records(d: dict[int, MetricRecord]) -> dict[str, dict[str, Any]]:
    return {str(k): dict(v) for k, v in sorted(d.items())}


def run_server(
    grid: Grid, cfg: FederatedConfig, partition_dir: str | Path, out_dir: str | Path
) -> dict[str, Any]:
    """Run ``num_rounds`` of FedAvg on ``grid``; write and return the per-round history."""
    import torch

    partition_dir, out_dir = Path(partition_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, int(cfg.backend.client_resources.num_cpus)))
    random.seed(cfg.general.random_seed)  # FedAvg samples nodes with `random`
    manifest = read_partition_manifest(partition_dir)
    one_hot = tuple(cfg.general.one_hot_modalities or ())
    n_platforms = int(manifest.get("n_platforms", 12))
    test_data = load_arrays(partition_dir / SERVER_TEST, one_hot=one_hot, n_platforms=n_platforms)
    model = initial_model(cfg, test_data.dims)
    n = cfg.client.num_clients
    n_fit = max(1, math.ceil(cfg.server.fraction_fit * n))
    n_eval = math.ceil(cfg.server.fraction_eval * n)
    strategy = FedAvg(
        fraction_train=cfg.server.fraction_fit,
        fraction_evaluate=cfg.server.fraction_eval,
        min_train_nodes=n_fit,
        min_evaluate_nodes=n_eval,
        min_available_nodes=n,  # wait for every data owner before round 1
        weighted_by_key="num-examples",
    )
    config = ConfigRecord(
        {**to_run_config(cfg), "partition-dir": str(partition_dir.resolve()), "n-platforms": n_platforms}
    )
    server_rounds: list[dict[str, Any]] = []
    t0 = time.perf_counter()

    def evaluate_fn(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        model.load_state_dict(arrays.to_torch_state_dict())
        res: dict[str, Any] = test(model, test_data)
        res["round"] = server_round
        res["elapsed_s"] = time.perf_counter() - t0
        server_rounds.append(res)
        return MetricRecord(res)

    result = strategy.start(
        grid=grid,
        initial_arrays=ArrayRecord(model.state_dict()),
        num_rounds=cfg.server.num_rounds,
        train_config=config,
        evaluate_config=config,
        evaluate_fn=evaluate_fn,
    )
    model.load_state_dict(result.arrays.to_torch_state_dict())
    torch.save(model.state_dict(), out_dir / MODEL_FILE)
    history = {
        "server": server_rounds,
        "client_train": _records(result.train_metrics_clientapp),
        "client_evaluate": _records(result.evaluate_metrics_clientapp),
        "seconds": time.perf_counter() - t0,
        "num_rounds": cfg.server.num_rounds,
        "partition": manifest["name"],
    }
    write_json(out_dir / ROUNDS_FILE, history)
    return history


def build_server_app(cfg: FederatedConfig, partition_dir: str | Path, out_dir: str | Path) -> ServerApp:
    """A ``ServerApp`` bound to ``cfg`` (for ``flwr.simulation.run_simulation``)."""
    server_app = ServerApp()

    @server_app.main()
    def main(grid: Grid, context: Context) -> None:
        run_server(grid, cfg, partition_dir, out_dir)

    return server_app


app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Deployment entry point: config, partition folder and output folder from ``context.run_config``."""
    run_config = dict(context.run_config)
    cfg = from_run_config(run_config)
    run_server(grid, cfg, str(run_config[PARTITION_DIR_KEY]), str(run_config[OUT_DIR_KEY]))
