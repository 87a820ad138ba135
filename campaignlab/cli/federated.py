"""Federated commands: ``partition`` and ``federate`` (Flower).

Every flag of ``federate`` is named after its config field (``--num-rounds`` = ``server.num_rounds``) and
overrides the ``--config`` YAML, which is merged over ``campaignlab/federated/default.yaml`` (the one
source of the defaults): a flag not given changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from campaignlab.cli.common import handle_errors

app = typer.Typer()


@app.command()
@handle_errors
def partition(
    features: Path = typer.Argument(..., help="features folder (features.parquet + manifest.json)"),
    num_clients: int | None = typer.Option(
        None, "--num-clients", help="number of clients (default 5; --by owner: one per owner)"
    ),
    by: str = typer.Option("label", "--by", help="label (the data_split of the labels) or owner"),
    data_split: str = typer.Option("homogeneous", "--data-split", help="homogeneous or heterogeneous"),
    alpha: float | None = typer.Option(None, "--alpha", help="Dirichlet concentration (heterogeneous)"),
    out: Path = typer.Option(..., "--out", help="folder to write <split>_<N>clients[_alpha<A>]/ into"),
    seed: int = typer.Option(42, "--seed", help="random seed"),
    min_per_client: int = typer.Option(10, help="heterogeneous: fewest rows a client may get"),
    data_version: str | None = typer.Option(None, help="data_version recorded (default: folder name)"),
    reference_rows: int = typer.Option(
        0, "--reference-rows", help="test rows set aside as the server's reference set (reference check)"
    ),
) -> None:
    """Split the training rows across federated clients; write client files, server test set, heat map."""
    from campaignlab.config import validate
    from campaignlab.federated.partition import PartitionConfig
    from campaignlab.federated.partition import partition as run

    cfg = validate(
        PartitionConfig,
        {
            "by": by,
            **({"num_clients": num_clients} if num_clients is not None else {}),
            "data_split": data_split,
            "alpha": alpha,
            "seed": seed,
            "min_per_client": min_per_client,
            "data_version": data_version,
            "reference_rows": reference_rows,
        },
        "options",
    )
    dest = run(features, cfg, out)
    from campaignlab.io import read_json

    m = read_json(dest / "manifest.json")
    typer.echo(f"wrote {dest} (data_version {m['data_version']}); label counts [Neg, Avg, Pos]:")
    for name, counts in m["counts"].items():
        typer.echo(f"  {name}: {counts}")


def parse_strategy_params(items: list[str] | None) -> dict[str, Any] | None:
    """``["eta=0.01", "beta_1=0.9"]`` -> ``{"eta": 0.01, "beta_1": 0.9}`` (values parsed as YAML scalars)."""
    import yaml

    from campaignlab.errors import ConfigError

    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--strategy-params: got {item!r} -> expected KEY=VALUE (e.g. eta=0.01)")
        out[key.strip()] = yaml.safe_load(value)
    return out


def flag_overrides(**flags: Any) -> dict[str, Any]:
    """Nest the flags given (not None) under their config sections."""
    where = {
        "strategy": "server",
        "strategy_params": "server",
        "num_rounds": "server",
        "fraction_fit": "server",
        "fraction_eval": "server",
        "num_clients": "client",
        "local_epochs": "model",
        "batch_size": "model",
        "lr": "model",
        "lr_schedule": "model",
        "warmup_epochs": "model",
        "weight_decay": "model",
        "optuna_n_trials": "model",
        "use_wandb": "general",
        "random_seed": "general",
        "data_version": "general",
        "data_split": "general",
        "alpha": "general",
        "centralized_baseline": "general",
    }
    out: dict[str, Any] = {}
    for key, value in flags.items():
        if value is None:
            continue
        if key == "num_cpus":
            out.setdefault("backend", {}).setdefault("client_resources", {})["num_cpus"] = value
        else:
            out.setdefault(where[key], {})[key] = value
    return out


@app.command()
@handle_errors
def federate(
    config: Path | None = typer.Option(None, "--config", help="federated YAML (report's 5 sections)"),
    partitions: Path = typer.Option(
        Path("data/partitions"), "--partitions", "--data", help="partition folder or its parent"
    ),
    out: Path = typer.Option(Path("runs/federated"), "--out", help="output folder (replaced atomically)"),
    results: Path | None = typer.Option(
        None, "--results", help="also write the results table (Markdown) here"
    ),
    mode: str = typer.Option("simulation", "--mode", help="simulation, deployment or containers"),
    tls: bool = typer.Option(False, help="deployment: TLS with a throw-away local CA"),
    node_auth: bool = typer.Option(False, help="deployment: SuperNode authentication"),
    image: str | None = typer.Option(None, "--image", help="containers: the fl image to run"),
    strategy: str | None = typer.Option(None, "--strategy", help="server.strategy (Mean, FedAvgM, ...)"),
    strategy_params: list[str] | None = typer.Option(
        None, "--strategy-params", help="server.strategy_params, KEY=VALUE (repeatable)"
    ),
    num_rounds: int | None = typer.Option(None, "--num-rounds", help="server.num_rounds"),
    fraction_fit: float | None = typer.Option(None, "--fraction-fit", help="server.fraction_fit"),
    fraction_eval: float | None = typer.Option(None, "--fraction-eval", help="server.fraction_eval"),
    num_clients: int | None = typer.Option(None, "--num-clients", help="client.num_clients"),
    local_epochs: int | None = typer.Option(None, "--local-epochs", help="model.local_epochs"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="model.batch_size"),
    lr: float | None = typer.Option(None, "--lr", help="model.lr"),
    lr_schedule: str | None = typer.Option(None, "--lr-schedule", help="model.lr_schedule"),
    warmup_epochs: float | None = typer.Option(None, "--warmup-epochs", help="model.warmup_epochs"),
    weight_decay: float | None = typer.Option(None, "--weight-decay", help="model.weight_decay"),
    optuna_n_trials: int | None = typer.Option(None, "--optuna-n-trials", help="model.optuna_n_trials"),
    use_wandb: bool | None = typer.Option(None, "--use-wandb/--no-use-wandb", help="general.use_wandb"),
    random_seed: int | None = typer.Option(None, "--random-seed", help="general.random_seed"),
    data_version: str | None = typer.Option(None, "--data-version", help="general.data_version"),
    data_split: str | None = typer.Option(None, "--data-split", help="general.data_split"),
    alpha: float | None = typer.Option(None, "--alpha", help="general.alpha"),
    centralized_baseline: bool | None = typer.Option(
        None, "--centralized-baseline/--no-centralized-baseline", help="general.centralized_baseline"
    ),
    num_cpus: float | None = typer.Option(None, "--num-cpus", help="backend.client_resources.num_cpus"),
    verbose: bool = typer.Option(False, help="show Flower's logs"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Federated training (Flower) vs the centralized baseline at the same epoch budget."""
    from campaignlab.errors import ConfigError
    from campaignlab.federated.config import load_federated_config
    from campaignlab.federated.simulation import federate as run
    from campaignlab.progress import progress_bar

    if mode not in ("simulation", "deployment", "containers"):
        raise ConfigError(f"--mode: got {mode!r} -> expected 'simulation', 'deployment' or 'containers'")
    if (tls or node_auth) and mode == "simulation":
        raise ConfigError("--tls/--node-auth: only with --mode deployment or containers")
    if image is not None and mode != "containers":
        raise ConfigError("--image: only with --mode containers")
    overrides = flag_overrides(
        strategy=strategy,
        strategy_params=parse_strategy_params(strategy_params),
        num_rounds=num_rounds,
        fraction_fit=fraction_fit,
        fraction_eval=fraction_eval,
        num_clients=num_clients,
        local_epochs=local_epochs,
        batch_size=batch_size,
        lr=lr,
        lr_schedule=lr_schedule,
        warmup_epochs=warmup_epochs,
        weight_decay=weight_decay,
        optuna_n_trials=optuna_n_trials,
        use_wandb=use_wandb,
        random_seed=random_seed,
        data_version=data_version,
        data_split=data_split,
        alpha=alpha,
        centralized_baseline=centralized_baseline,
        num_cpus=num_cpus,
    )
    cfg = load_federated_config(config, **overrides)
    options: dict[str, Any] | None = None
    if mode != "simulation":
        options = {"tls": tls, "node_auth": node_auth}
        if mode == "containers":
            options["containers"] = True
            options["image"] = image
    with progress_bar(not quiet) as update:
        summary = run(
            cfg,
            partitions,
            out,
            mode="simulation" if mode == "simulation" else "deployment",
            quiet=not verbose,
            progress=update,
            deployment_options=options,
        )
    fl = summary["federated"]
    typer.echo(summary["table"])
    if results is not None:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(summary["table"] + "\n")
    if summary["centralized"] is not None:
        typer.echo(
            f"gap {summary['gap_macro_f1_points']:.2f} macro-F1 points; wall time FL "
            f"{fl['wall_seconds']:.1f}s vs centralized {summary['centralized']['seconds']:.1f}s; wrote {out}"
        )
    else:
        typer.echo(f"FL macro F1 {fl['final']['macro_f1']:.4f}; {fl['wall_seconds']:.1f}s; wrote {out}")
    for note in summary["notes"]:
        typer.secho(note, err=True, fg=typer.colors.YELLOW)
