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
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Migrate the database (Alembic) and serve the API and pages until interrupted."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.app import serve
    from campaignlab.leaderboard.config import ServeConfig

    flags = {"db": db, "host": host, "port": port, "data_dir": data_dir, "max_upload_mb": max_upload_mb}
    serve(validate(ServeConfig, {**flags, "log_level": log_level}, "options"))


@app.command("add-version")
@handle_errors
def leaderboard_add_version(
    name: str = typer.Argument(..., help="version name, e.g. v25"),
    dataset: Path = typer.Option(..., "--dataset", help="dataset folder written by `generate`"),
    features: Path | None = typer.Option(None, "--features", help="features folder written by `embed`"),
    db: str = typer.Option(..., "--db", help="database URL or SQLite file path"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="split files (default <sqlite file>.data)"),
) -> None:
    """Register a dataset (and its features) as an immutable, versioned train/test split."""
    from campaignlab.config import validate
    from campaignlab.leaderboard.config import AddVersionConfig, default_data_dir
    from campaignlab.leaderboard.store import Store
    from campaignlab.leaderboard.versions import register_version

    flags = {"name": name, "dataset": dataset, "features": features, "db": db, "data_dir": data_dir}
    cfg = validate(AddVersionConfig, flags, "options")
    store = Store(cfg.db)
    store.migrate()
    reg = register_version(store, default_data_dir(cfg.db, cfg.data_dir), cfg.name, cfg.dataset, cfg.features)
    v = reg.version
    state = "registered" if reg.created else "already registered (same content)"
    typer.echo(
        f"version {v.name} {state}: {v.n_train} train / {v.n_test} test samples, "
        f"features {'yes' if v.has_features else 'no'}, content hash {v.content_hash[:12]}"
    )


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
    """Print a version's ranking (best macro F1 first)."""
    from rich.table import Table

    from campaignlab.leaderboard.client import get_ranking
    from campaignlab.progress import console

    table = Table(title=f"Leaderboard {version}")
    for col in ("rank", "researcher", "model", "id", "macro F1", "Neg F1", "Avg F1", "Pos F1", "weighted F1"):
        table.add_column(col)
    for r in get_ranking(url, token, version):
        s = r["scores"]
        keys = ("macro_f1", "f1_negative", "f1_average", "f1_positive", "weighted_f1")
        cells = [str(r["rank"]), r["researcher"], r["model"], str(r["id"])]
        table.add_row(*cells, *(f"{s[k]:.4f}" for k in keys))
    console.print(table)
