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
    mapping: str | None = typer.Option(
        None,
        "--mapping",
        help="YAML file (contract field -> your column name), or the mapping as a JSON object",
    ),
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
    from campaignlab.ingest.mapping import mapping_option

    cfg = command_config(
        IngestConfig,
        config,
        source=source,
        out=out,
        mapping=mapping_option(mapping),
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


@app.command()
@handle_errors
def gate(
    dataset: Path = typer.Argument(..., help="the new dataset folder (written by `ingest`)"),
    features: Path = typer.Option(..., "--features", help="its features folder (written by `embed`)"),
    out: Path = typer.Option(..., "--out", help="folder for gate.json, report.html, gate.png"),
    reference: Path | None = typer.Option(
        None, "--reference", help="a reference folder (default: the registry champion's)"
    ),
    registry: str | None = typer.Option(None, "--registry", help="registry to take the champion from"),
    alias: str = typer.Option("champion", "--alias", help="the registry version to compare against"),
    max_rejected_share: float | None = typer.Option(None, "--max-rejected-share", help="default 0.05"),
    max_label_shift: float | None = typer.Option(None, "--max-label-shift", help="default 0.15"),
    max_new_platform_share: float | None = typer.Option(
        None, "--max-new-platform-share", help="default 0.10"
    ),
    max_platform_shift: float | None = typer.Option(None, "--max-platform-shift", help="default 0.25"),
    max_embedding_auc: float | None = typer.Option(None, "--max-embedding-auc", help="default 0.75"),
    on_drift: str | None = typer.Option(None, "--on-drift", help="stop (default), or warn: report and pass"),
    html_out: Path | None = typer.Option(None, "--html-out", help="also copy report.html here"),
    passed_out: Path | None = typer.Option(None, "--passed-out", help="write true/false here"),
    report_only: bool = typer.Option(False, "--report-only", help="exit 0 even when the gate fails"),
    config: Path | None = typer.Option(None, "--config", help="YAML with GateConfig thresholds"),
) -> None:
    """Data-validation gate: schema, rejected share, class balance, vocabulary and embedding drift
    of new data against the champion's training data. Exits 1 when it fails (unless --report-only)."""
    from campaignlab.ingest.gate import GateConfig, run_gate, write_gate

    cfg = command_config(
        GateConfig,
        config,
        max_rejected_share=max_rejected_share,
        max_label_shift=max_label_shift,
        max_new_platform_share=max_new_platform_share,
        max_platform_shift=max_platform_shift,
        max_embedding_auc=max_embedding_auc,
        on_drift=on_drift,
    )
    if reference is None:
        from campaignlab.registry import Registry

        reference = Registry(registry).resolve(alias).reference_dir
    result = run_gate(dataset, features, reference, cfg)
    write_gate(result, cfg, out)
    if html_out is not None:
        import shutil

        html_out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "report.html", html_out)
    if passed_out is not None:
        passed_out.parent.mkdir(parents=True, exist_ok=True)
        passed_out.write_text("true" if result.passed else "false")
    colour = typer.colors.GREEN if result.passed and not result.allowed else typer.colors.RED
    typer.secho(result.message() + f"\nreport: {out / 'report.html'}", fg=colour, err=not result.passed)
    if not result.passed and not report_only:
        raise typer.Exit(code=1)


@app.command("gate-verdict")
@handle_errors
def gate_verdict(verdict: Path = typer.Argument(..., help="the verdict folder written by `gate`")) -> None:
    """Exit 1 with the failed checks if a gate run failed (the pipeline's stop step), else 0."""
    from campaignlab.io import read_json

    g = read_json(verdict / "gate.json")
    failed = [c for c in g["checks"] if not c["passed"]]
    if g["passed"]:
        typer.echo("data gate passed" + (" (drift allowed by the config)" if failed else ""))
        return
    lines = ["data gate FAILED: the new data differs from the champion's training data; nothing was trained."]
    lines += [f"  {c['name']}: {c['detail']}" for c in failed]
    lines.append(f"report: {verdict / 'report.html'} (on_drift: warn trains anyway)")
    typer.secho("\n".join(lines), err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)
