"""Federated commands: ``partition`` and ``federate`` (Flower)."""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import handle_errors

app = typer.Typer()


@app.command()
@handle_errors
def partition(
    features_dir: Path = typer.Argument(..., help="features folder (features.parquet + manifest.json)"),
    clients: int = typer.Option(5, "--clients", help="number of clients (one file each)"),
    split: str = typer.Option("homogeneous", "--split", help="homogeneous or heterogeneous"),
    alpha: float | None = typer.Option(None, "--alpha", help="Dirichlet concentration (heterogeneous)"),
    out: Path = typer.Option(..., "--out", help="folder to write <split>_<N>clients[_alpha<A>]/ into"),
    seed: int = typer.Option(42, help="random seed"),
    min_per_client: int = typer.Option(10, help="heterogeneous: fewest rows a client may get"),
    data_version: str | None = typer.Option(None, help="data_version recorded (default: folder name)"),
) -> None:
    """Split the training rows across federated clients; write client files, server test set, heat map."""
    from campaignlab.config import validate
    from campaignlab.federated.partition import PartitionConfig
    from campaignlab.federated.partition import partition as run

    cfg = validate(
        PartitionConfig,
        {
            "num_clients": clients,
            "split": split,
            "alpha": alpha,
            "seed": seed,
            "min_per_client": min_per_client,
            "data_version": data_version,
        },
        "options",
    )
    dest = run(features_dir, cfg, out)
    from campaignlab.io import read_json

    m = read_json(dest / "manifest.json")
    typer.echo(f"wrote {dest} (data_version {m['data_version']}); label counts [Neg, Avg, Pos]:")
    for name, counts in m["counts"].items():
        typer.echo(f"  {name}: {counts}")


@app.command()
@handle_errors
def federate(
    config: Path | None = typer.Option(None, "--config", help="federated YAML (report's 5 sections)"),
    data: Path = typer.Option(Path("data/partitions"), "--data", help="partition folder or its parent"),
    out: Path = typer.Option(Path("runs/federated"), "--out", help="output folder (replaced atomically)"),
    mode: str = typer.Option("simulation", "--mode", help="simulation or deployment"),
    tls: bool = typer.Option(False, help="deployment: TLS with a throw-away local CA"),
    node_auth: bool = typer.Option(False, help="deployment: SuperNode authentication"),
    verbose: bool = typer.Option(False, help="show Flower's logs"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Federated training (Flower) vs the centralized baseline at the same epoch budget."""
    from campaignlab.errors import ConfigError
    from campaignlab.federated.config import load_federated_config
    from campaignlab.federated.simulation import federate as run
    from campaignlab.progress import progress_bar

    if mode not in ("simulation", "deployment"):
        raise ConfigError(f"--mode: got {mode!r} -> expected 'simulation' or 'deployment'")
    if (tls or node_auth) and mode != "deployment":
        raise ConfigError("--tls/--node-auth: only with --mode deployment")
    cfg = load_federated_config(config)
    with progress_bar(not quiet) as update:
        summary = run(
            cfg,
            data,
            out,
            mode=mode,  # type: ignore[arg-type]
            quiet=not verbose,
            progress=update,
            deployment_options={"tls": tls, "node_auth": node_auth} if mode == "deployment" else None,
        )
    fl = summary["federated"]
    typer.echo(summary["table"])
    typer.echo(
        f"gap {summary['gap_macro_f1_points']:.2f} macro-F1 points; wall time FL "
        f"{fl['wall_seconds']:.1f}s vs centralized {summary['centralized']['seconds']:.1f}s; wrote {out}"
    )
    for note in summary["notes"]:
        typer.secho(note, err=True, fg=typer.colors.YELLOW)
