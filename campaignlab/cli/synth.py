"""Generator commands: ``generate``, ``verify``, ``calibrate``."""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import CONFIG_HELP, command_config, echo_json, handle_errors

app = typer.Typer()
_CONFIG = typer.Option(None, "--config", help=CONFIG_HELP)


@app.command()
@handle_errors
def generate(
    out: Path = typer.Option(..., "--out", help="dataset folder to write (replaced atomically)"),
    preset: str | None = typer.Option(None, "--preset", help="v25, v26 or v28"),
    seed: int | None = typer.Option(None, "--seed", help="random seed"),
    noise: str | None = typer.Option(None, "--noise", help="clean, low, medium or high"),
    pairs: str | None = typer.Option(None, "--pairs", help="none, common_first, rare_first or middle_ground"),
    scale: float | None = typer.Option(
        None, "--scale", help="multiply every class count (0.01: a quick run)"
    ),
    config: Path | None = _CONFIG,
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Generate a labelled synthetic campaign dataset folder."""
    from campaignlab.io import check_writable_parent
    from campaignlab.progress import progress_bar
    from campaignlab.synth import dataset
    from campaignlab.synth.config import GeneratorConfig

    cfg = command_config(
        GeneratorConfig, config, preset=preset, seed=seed, noise=noise, pairs=pairs, scale=scale
    )
    check_writable_parent(out)
    with progress_bar(not quiet) as update:
        ds = dataset.generate(cfg, progress=update)
    dataset.write(ds, out)
    m = ds.manifest
    typer.echo(
        f"wrote {m['num_samples']} samples to {out} in {ds.seconds['total']:.1f}s "
        f"(train {sum(m['counts']['train'].values())}, test {sum(m['counts']['test'].values())}; "
        f"acceptance {m['acceptance']})"
    )


@app.command()
@handle_errors
def verify(folder: Path = typer.Argument(..., help="dataset folder written by `generate`")) -> None:
    """Recompute every label from nodes.parquet and edges.parquet; exit 1 on any mismatch."""
    from campaignlab.errors import VerificationError
    from campaignlab.synth import dataset

    try:
        report = dataset.verify(folder)
    except VerificationError as err:
        typer.secho(f"verification FAILED: {err}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from None
    typer.echo(
        f"OK: {report.num_samples} samples verified; counts {report.counts}; "
        f"{report.ambiguous} lie in more than one class's ranges"
    )


@app.command()
@handle_errors
def calibrate(
    seed: int | None = typer.Option(None, "--seed", help="seed of the graph (as in generate)"),
    n_subgraphs: int | None = typer.Option(None, "--n-subgraphs", help="random subgraphs to draw"),
    edges_per_subgraph: int | None = typer.Option(
        None, "--edges-per-subgraph", help="pairwise combinations per subgraph"
    ),
    avg_halfwidth_sd: float | None = typer.Option(
        None, "--avg-halfwidth-sd", help="Average range = mean +- this many std"
    ),
    shift_sd: float | None = typer.Option(
        None, "--shift-sd", help="Positive/Negative ranges start this many std beyond Average"
    ),
    config: Path | None = _CONFIG,
    out: Path | None = typer.Option(None, "--out", help="also write the result as JSON here"),
) -> None:
    """Derive class ranges from random subgraphs and print the edge-type frequency report."""
    from campaignlab.io import write_json
    from campaignlab.synth.calibrate import CalibrateConfig
    from campaignlab.synth.calibrate import calibrate as run
    from campaignlab.synth.graph import build_graph

    cfg = command_config(
        CalibrateConfig,
        config,
        seed=seed,
        n_subgraphs=n_subgraphs,
        edges_per_subgraph=edges_per_subgraph,
        avg_halfwidth_sd=avg_halfwidth_sd,
        shift_sd=shift_sd,
    )
    result = run(build_graph(cfg.graph, cfg.seed), cfg)
    if out:
        write_json(out, result)
    from rich.table import Table

    from campaignlab.progress import console

    table = Table(title="Edge-type frequency per random subgraph")
    for col in ("rank", "edge type", "mean", "std"):
        table.add_column(col)
    for i, row in enumerate(result["edge_type_frequencies"], 1):
        table.add_row(str(i), row["edge_type"], f"{row['mean']:.2f}", f"{row['std']:.2f}")
    console.print(table)
    echo_json({"fractions": result["fractions"], "classes": result["classes"]})
