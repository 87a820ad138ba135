"""``campaignlab leaderboard ...``: versioned splits and blind server-side scoring."""

from __future__ import annotations

from pathlib import Path

import typer

from campaignlab.cli.common import echo_json, handle_errors

app = typer.Typer(
    no_args_is_help=True, help="Leaderboard service: versioned splits, blind server-side scoring."
)
_TOKEN_ENV = "CAMPAIGNLAB_LEADERBOARD_TOKEN"


@app.command("serve")
@handle_errors
def leaderboard_serve(
    db: str = typer.Option(..., "--db", help="sqlite:///FILE, postgresql+psycopg://..., or a file path"),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="split files (default <sqlite file>.data)"),
    max_upload_mb: float = typer.Option(20.0, "--max-upload-mb", help="largest predictions upload"),
    daily_quota: int = typer.Option(
        5, "--daily-quota", help="accepted submissions per researcher, version and UTC day"
    ),
    score_decimals: int = typer.Option(
        4, "--score-decimals", help="decimals every shown score is rounded to"
    ),
    header_timeout: float = typer.Option(10.0, "--header-timeout", help="seconds for a request's headers"),
    body_timeout: float = typer.Option(60.0, "--body-timeout", help="seconds for an upload's body"),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Migrate the database (Alembic) and serve the API and pages until interrupted."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.app import serve
    from campaignlab.leaderboard.config import ServeConfig

    flags = {
        "db": db, "host": host, "port": port, "data_dir": data_dir, "max_upload_mb": max_upload_mb,
        "daily_quota": daily_quota, "score_decimals": score_decimals, "header_timeout": header_timeout,
        "body_timeout": body_timeout, "log_level": log_level,
    }  # fmt: skip
    serve(validate(ServeConfig, flags, "options"))


@app.command("add-version")
@handle_errors
def leaderboard_add_version(
    name: str = typer.Argument(..., help="version name, e.g. v25"),
    dataset: Path = typer.Option(..., "--dataset", help="dataset folder written by `generate`"),
    features: Path | None = typer.Option(None, "--features", help="features folder written by `embed`"),
    db: str = typer.Option(..., "--db", help="database URL or SQLite file path"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="split files (default <sqlite file>.data)"),
    public_fraction: float = typer.Option(
        0.5, "--public-fraction", help="share of the test samples ranked on while the competition runs"
    ),
    ends_at: str | None = typer.Option(
        None, "--ends-at", help="end of the competition, e.g. 2026-12-31T00:00:00Z (default: until reveal)"
    ),
    allow_guessable_seed: bool = typer.Option(
        False, "--allow-guessable-seed", help="accept a generated dataset whose seed is guessable (not blind)"
    ),
) -> None:
    """Register a dataset (and its features) as an immutable, versioned train/test split."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.config import AddVersionConfig, default_data_dir
    from campaignlab.leaderboard.store import Store
    from campaignlab.leaderboard.versions import register_version

    flags = {
        "name": name, "dataset": dataset, "features": features, "db": db, "data_dir": data_dir,
        "public_fraction": public_fraction, "ends_at": ends_at, "allow_guessable_seed": allow_guessable_seed,
    }  # fmt: skip
    cfg = validate(AddVersionConfig, flags, "options")
    store = Store(cfg.db)
    store.migrate()
    reg = register_version(
        store,
        default_data_dir(cfg.db, cfg.data_dir),
        cfg.name,
        cfg.dataset,
        cfg.features,
        public_fraction=cfg.public_fraction,
        ends_at=cfg.ends_at,
        allow_guessable_seed=cfg.allow_guessable_seed,
    )
    v = reg.version
    state = "registered" if reg.created else "already registered (same content)"
    typer.echo(
        f"version {v.name} {state}: {v.n_train} train / {v.n_test} test samples ({v.n_public} in the "
        f"public part), features {'yes' if v.has_features else 'no'}, "
        f"content hash {(v.content_hash or '-')[:12]}"
    )
    if v.info.get("labels_reconstructible"):
        typer.echo("warning: the dataset's seed is guessable: this version's labels can be rebuilt", err=True)


@app.command("reveal")
@handle_errors
def leaderboard_reveal(
    name: str = typer.Argument(..., help="version name, e.g. v25"),
    db: str = typer.Option(..., "--db", help="database URL or SQLite file path"),
) -> None:
    """End a version's competition now: the ranking moves to the private part, which is shown."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.config import RevealConfig
    from campaignlab.leaderboard.store import Store

    cfg = validate(RevealConfig, {"name": name, "db": db}, "options")
    store = Store(cfg.db)
    store.migrate()
    v = store.end_competition(cfg.name)
    typer.echo(f"version {v.name}: the competition ended at {v.ends_at}; the private part now ranks")


@app.command("create-token")
@handle_errors
def leaderboard_create_token(
    db: str = typer.Option(..., "--db", help="database URL or SQLite file path"),
    researcher: str = typer.Option(..., "--researcher", help="researcher name (created if new)"),
) -> None:
    """Create an API token for a researcher and print it once (only its hash is stored)."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.config import CreateTokenConfig
    from campaignlab.leaderboard.store import Store

    cfg = validate(CreateTokenConfig, {"db": db, "researcher": researcher}, "options")
    store = Store(cfg.db)
    store.migrate()
    typer.echo(store.create_token(cfg.researcher))
    typer.echo(f"token for {cfg.researcher}: shown once, keep it secret ({_TOKEN_ENV})", err=True)


@app.command("revoke-tokens")
@handle_errors
def leaderboard_revoke_tokens(
    db: str = typer.Option(..., "--db", help="database URL or SQLite file path"),
    researcher: str = typer.Option(..., "--researcher"),
) -> None:
    """Revoke every token of a researcher."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.config import CreateTokenConfig
    from campaignlab.leaderboard.store import Store

    cfg = validate(CreateTokenConfig, {"db": db, "researcher": researcher}, "options")
    store = Store(cfg.db)
    store.migrate()
    typer.echo(f"revoked {store.revoke_tokens(cfg.researcher)} token(s) of {cfg.researcher}")


@app.command("submit")
@handle_errors
def leaderboard_submit(
    url: str = typer.Option(..., "--url", help="leaderboard base URL, e.g. http://127.0.0.1:8000"),
    token: str = typer.Option(..., "--token", envvar=_TOKEN_ENV, help=f"API token (or ${_TOKEN_ENV})"),
    version: str = typer.Option(..., "--version", help="dataset version, e.g. v25"),
    predictions: Path = typer.Option(..., "--predictions", help="Parquet (sample_id, label) or CSV"),
    model: str = typer.Option("", "--model", help="model name shown in the ranking"),
) -> None:
    """Submit predictions for blind scoring; prints the stored submission with its scores."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.client import submit_predictions
    from campaignlab.leaderboard.config import SubmitConfig

    flags = {"url": url, "token": token, "version": version, "predictions": predictions, "model": model}
    cfg = validate(SubmitConfig, flags, "options")
    echo_json(submit_predictions(cfg.url, cfg.token, cfg.version, cfg.predictions, model=cfg.model))


@app.command("download")
@handle_errors
def leaderboard_download(
    url: str = typer.Option(..., "--url"),
    token: str = typer.Option(..., "--token", envvar=_TOKEN_ENV, help=f"API token (or ${_TOKEN_ENV})"),
    version: str = typer.Option(..., "--version"),
    split: str = typer.Option(..., "--split", help="train (with labels) or test (without)"),
    kind: str = typer.Option("raw", "--kind", help="raw (texts) or features (vectors)"),
    out: Path = typer.Option(..., "--out", help="Parquet file to write"),
) -> None:
    """Download a version's train or test split as Parquet."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.client import download_split
    from campaignlab.leaderboard.config import DownloadConfig

    flags = {"url": url, "token": token, "version": version, "split": split, "kind": kind, "out": out}
    cfg = validate(DownloadConfig, flags, "options")
    download_split(cfg.url, cfg.token, cfg.version, cfg.split, cfg.out, kind=cfg.kind)
    typer.echo(f"wrote {cfg.out}")


@app.command("ranking")
@handle_errors
def leaderboard_ranking(
    url: str = typer.Option(..., "--url"),
    token: str = typer.Option(..., "--token", envvar=_TOKEN_ENV, help=f"API token (or ${_TOKEN_ENV})"),
    version: str = typer.Option(..., "--version"),
) -> None:
    """Print a version's ranking (best macro F1 on the ranked part of the test split first)."""
    from rich.table import Table

    from campaignlab.evaluation.metrics import SCORE_NAMES
    from campaignlab.leaderboard.client import get_ranking
    from campaignlab.progress import console

    rows = get_ranking(url, token, version)
    table = Table(title=f"Leaderboard {version}")
    private = any(r["private_scores"] is not None for r in rows)
    key = "private_scores" if private else "scores"
    cols = ("macro F1", "Neg F1", "Avg F1", "Pos F1", "weighted F1", "priority-weighted F1", "accuracy")
    for col in ("rank", "researcher", "model", "id", *cols):
        table.add_column(col)
    for r in rows:
        cells = [str(r["rank"]), r["researcher"], r["model"], str(r["id"])]
        table.add_row(*cells, *(str(r[key][k]) for k in SCORE_NAMES))
    console.print(table)
    part = "private" if private else "public"
    typer.echo(f"ranked by macro F1 on the {part} part of the test split")
