"""``campaignlab federate``: the federated run, its centralized baseline, metrics, plots and table.

:func:`federate` resolves and checks the partition folder, optionally tunes (Optuna), runs the
federation — on Flower's simulation engine (:func:`run_flower_simulation`, Ray, one virtual SuperNode
per client file) or as a real local federation (:mod:`campaignlab.federated.deployment`) — then trains
the same model centrally for ``num_rounds x local_epochs`` epochs on the union of the client files and
evaluates both on ``server_test.parquet``.

Output folder (written atomically)::

    metrics.json        config, partition, per-round federated metrics, both final results, wall times
    fl_curve.png        per-round macro F1 / per-class F1 / loss of the global model, centralized as lines
    results_table.md    the final table, in the report's layout
    federated/          rounds.json and global_model.pt written by the ServerApp
    centralized_model.pt
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from campaignlab.io import atomic_dir, read_json, write_json
from campaignlab.models.data import Features

from .config import FederatedConfig
from .model import TrainParams, concat_features, test, train
from .partition import SERVER_TEST, read_partition_manifest, resolve_partition
from .task import initial_model, load_partition_file, train_params

Mode = Literal["simulation", "deployment"]
Progress = Callable[[str, int, int], None]
FLOWER_ENV = {
    "FLWR_TELEMETRY_ENABLED": "0",  # no network calls home
    "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",  # never `uv sync` an app at run time
    "RAY_DEDUP_LOGS": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
    # Ray runs its workers at nice 15: on a busy machine the simulated clients would then starve behind
    # any other process, centralized training included, and the FL/centralized wall times would mislead.
    "RAY_worker_niceness": "0",
}


@contextlib.contextmanager
def flower_environment(quiet: bool = True) -> Iterator[None]:
    """Telemetry and runtime installs off; Flower's INFO logs muted unless ``quiet`` is False."""
    old = {k: os.environ.get(k) for k in FLOWER_ENV}
    os.environ.update(FLOWER_ENV)
    flwr_logger = logging.getLogger("flwr")
    old_level = flwr_logger.level
    if quiet:
        flwr_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        flwr_logger.setLevel(old_level)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def shm_warning() -> str | None:
    """Ray keeps its object store in /dev/shm; containers often give it 64 MB."""
    with contextlib.suppress(OSError):
        total = shutil.disk_usage("/dev/shm").total
        if total < 1 << 30:
            return (
                f"/dev/shm is {total / 2**20:.0f} MB: Ray may spill or fail; run the container with "
                "--shm-size=2g (or more)"
            )
    return None


def run_flower_simulation(
    cfg: FederatedConfig, partition_dir: Path, out_dir: Path, quiet: bool = True
) -> dict[str, Any]:
    """Run the federation on Flower's simulation engine (Ray); return the ServerApp's history."""
    from flwr.simulation import run_simulation

    from . import client_app
    from .server_app import ROUNDS_FILE, build_server_app

    res = cfg.backend.client_resources
    backend_config: dict[str, Any] = {
        "client_resources": {"num_cpus": res.num_cpus, "num_gpus": res.num_gpus},
        "init_args": {"logging_level": "ERROR", "log_to_driver": not quiet, "include_dashboard": False},
    }
    with flower_environment(quiet):
        run_simulation(
            server_app=build_server_app(cfg, partition_dir, out_dir),
            client_app=client_app.app,
            num_supernodes=cfg.client.num_clients,
            backend_config=backend_config,
        )
    if not (out_dir / ROUNDS_FILE).is_file():
        from campaignlab.errors import CampaignlabError

        raise CampaignlabError("the Flower simulation ended without a result (see the log above)")
    history: dict[str, Any] = read_json(out_dir / ROUNDS_FILE)
    return history


def load_partition_data(partition_dir: Path) -> tuple[list[Features], Features, dict[str, Any]]:
    """Client training rows, server test rows and the partition manifest."""
    m = read_partition_manifest(partition_dir)
    n_platforms = int(m.get("n_platforms", 12))
    clients = [load_partition_file(partition_dir / f, n_platforms) for f in m["client_files"]]
    test_data = load_partition_file(partition_dir / SERVER_TEST, n_platforms)
    return clients, test_data, m


def centralized_params(cfg: FederatedConfig) -> TrainParams:
    """The centralized baseline's training: the federated epoch budget in one run over all client rows.

    The local lr schedule (warm-up, cosine) spans the whole run, as it spans each local run.
    """
    return train_params(cfg, epochs=cfg.epoch_budget)


def centralized_baseline(
    cfg: FederatedConfig,
    clients: list[Features],
    test_data: Features,
    progress: Progress | None = None,
    n_platforms: int = 12,
) -> tuple[dict[str, Any], Any]:
    """Train the same model (same initial weights) on all client rows for ``num_rounds x local_epochs``."""
    import torch

    # The CPUs of one simulated client: a fair wall-time comparison, and small batches lose to
    # thread oversubscription on a busy machine anyway.
    torch.set_num_threads(max(1, int(cfg.backend.client_resources.num_cpus)))
    data = concat_features(clients)
    model = initial_model(cfg, test_data, n_platforms)
    params = centralized_params(cfg)
    t0 = time.perf_counter()
    fit = train(model, data, params, progress=progress)
    seconds = time.perf_counter() - t0
    result = test(model, test_data)
    result.update({"train_loss": fit["train_loss"], "epochs": params.epochs, "seconds": seconds})
    return result, model


def tune(
    cfg: FederatedConfig, clients: list[Features], progress: Progress | None = None, n_platforms: int = 12
) -> dict[str, Any]:
    """Optuna (TPE, seeded) over lr, weight_decay and dropout_prob on client 0's data only.

    Client 0 holds out a stratified 20% of its rows; each trial trains ``local_epochs`` epochs on the
    rest and scores macro F1 on the holdout. No other client's data and no test row is used, so tuning
    keeps the federated privacy boundary. Returns the best values and every trial.
    """
    import optuna
    import torch

    from campaignlab.models.data import stratified_split

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(max(1, int(cfg.backend.client_resources.num_cpus)))
    local = clients[0]
    tr, va = stratified_split(local.label, 0.2, cfg.general.random_seed)
    fit_data, val_data = local.take(tr), local.take(va)
    n = cfg.model.optuna_n_trials

    def objective(trial: Any) -> float:
        c = cfg.model_copy(deep=True)
        c.model.lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
        c.model.weight_decay = trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True)
        c.model.dropout_prob = trial.suggest_float("dropout_prob", 0.0, 0.5)
        model = initial_model(c, local, n_platforms)
        train(model, fit_data, train_params(c))
        score = test(model, val_data)["macro_f1"]
        if progress:
            progress("optuna trials", trial.number + 1, n)
        return score

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=cfg.general.random_seed)
    )
    # Trial 0 is the configured values, so tuning can only keep or beat them on the holdout.
    study.enqueue_trial(
        {
            "lr": cfg.model.lr,
            "weight_decay": max(cfg.model.weight_decay, 1e-6),
            "dropout_prob": cfg.model.dropout_prob,
        }
    )
    study.optimize(objective, n_trials=n)
    return {
        "best": dict(study.best_params),
        "best_holdout_macro_f1": study.best_value,
        "trials": [{"params": t.params, "macro_f1": t.value} for t in study.trials],
        "data": "client 0: 80% train / 20% holdout",
    }


def check_text_task(partition_manifest: dict[str, Any], task: str) -> None:
    """``general.text_embedding_task`` must match the task the texts were embedded with, when recorded.

    The local encoder records no task type (``None``): any value is accepted then.
    """
    from campaignlab.errors import ConfigError

    fm = partition_manifest.get("features_manifest") or {}
    used = (fm.get("encoder_settings") or {}).get("task_type") or (fm.get("config") or {}).get("task_type")
    if used and str(used).lower() != task:
        raise ConfigError(
            f"general.text_embedding_task: config {task!r} but the features were embedded with task type "
            f"{str(used).lower()!r}"
        )


CLASS_KEYS = ("f1_negative", "f1_average", "f1_positive")


def results_table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """Markdown table in the report's layout (Score = macro F1)."""
    lines = [
        "| Training Configuration | Score | Negative F1 | Average F1 | Positive F1 |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows:
        lines.append(f"| {name} | " + " | ".join(f"{r[k]:.4f}" for k in ("macro_f1", *CLASS_KEYS)) + " |")
    return "\n".join(lines)


def curve_png(rounds: list[dict[str, Any]], central: dict[str, Any] | None, title: str, out: Path) -> None:
    """Per-round global-model metrics on the server test set, centralized results as horizontal lines."""
    from campaignlab.evaluation.plots import _pyplot

    plt = _pyplot()
    x = [r["round"] for r in rounds]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    a.plot(x, [r["macro_f1"] for r in rounds], "o-", color="black", lw=2, label="FL macro F1 (score)")
    colours = {"f1_negative": "#d62728", "f1_average": "#7f7f7f", "f1_positive": "#2ca02c"}
    for k, c in colours.items():
        a.plot(x, [r[k] for r in rounds], ".--", color=c, lw=1, label=f"FL {k[3:]} F1")
    if central is not None:
        a.axhline(
            central["macro_f1"],
            color="tab:blue",
            lw=1.6,
            label=f"centralized macro F1 ({central['macro_f1']:.3f})",
        )
    a.set_xlabel("federated round (0 = initial model)")
    a.set_ylabel("F1 on the server test set")
    a.set_ylim(0, 1)
    a.legend(fontsize=7, loc="lower right")
    a.set_title("score per round")
    b.plot(x, [r["loss"] for r in rounds], "o-", color="black", label="FL test loss")
    if central is not None:
        b.axhline(central["loss"], color="tab:blue", lw=1.6, label=f"centralized ({central['loss']:.3f})")
    b.set_xlabel("federated round")
    b.set_ylabel("loss (CE + 2 BCE)")
    b.legend(fontsize=8)
    b.set_title("loss per round")
    for ax in (a, b):
        ax.set_xticks(x)  # rounds are integers
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)


def _wandb_log(cfg: FederatedConfig, out: Path, summary: dict[str, Any], quiet: bool) -> str:
    """Log to Weights & Biases in offline mode; return a note for the user."""
    if importlib.util.find_spec("wandb") is None:
        return "use_wandb: wandb is not installed (pip install wandb); metrics are in metrics.json only"
    import wandb

    run = wandb.init(
        project="campaignlab-federated",
        dir=str(out),
        mode="offline",  # never contacts a server; `wandb sync` uploads later
        config=cfg.model_dump(),
        name=summary["name"],
        reinit="create_new",
        settings=wandb.Settings(silent=quiet, console="off", x_disable_stats=True),
    )
    for r in summary["federated"]["rounds"]:
        run.log({f"fl/{k}": v for k, v in r.items() if isinstance(v, int | float)}, step=int(r["round"]))
    run.summary.update(
        {
            f"centralized/{k}": v
            for k, v in (summary["centralized"] or {}).items()
            if isinstance(v, int | float)
        }
    )
    run.finish()
    return "use_wandb: offline W&B run in the output folder's wandb/ (upload: wandb sync wandb/offline-run-*)"


def federate(
    cfg: FederatedConfig,
    data: str | Path,
    out: str | Path,
    *,
    mode: Mode = "simulation",
    quiet: bool = True,
    progress: Progress | None = None,
    deployment_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the federated experiment and its centralized baseline; write the output folder.

    Args:
        cfg: the validated config.
        data: the partition folder, or the folder ``partition --out`` wrote into.
        out: output folder (replaced atomically).
        mode: ``simulation`` (Flower's simulation engine) or ``deployment`` (SuperLink + SuperNodes on
            127.0.0.1).
        quiet: mute Flower's INFO logs.
        progress: ``update(stage, done, total)`` callback.
        deployment_options: keyword arguments for :func:`campaignlab.federated.deployment.run_deployment`.

    Returns:
        The ``metrics.json`` content.
    """
    import flwr
    import torch

    g = cfg.general
    partition_dir = resolve_partition(
        data,
        data_split=g.data_split,
        num_clients=cfg.client.num_clients,
        alpha=g.alpha,
        data_version=g.data_version,
    ).resolve()
    clients, test_data, manifest = load_partition_data(partition_dir)
    n_platforms = int(manifest.get("n_platforms", 12))
    check_text_task(manifest, g.text_embedding_task)
    if g.data_version is None:  # the partition's own data version (its manifest), recorded in the run
        cfg = cfg.model_copy(deep=True)
        cfg.general.data_version = str(manifest["data_version"])
    notes = [w for w in [shm_warning() if mode == "simulation" else None] if w]
    with atomic_dir(out) as tmp:
        tmp = tmp.resolve()
        tuning = None
        if cfg.model.optuna_n_trials > 0:
            tuning = tune(cfg, clients, progress, n_platforms)
            cfg = cfg.model_copy(deep=True)
            cfg.model.lr = tuning["best"]["lr"]
            cfg.model.weight_decay = tuning["best"]["weight_decay"]
            cfg.model.dropout_prob = tuning["best"]["dropout_prob"]
        fl_dir = tmp / "federated"
        t0 = time.perf_counter()
        if mode == "simulation":
            history = run_flower_simulation(cfg, partition_dir, fl_dir, quiet=quiet)
        else:
            from .deployment import run_deployment

            history = run_deployment(cfg, partition_dir, fl_dir, quiet=quiet, **(deployment_options or {}))
        fl_seconds = time.perf_counter() - t0
        rounds = history["server"]
        final = rounds[-1]
        central: dict[str, Any] | None = None
        if g.centralized_baseline:
            central, central_model = centralized_baseline(cfg, clients, test_data, progress, n_platforms)
            torch.save(central_model.state_dict(), tmp / "centralized_model.pt")
        n = cfg.client.num_clients
        name = f"{cfg.general.data_version}/{manifest['name']}"
        summary: dict[str, Any] = {
            "name": name,
            "mode": mode,
            "config": cfg.model_dump(),
            "strategy": history.get("strategy"),
            "tuning": tuning,
            "partition": {
                "folder": str(partition_dir),
                **{k: manifest.get(k) for k in ("name", "num_clients", "alpha", "data_version", "counts")},
                "data_split": manifest.get("data_split", manifest.get("split")),
            },
            "federated": {
                "rounds": rounds,
                "final": final,
                "client_train": history["client_train"],
                "client_evaluate": history["client_evaluate"],
                "wall_seconds": fl_seconds,
                "server_seconds": history["seconds"],
                "reference_check": history.get("reference_check"),
                "differential_privacy": history.get("differential_privacy"),
            },
            "centralized": central,
            "deployment": history.get("deployment"),
            "gap_macro_f1_points": None
            if central is None
            else 100 * (central["macro_f1"] - final["macro_f1"]),
            "wall_time_ratio_fl_over_centralized": (
                None if central is None else fl_seconds / max(central["seconds"], 1e-9)
            ),
            "epoch_budget": cfg.epoch_budget,
            "versions": {"flwr": flwr.__version__, "torch": torch.__version__},
            "notes": notes,
        }
        rows = [("Centralized (Baseline)", central)] if central is not None else []
        table = results_table([*rows, (f"FL with {n} clients ({cfg.server.strategy})", final)])
        (tmp / "results_table.md").write_text(table + "\n")
        curve_png(
            rounds,
            central,
            f"{name}: FL ({n} clients, {cfg.server.strategy}, {mode}) vs centralized",
            tmp / "fl_curve.png",
        )
        if g.use_wandb:
            notes.append(_wandb_log(cfg, tmp, summary, quiet))
        write_json(tmp / "metrics.json", summary)
    summary["table"] = table
    return summary
