"""Generator commands: ``generate``, ``verify``, ``calibrate``."""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import echo_json, handle_errors

app = typer.Typer()


@app.command()
@handle_errors
def generate(
    out: Path = typer.Option(..., "--out", help="dataset folder to write (replaced atomically)"),
    preset: str | None = typer.Option(None, help="v25, v26 or v28"),
    seed: int | None = typer.Option(None, help="random seed (default 42)"),
    noise: str | None = typer.Option(None, help="clean, low, medium or high"),
    pairs: str | None = typer.Option(None, help="none, common_first, rare_first or middle_ground"),
    scale: float | None = typer.Option(None, help="multiply every class count (e.g. 0.01 for a quick run)"),
    config: Path | None = typer.Option(None, "--config", help="YAML file with any GeneratorConfig field"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Generate a labelled synthetic campaign dataset folder."""
    from campaignlab.config import deep_merge, read_yaml
    from campaignlab.io import check_writable_parent
    from campaignlab.progress import progress_bar
    from campaignlab.synth import dataset
    from campaignlab.synth.config import resolve_generator_config

    data = read_yaml(config) if config else {}
    flags = {"preset": preset, "seed": seed, "noise": noise, "pairs": pairs, "scale": scale}
    data = deep_merge(data, {k: v for k, v in flags.items() if v is not None})
    cfg = resolve_generator_config(data, source=str(config) if config else "options")
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
    seed: int = typer.Option(42, help="seed of the graph (as in generate)"),
    n_subgraphs: int = typer.Option(10_000, help="random subgraphs to draw"),
    edges_per_subgraph: int = typer.Option(1_000, help="pairwise combinations per subgraph"),
    avg_halfwidth_sd: float = typer.Option(2.0, help="Average range = mean +- this many std"),
    shift_sd: float = typer.Option(5.0, help="Positive/Negative ranges start this many std beyond Average"),
    config: Path | None = typer.Option(None, "--config", help="generator YAML whose graph: section to use"),
    out: Path | None = typer.Option(None, "--out", help="also write the result as JSON here"),
) -> None:
    """Derive class ranges from random subgraphs and print the edge-type frequency report."""
    from campaignlab.config import read_yaml, validate
    from campaignlab.io import write_json
    from campaignlab.synth.calibrate import CalibrateConfig
    from campaignlab.synth.calibrate import calibrate as run
    from campaignlab.synth.config import GraphConfig
    from campaignlab.synth.graph import build_graph

    graph_cfg = validate(GraphConfig, read_yaml(config).get("graph", {}) if config else {}, "graph")
    cfg = validate(
        CalibrateConfig,
        {
            "n_subgraphs": n_subgraphs,
            "edges_per_subgraph": edges_per_subgraph,
            "avg_halfwidth_sd": avg_halfwidth_sd,
            "shift_sd": shift_sd,
            "seed": seed,
        },
        "options",
    )
    result = run(build_graph(graph_cfg, seed), cfg)
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
