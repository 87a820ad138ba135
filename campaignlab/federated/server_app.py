"""The Flower ``ServerApp``: the configured strategy over the clients, evaluation on the test set.

:func:`run_server` is the whole server side; the module-level ``app`` (used by a real federation through
``flwr run``) reads the config once from ``context.run_config`` and calls it, and
:func:`build_server_app` binds a config for the simulation engine's Python API (which passes no run
config). Each round the server

1. sends the global arrays and the flattened config (``ConfigRecord``) to ``fraction_fit`` of the clients,
2. aggregates their replies with ``server.strategy`` (:func:`campaignlab.federated.strategy.build_strategy`:
   a Flower strategy, optionally wrapped for central DP or the reference check),
3. asks ``fraction_eval`` of the clients to evaluate it on their own data, and
4. evaluates it on ``server_test.parquet`` with :func:`campaignlab.federated.model.test`.

It writes ``rounds.json`` (round 0 = the initial model) and ``global_model.pt`` into ``out_dir``.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp

from campaignlab.io import write_json

from .config import FederatedConfig, from_run_config, to_run_config
from .model import test
from .partition import SERVER_REFERENCE, SERVER_TEST, read_partition_manifest
from .strategy import ReferenceCheck, build_strategy, dp_epsilon
from .task import initial_model, load_partition_file, make_model

ROUNDS_FILE = "rounds.json"
MODEL_FILE = "global_model.pt"
PARTITION_DIR_KEY = "paths.partition-dir"
OUT_DIR_KEY = "paths.out-dir"


def _records(d: dict[int, MetricRecord]) -> dict[str, dict[str, Any]]:
    return {str(k): dict(v) for k, v in sorted(d.items())}


def run_server(
    grid: Grid, cfg: FederatedConfig, partition_dir: str | Path, out_dir: str | Path
) -> dict[str, Any]:
    """Run ``num_rounds`` of the configured strategy on ``grid``; write and return the history."""
    import torch

    from campaignlab.errors import ConfigError

    partition_dir, out_dir = Path(partition_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, int(cfg.backend.client_resources.num_cpus)))
    random.seed(cfg.general.random_seed)  # Flower's strategies sample nodes with `random`
    manifest = read_partition_manifest(partition_dir)
    n_platforms = int(manifest.get("n_platforms", 12))
    test_data = load_partition_file(partition_dir / SERVER_TEST, n_platforms)
    model = initial_model(cfg, test_data, n_platforms)
    scorer = None
    if cfg.server.reference_check is not None:
        ref_path = partition_dir / SERVER_REFERENCE
        if not ref_path.is_file():
            raise ConfigError(
                f"server.reference_check: the partition {partition_dir.name!r} has no {SERVER_REFERENCE} "
                "(run `campaignlab partition ... --reference-rows N`)"
            )
        reference = load_partition_file(ref_path, n_platforms)
        probe = make_model(cfg, reference, n_platforms)

        def scorer(arrays: ArrayRecord) -> float:
            probe.load_state_dict(arrays.to_torch_state_dict())
            return float(test(probe, reference)["macro_f1"])

    strategy = build_strategy(cfg, scorer)
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
    history: dict[str, Any] = {
        "server": server_rounds,
        "client_train": _records(result.train_metrics_clientapp),
        "client_evaluate": _records(result.evaluate_metrics_clientapp),
        "seconds": time.perf_counter() - t0,
        "num_rounds": cfg.server.num_rounds,
        "partition": manifest["name"],
        "strategy": {"name": cfg.server.strategy, "params": cfg.server.strategy_params.model_dump()},
    }
    inner = getattr(strategy, "strategy", None)
    for s in (strategy, inner):
        if isinstance(s, ReferenceCheck):
            history["reference_check"] = {str(k): v for k, v in sorted(s.left_out.items())}
    dp = cfg.server.differential_privacy
    if dp is not None:
        history["differential_privacy"] = {
            **dp.model_dump(),
            "epsilon": dp_epsilon(dp.noise_multiplier, cfg.server.num_rounds, dp.delta),
            "accountant": "dp-accounting RDP (client-level, add/remove one client, no sampling)",
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
