"""Own-data command: ``ingest`` (raw campaigns -> a validated dataset folder)."""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import command_config, handle_errors

app = typer.Typer()


@app.command()
@handle_errors
def ingest(
    source: str = typer.Argument(
        ...,
        help="CSV/Parquet/JSON Lines file, a folder of them, gs://BUCKET/PATH or bq://PROJECT.DATASET.TABLE",
    ),
    out: Path | None = typer.Option(None, "--out", help="dataset folder to write (replaced atomically)"),
    mapping: Path | None = typer.Option(None, "--mapping", help="YAML: contract field -> your column name"),
    split: str | None = typer.Option(
        None, "--split", help="random (stratified, default) or time (latest = test)"
    ),
    test_fraction: float | None = typer.Option(
        None, "--test-fraction", help="share of test rows (default 0.2)"
    ),
    max_rejected: float | None = typer.Option(
        None, "--max-rejected", help="largest share of rejected rows allowed (default 0.05)"
    ),
    unlabelled: bool = typer.Option(False, "--unlabelled", help="campaigns to score: no label column"),
    seed: int | None = typer.Option(None, "--seed", help="seed of the random split (default 42)"),
    encoding: str | None = typer.Option(
        None, "--encoding", help="text encoding of CSV/JSON (default: detected)"
    ),
    pdfm: Path | None = typer.Option(
        None, "--pdfm", help="PDFM table for the ZIP coverage (default: stand-in)"
    ),
    config: Path | None = typer.Option(None, "--config", help="YAML with any IngestConfig field"),
) -> None:
    """Validate raw campaigns (your columns, via --mapping) into a dataset folder every later step reads.

    Rejected rows go to rejected.parquet with their row number and reason; above --max-rejected the
    command fails with a summary and writes nothing.
    """
    from campaignlab.ingest.dataset import IngestConfig
    from campaignlab.ingest.dataset import ingest as run

    cfg = command_config(
        IngestConfig,
        config,
        source=source,
        out=out,
        mapping=mapping,
        split=split,
        test_fraction=test_fraction,
        max_rejected=max_rejected,
        unlabelled=unlabelled or None,
        seed=seed,
        encoding=encoding,
        pdfm=pdfm,
    )
    m = run(cfg)
    c = m["counts"]
    per = lambda s: "/".join(str(v) for v in c[s].values())  # noqa: E731
    typer.echo(
        f"ingested {m['num_samples']} of {m['num_input_rows']} rows from {m['source']['uri']} "
        f"in {m['seconds']['total']:.1f}s; rejected {m['num_rejected']} ({100 * m['rejected_share']:.2f}%)"
        + (f": {m['rejected_by_reason']}" if m["num_rejected"] else "")
    )
    if m["labelled"]:
        typer.echo(
            f"split {cfg.split}: train {sum(c['train'].values())} (neg/avg/pos {per('train')}), "
            f"test {sum(c['test'].values())} ({per('test')})"
            + (f", test from {m['split']['cutoff_date']}" if m["split"].get("cutoff_date") else "")
        )
    typer.echo(
        f"{len(m['vocabularies']['platform'])} platforms, {len(m['vocabularies']['owner'])} owners; "
        f"{100 * m['zip_coverage']['share_found']:.1f}% of ZIPs in the geo table; wrote {cfg.out} "
        "(samples.parquet, rejected.parquet, manifest.json, data_report.html/.png)"
    )
    for note in m["notes"]:
        typer.secho(f"note: {note}", err=True, fg=typer.colors.YELLOW)
