"""Model commands: ``train``, ``evaluate``, ``predict``."""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import handle_errors

app = typer.Typer()


@app.command()
@handle_errors
def train(
    model: str | None = typer.Option(
        None, "--model", help="hierarchical_lgbm, shared_latent or robust_modality"
    ),
    features: Path | None = typer.Option(None, "--features", help="features folder written by `embed`"),
    out: Path | None = typer.Option(None, "--out", help="model folder to write (replaced atomically)"),
    tune: int | None = typer.Option(None, "--tune", help="Optuna trials (shared_latent: grid points)"),
    tune_subset: int | None = typer.Option(None, help="most rows a tuning trial uses (default 20000)"),
    seed: int | None = typer.Option(None, help="random seed (default 42)"),
    threads: int | None = typer.Option(None, help="CPU threads for torch/LightGBM (default: all CPUs)"),
    config: Path | None = typer.Option(None, "--config", help="YAML with TrainConfig fields, e.g. params:"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Train a model on the train split of a features folder (optionally tuning it first)."""
    from campaignlab.config import deep_merge, read_yaml, validate
    from campaignlab.models.commands import TrainConfig
    from campaignlab.models.commands import train as run
    from campaignlab.progress import progress_bar

    flags = {"model": model, "features": features, "out": out, "tune": tune, "tune_subset": tune_subset,
             "seed": seed, "threads": threads}  # fmt: skip
    data = deep_merge(read_yaml(config) if config else {}, {k: v for k, v in flags.items() if v is not None})
    cfg = validate(TrainConfig, data, str(config) if config else "options")
    with progress_bar(not quiet) as update:
        s = run(cfg, progress=update)
    extra = ""
    if "best_epoch" in s:
        extra = f"; best epoch {s['best_epoch']}, validation macro F1 {s['val_macro_f1']:.4f}"
    tuned = f" after {cfg.tune} tuning trials (tuning.json)" if s["tuned"] else ""
    typer.echo(
        f"trained {s['model']} on {s['train_rows']} rows in {s['train_seconds']:.1f}s{tuned}{extra}; "
        f"wrote {cfg.out}"
    )


@app.command()
@handle_errors
def evaluate(
    model: Path = typer.Option(..., "--model", help="model folder written by `train`"),
    features: Path = typer.Option(..., "--features", help="features folder written by `embed`"),
    out: Path = typer.Option(..., "--out", help="evaluation folder to write (replaced atomically)"),
    split: str = typer.Option("test", "--split", help="rows to score: test, train or all"),
    threads: int | None = typer.Option(None, help="CPU threads (default: all CPUs)"),
    leaderboard_url: str | None = typer.Option(
        None, help="also submit the test predictions to this leaderboard (blind, server-side scores)"
    ),
    leaderboard_version: str | None = typer.Option(None, help="leaderboard dataset version, e.g. v25"),
    leaderboard_model: str = typer.Option("", help="model name shown in the ranking"),
    leaderboard_token: str | None = typer.Option(
        None, envvar="CAMPAIGNLAB_LEADERBOARD_TOKEN", help="API token (or CAMPAIGNLAB_LEADERBOARD_TOKEN)"
    ),
) -> None:
    """Score a model: metrics.json, KFP metric files, confusion_matrix.png, predictions.parquet."""
    from campaignlab.config import validate
    from campaignlab.errors import ConfigError
    from campaignlab.models.commands import EvaluateConfig
    from campaignlab.models.commands import evaluate as run

    cfg = validate(
        EvaluateConfig,
        {"model": model, "features": features, "out": out, "split": split, "threads": threads},
        "options",
    )
    if leaderboard_url:  # check before any work: a submission needs all of these
        if not leaderboard_version:
            raise ConfigError("--leaderboard-version: got None -> required with --leaderboard-url")
        if not leaderboard_token:
            raise ConfigError(
                "--leaderboard-token: got None -> required with --leaderboard-url "
                "(or set CAMPAIGNLAB_LEADERBOARD_TOKEN)"
            )
        if split != "test":
            raise ConfigError(f"--split: got {split!r} -> 'test' when submitting to a leaderboard")
    m = run(cfg)
    f1 = m["per_class_f1"]
    typer.echo(
        f"macro F1 {m['macro_f1']:.4f} (negative {f1['negative']:.4f}, average {f1['average']:.4f}, "
        f"positive {f1['positive']:.4f}); accuracy {m['accuracy']:.4f}; wrote {cfg.out}"
    )
    if leaderboard_url:
        from campaignlab.leaderboard.client import submit_predictions

        rec = submit_predictions(
            leaderboard_url,
            leaderboard_token or "",
            leaderboard_version or "",
            cfg.out / "predictions.parquet",
            model=leaderboard_model or model.name,
        )
        sc = rec["scores"]
        typer.echo(
            f"leaderboard submission {rec['id']} on {rec['version']}: macro F1 {sc['macro_f1']:.4f} "
            f"(server-side)"
        )


@app.command()
@handle_errors
def predict(
    model: Path | None = typer.Option(None, "--model", help="model folder written by `train`"),
    registry: str | None = typer.Option(
        None, "--registry", help="model registry R[:alias] (default champion)"
    ),
    features: Path | None = typer.Option(None, "--features", help="features folder written by `embed`"),
    campaigns: str | None = typer.Option(
        None, "--campaigns", help="raw campaigns (CSV/Parquet/JSON Lines file or folder, ingested dataset)"
    ),
    out: Path = typer.Option(
        ..., "--out", help="--features: a Parquet file; --campaigns: a folder (predictions, errors, summary)"
    ),
    split: str = typer.Option("all", "--split", help="--features: rows to predict (all, train or test)"),
    mapping: Path | None = typer.Option(None, "--mapping", help="--campaigns: YAML contract_field: column"),
    no_explain: bool = typer.Option(False, "--no-explain", help="--campaigns: no per-modality attribution"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="--campaigns: campaigns per batch"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="--campaigns: embedding cache folder"),
    no_cache: bool = typer.Option(False, "--no-cache", help="--campaigns: read and write no embedding cache"),
    pdfm: Path | None = typer.Option(
        None, "--pdfm", help="--campaigns: PDFM table if the model lacks its own"
    ),
    threads: int | None = typer.Option(None, help="CPU threads (default: all CPUs)"),
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Predict outcome tiers: of a features folder (--features), or of raw campaigns (--campaigns), which
    are re-embedded with the model's recipe and get per-modality attributions and an errors file."""
    from campaignlab.config import validate
    from campaignlab.errors import ConfigError

    if (features is None) == (campaigns is None):
        given = "both" if features is not None else "neither"
        raise ConfigError(f"input: got {given} of --features and --campaigns -> expected exactly one")
    if campaigns is not None:
        from campaignlab.progress import progress_bar
        from campaignlab.serving.batch import PredictCampaignsConfig, predict_campaigns

        flags = {"model": model, "registry": registry, "campaigns": campaigns, "out": out, "mapping": mapping,
                 "explain": False if no_explain else None, "batch_size": batch_size, "cache_dir": cache_dir,
                 "use_cache": False if no_cache else None, "pdfm": pdfm, "threads": threads}  # fmt: skip
        ccfg = validate(PredictCampaignsConfig, {k: v for k, v in flags.items() if v is not None}, "options")
        with progress_bar(not quiet) as update:
            s = predict_campaigns(ccfg, progress=update)
        tiers = ", ".join(f"{k} {v}" for k, v in s["predicted_tiers"].items())
        typer.echo(
            f"predicted {s['predicted']} of {s['input_rows']} campaigns with {s['model']['type']} ({tiers}); "
            f"{s['errors']} could not be scored (errors.parquet); wrote {ccfg.out}"
        )
        return
    from campaignlab.models.commands import PredictConfig
    from campaignlab.models.commands import predict as run
    from campaignlab.serving.models import resolve_model

    resolved = resolve_model(model, registry)
    cfg = validate(
        PredictConfig,
        {"model": resolved.path, "features": features, "out": out, "split": split, "threads": threads},
        "options",
    )
    n = run(cfg)
    typer.echo(f"wrote {n} predictions to {cfg.out}")
