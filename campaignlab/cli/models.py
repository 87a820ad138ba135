"""Model commands: ``train``, ``evaluate``, ``predict``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer

from campaignlab.cli.common import CONFIG_HELP, command_config, handle_errors

app = typer.Typer()

_CONFIG = typer.Option(None, "--config", help=CONFIG_HELP)
_MODEL_DIR = typer.Option(None, "--model", help="model folder written by `train`")
_FEATURES = typer.Option(None, "--features", help="features folder written by `embed`")
_THREADS = typer.Option(None, "--threads", help="CPU threads for torch/LightGBM (default: all CPUs)")


@app.command()
@handle_errors
def train(
    model: str | None = typer.Option(
        None, "--model", help="hierarchical_lgbm, shared_latent or robust_modality"
    ),
    features: Path | None = _FEATURES,
    out: Path | None = typer.Option(None, "--out", help="model folder to write (replaced atomically)"),
    tune: int | None = typer.Option(None, "--tune", help="Optuna trials (shared_latent: grid points)"),
    tune_subset: int | None = typer.Option(None, "--tune-subset", help="most rows a tuning trial uses"),
    seed: int | None = typer.Option(None, "--seed", help="random seed of the estimator and the tuner"),
    threads: int | None = _THREADS,
    config: Path | None = _CONFIG,
    quiet: bool = typer.Option(False, help="no progress bar"),
) -> None:
    """Train a model on the train split of a features folder (optionally tuning it first)."""
    from campaignlab.models.commands import TrainConfig
    from campaignlab.models.commands import train as run
    from campaignlab.progress import progress_bar

    cfg = command_config(
        TrainConfig,
        config,
        model=model,
        features=features,
        out=out,
        tune=tune,
        tune_subset=tune_subset,
        seed=seed,
        threads=threads,
    )
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
    model: Path | None = _MODEL_DIR,
    features: Path | None = _FEATURES,
    out: Path | None = typer.Option(None, "--out", help="evaluation folder to write (replaced atomically)"),
    split: str | None = typer.Option(None, "--split", help="rows to score: test (default), train or all"),
    threads: int | None = _THREADS,
    leaderboard_url: str | None = typer.Option(
        None, "--leaderboard-url", help="also submit the test predictions here (blind, server-side scores)"
    ),
    leaderboard_version: str | None = typer.Option(
        None, "--leaderboard-version", help="leaderboard dataset version, e.g. v25"
    ),
    leaderboard_model: str | None = typer.Option(
        None, "--leaderboard-model", help="model name shown in the ranking (default: the folder's name)"
    ),
    leaderboard_token: str | None = typer.Option(
        None,
        "--leaderboard-token",
        envvar="CAMPAIGNLAB_LEADERBOARD_TOKEN",
        help="API token (or CAMPAIGNLAB_LEADERBOARD_TOKEN)",
    ),
    metrics_artifact: Path | None = typer.Option(
        None, "--metrics-artifact", help="also write the scalar metrics here (KFP system.Metrics)"
    ),
    confusion_matrix_artifact: Path | None = typer.Option(
        None,
        "--confusion-matrix-artifact",
        help="also write the confusion matrix here (KFP ClassificationMetrics)",
    ),
    report_artifact: Path | None = typer.Option(
        None, "--report-artifact", help="also write the metrics and the plot here as one HTML page"
    ),
    predictions_artifact: Path | None = typer.Option(
        None, "--predictions-artifact", help="also copy predictions.parquet here"
    ),
    executor_input: str | None = typer.Option(
        None, "--executor-input", help="the KFP task's {{$}} JSON: write executor_output.json metadata"
    ),
    config: Path | None = _CONFIG,
) -> None:
    """Score a model: metrics.json, KFP metric files, confusion_matrix.png, predictions.parquet."""
    from campaignlab.models.commands import EvaluateConfig, submit
    from campaignlab.models.commands import evaluate as run

    cfg = command_config(
        EvaluateConfig,
        config,
        model=model,
        features=features,
        out=out,
        split=split,
        threads=threads,
        leaderboard_url=leaderboard_url,
        leaderboard_version=leaderboard_version,
        leaderboard_model=leaderboard_model,
        leaderboard_token=leaderboard_token,
        metrics_artifact=metrics_artifact,
        confusion_matrix_artifact=confusion_matrix_artifact,
        report_artifact=report_artifact,
        predictions_artifact=predictions_artifact,
        executor_input=executor_input,
    )
    with _warnings_to_stderr():
        m = run(cfg)  # checks a leaderboard request before any work
    f1 = m["per_class_f1"]
    typer.echo(
        f"macro F1 {m['macro_f1']:.4f} (negative {f1['negative']:.4f}, average {f1['average']:.4f}, "
        f"positive {f1['positive']:.4f}); accuracy {m['accuracy']:.4f}; wrote {cfg.out}"
    )
    rec = submit(cfg)
    if rec is not None:
        sc = rec["scores"]
        typer.echo(
            f"leaderboard submission {rec['id']} on {rec['version']}: macro F1 {sc['macro_f1']:.4f} "
            f"(server-side)"
        )


@app.command()
@handle_errors
def predict(
    model: Path | None = _MODEL_DIR,
    registry: str | None = typer.Option(
        None, "--registry", help="model registry R[:alias] (alias default champion), instead of --model"
    ),
    features: Path | None = _FEATURES,
    campaigns: str | None = typer.Option(
        None,
        "--campaigns",
        help="raw campaigns, read as `ingest` reads them (CSV/Parquet/JSON Lines file or folder, gs://, "
        "bq://), or a dataset folder",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="--features: a Parquet file; --campaigns: a folder (predictions, errors, summary)"
    ),
    split: str | None = typer.Option(
        None, "--split", help="--features: rows to predict: all (default), train or test"
    ),
    mapping: str | None = typer.Option(
        None, "--mapping", help="--campaigns: ingest's mapping file (YAML), or the mapping as a JSON object"
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="--campaigns: text encoding of CSV/JSON (default: detected)"
    ),
    no_explain: bool = typer.Option(False, "--no-explain", help="--campaigns: no per-modality attribution"),
    batch_size: int | None = typer.Option(None, "--batch-size", help="--campaigns: campaigns per batch"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="--campaigns: embedding cache folder"),
    no_cache: bool = typer.Option(False, "--no-cache", help="--campaigns: read and write no embedding cache"),
    pdfm: Path | None = typer.Option(
        None, "--pdfm", help="--campaigns: PDFM table if the model lacks its own"
    ),
    threads: int | None = _THREADS,
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    config: Path | None = _CONFIG,
) -> None:
    """Predict outcome tiers: of a features folder (--features), or of raw campaigns (--campaigns), which
    are re-embedded with the model's recipe and get per-modality attributions and an errors file."""
    from campaignlab.errors import ConfigError

    if (features is None) == (campaigns is None):
        given = "both" if features is not None else "neither"
        raise ConfigError(f"input: got {given} of --features and --campaigns -> expected exactly one")
    if campaigns is not None:
        if split is not None:  # every row of raw campaigns is scored: a split would be dropped silently
            raise ConfigError(f"--split: got {split!r} -> only with --features, not --campaigns")
        from campaignlab.ingest.mapping import mapping_option
        from campaignlab.progress import progress_bar
        from campaignlab.serving.batch import PredictCampaignsConfig, predict_campaigns

        ccfg = command_config(
            PredictCampaignsConfig, config, model=model, registry=registry, campaigns=campaigns, out=out,
            mapping=mapping_option(mapping), encoding=encoding, explain=False if no_explain else None,
            batch_size=batch_size, cache_dir=cache_dir, use_cache=False if no_cache else None, pdfm=pdfm,
            threads=threads,
        )  # fmt: skip
        with _warnings_to_stderr(), progress_bar(not quiet) as update:
            s = predict_campaigns(ccfg, progress=update)
        tiers = ", ".join(f"{k} {v}" for k, v in s["predicted_tiers"].items())
        typer.echo(
            f"predicted {s['predicted']} of {s['input_rows']} campaigns with {s['model']['type']} ({tiers}); "
            f"{s['errors']} could not be scored (errors.parquet); wrote {ccfg.out}"
        )
        return
    only_campaigns = {
        "--mapping": mapping, "--encoding": encoding, "--no-explain": no_explain or None,
        "--batch-size": batch_size, "--cache-dir": cache_dir, "--no-cache": no_cache or None, "--pdfm": pdfm,
    }  # fmt: skip
    misplaced = [flag for flag, value in only_campaigns.items() if value is not None]
    if misplaced:
        raise ConfigError(
            f"{misplaced[0]}: got {only_campaigns[misplaced[0]]!r} -> only with --campaigns, not --features"
        )
    from campaignlab.models.commands import PredictConfig
    from campaignlab.models.commands import predict as run
    from campaignlab.serving.models import resolve_model

    if registry is not None:
        model = resolve_model(model, registry).path
    cfg = command_config(
        PredictConfig, config, model=model, features=features, out=out, split=split, threads=threads
    )
    with _warnings_to_stderr():
        n = run(cfg)
    typer.echo(f"wrote {n} predictions to {cfg.out}")


@contextlib.contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show the library's warnings (e.g. an unseen platform) as one ``warning:`` line each."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        typer.secho(f"warning: {w.message}", err=True, fg=typer.colors.YELLOW)
