"""Feature commands: ``embed`` (text encoders and PDFM geo)."""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import CONFIG_HELP, command_config, handle_errors

app = typer.Typer()


@app.command()
@handle_errors
def embed(
    dataset: Path = typer.Argument(..., help="dataset folder written by `generate`"),
    out: Path = typer.Option(..., "--out", help="features folder to write (replaced atomically)"),
    encoder: str | None = typer.Option(None, "--encoder", help="local (offline MiniLM) or vertex"),
    task_type: str | None = typer.Option(
        None, "--task-type", help="vertex task type, e.g. CLASSIFICATION or SEMANTIC_SIMILARITY"
    ),
    dim: int | None = typer.Option(None, "--dim", help="text vector size (vertex 1..768; local 384)"),
    pdfm: Path | None = typer.Option(None, "--pdfm", help="PDFM ZIP table (default: offline stand-in)"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="embedding cache folder"),
    no_cache: bool = typer.Option(False, "--no-cache", help="embed everything, write no cache"),
    backend: str | None = typer.Option(None, "--backend", help="local encoder: auto, torch or onnx"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="local encoder texts per batch"),
    vertex_endpoint: str | None = typer.Option(
        None, "--vertex-endpoint", help="Vertex base URL (default $CAMPAIGNLAB_VERTEX_ENDPOINT or Google's)"
    ),
    vertex_project: str | None = typer.Option(None, "--vertex-project", help="default $GOOGLE_CLOUD_PROJECT"),
    vertex_location: str | None = typer.Option(None, "--vertex-location", help="Vertex region"),
    vertex_concurrency: int | None = typer.Option(None, "--vertex-concurrency", help="requests in flight"),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Embed a dataset's texts and ZIPs into features.parquet + manifest.json."""
    from campaignlab.features.embed import EmbedConfig
    from campaignlab.features.embed import run as run_embed
    from campaignlab.progress import progress_bar

    vertex = {"endpoint": vertex_endpoint, "project": vertex_project, "location": vertex_location,
              "concurrency": vertex_concurrency}  # fmt: skip
    cfg = command_config(
        EmbedConfig,
        config,
        encoder=encoder,
        task_type=task_type,
        dim=dim,
        pdfm=pdfm,
        cache_dir=cache_dir,
        backend=backend,
        batch_size=batch_size,
        use_cache=False if no_cache else None,
        vertex={k: v for k, v in vertex.items() if v is not None},
    )
    with progress_bar(not quiet) as update:
        m = run_embed(cfg, dataset, out, progress=update)
    dims = ", ".join(f"{k} {v}" for k, v in m["dimensions"].items())
    secs = m["seconds"]["total"]
    typer.echo(
        f"embedded {m['num_samples']} samples with {m['encoder']} {m['model']} in {secs:.1f}s: "
        f"{m['unique_texts']} distinct texts, {m['texts_embedded']} embedded, {m['cache_hits']} from cache; "
        f"dims {dims}; geo {m['geo']['zips_found']}/{m['geo']['zips_total']} ZIPs found; wrote {out}"
    )
