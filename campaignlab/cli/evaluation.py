"""Evaluation commands: ``compare`` (pick the best, promote by margin), ``register``, ``kfp-metadata``."""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import CONFIG_HELP, command_config, handle_errors

app = typer.Typer()
_CONFIG = typer.Option(None, "--config", help=CONFIG_HELP)


@app.command()
@handle_errors
def compare(
    metrics: list[str] = typer.Option(
        [], "--metrics", help="NAME=DIR[#SECTION]: a candidate's evaluation folder (repeat)"
    ),
    out: Path | None = typer.Option(
        None, "--out", help="folder for best.json, summary.md/.html, comparison.png"
    ),
    model: list[str] = typer.Option([], "--model", help="NAME=DIR: a candidate's model folder (repeat)"),
    model_out: Path | None = typer.Option(None, "--model-out", help="copy the best model folder here"),
    champion: Path | None = typer.Option(None, "--champion", help="the champion's evaluation folder"),
    margin: float | None = typer.Option(
        None, "--margin", help="macro-F1 points the best must beat the champion by"
    ),
    promote_out: Path | None = typer.Option(None, "--promote-out", help="write true/false here"),
    markdown_out: Path | None = typer.Option(None, "--markdown-out", help="also copy summary.md here"),
    html_out: Path | None = typer.Option(None, "--html-out", help="also copy summary.html here"),
    config: Path | None = _CONFIG,
) -> None:
    """Pick the best model by macro F1; with --champion, decide whether to promote it."""
    from campaignlab.evaluation.compare import CompareConfig, markdown_table, parse_pairs
    from campaignlab.evaluation.compare import compare as run

    cfg = command_config(
        CompareConfig,
        config,
        metrics=parse_pairs(metrics, "--metrics") or None,
        models=parse_pairs(model, "--model") or None,
        out=out,
        model_out=model_out,
        champion=champion,
        margin=margin,
        promote_out=promote_out,
        markdown_out=markdown_out,
        html_out=html_out,
    )
    typer.echo(markdown_table(run(cfg)))


@app.command()
@handle_errors
def register(
    model: Path | None = typer.Option(None, "--model", help="model folder to register"),
    metrics: Path | None = typer.Option(None, "--metrics", help="its evaluation folder (metrics.json)"),
    out: Path | None = typer.Option(None, "--out", help="registered copy"),
    name: str | None = typer.Option(None, "--name", help="registered model name (default champion)"),
    registry_dir: str | None = typer.Option(
        None, "--registry-dir", help="also copy here (e.g. /gcs/BUCKET/models/x)"
    ),
    config: Path | None = _CONFIG,
) -> None:
    """Register a model (a promoted challenger): copy it with its metrics and a registered.json."""
    from campaignlab.evaluation.compare import RegisterConfig
    from campaignlab.evaluation.compare import register as run

    cfg = command_config(
        RegisterConfig, config, model=model, metrics=metrics, out=out, name=name, registry_dir=registry_dir
    )
    record = run(cfg)
    typer.echo(f"registered {record['name']} (macro F1 {record['macro_f1']:.4f}) at {cfg.out}")


@app.command("kfp-metadata")
@handle_errors
def kfp_metadata(
    eval_dir: Path = typer.Argument(..., help="evaluation folder written by `evaluate`"),
    metrics: Path | None = typer.Option(None, "--metrics", help="Metrics artifact path"),
    classification_metrics: Path | None = typer.Option(None, "--classification-metrics"),
    report: Path | None = typer.Option(None, "--report", help="HTML artifact path"),
    predictions: Path | None = typer.Option(None, "--predictions", help="Dataset artifact path"),
    executor_input: str | None = typer.Option(None, "--executor-input", help="the task's {{$}} JSON"),
) -> None:
    """Publish an evaluation folder as typed KFP artifacts (+ executor_output.json metadata)."""
    from campaignlab.evaluation.kfp_outputs import publish

    written = publish(
        eval_dir,
        metrics=metrics,
        classification_metrics=classification_metrics,
        report=report,
        predictions=predictions,
        executor_input=executor_input,
    )
    names = sorted(written.get("artifacts", {}))
    typer.echo(f"published {eval_dir}" + (f"; metadata for {', '.join(names)}" if names else ""))
