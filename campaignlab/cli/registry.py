"""Model registry commands: ``campaignlab models list|show|register|promote|alias``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from campaignlab.cli.common import echo_json, handle_errors

app = typer.Typer()
models = typer.Typer(
    no_args_is_help=True,
    help="The model registry: versions with evaluation, data manifest and lineage; champion/challenger.",
)
app.add_typer(models, name="models")

REGISTRY_HELP = (
    "registry: a folder (default $CAMPAIGNLAB_REGISTRY or ./registry) or vertex://PROJECT/REGION/MODEL"
)


def _open(registry: str | None, artifacts: str | None = None) -> Any:
    from campaignlab.registry import Registry

    options = {"artifacts": artifacts} if artifacts else {}
    return Registry(registry, **options)


def _row(v: Any) -> str:
    f1 = v.metrics.get("macro_f1")
    return (
        f"{v.version:>4}  {','.join(v.aliases) or '-':<20} {v.family:<18} "
        f"{'-' if f1 is None else f'{f1:.4f}':>8}  {v.created:<25} {v.lineage.get('data_snapshot') or '-'}"
    )


@models.command("list")
@handle_errors
def list_versions(
    registry: str | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """List every registered version with its aliases, family, macro F1 and data snapshot."""
    versions = _open(registry).list()
    if as_json:
        echo_json([v.to_json() for v in versions])
        return
    if not versions:
        typer.echo("no model versions registered")
        return
    typer.echo(
        f"{'ver':>4}  {'aliases':<20} {'family':<18} {'macro F1':>8}  {'registered':<25} data snapshot"
    )
    for v in versions:
        typer.echo(_row(v))


@models.command("show")
@handle_errors
def show(
    ref: str = typer.Argument("champion", help="version number, alias or 'latest'"),
    registry: str | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
) -> None:
    """Show one version: metrics, lineage, aliases and where its files are (JSON)."""
    v = _open(registry).resolve(ref)
    echo_json({**v.to_json(), "model_dir": str(v.model_dir)})


@models.command("register")
@handle_errors
def register(
    model: Path = typer.Argument(..., help="model folder written by `train`"),
    evaluation: Path | None = typer.Option(None, "--evaluation", help="its evaluation folder (metrics.json)"),
    dataset: Path | None = typer.Option(None, "--dataset", help="the dataset folder it was trained on"),
    features: Path | None = typer.Option(None, "--features", help="the features folder it was trained on"),
    alias: list[str] = typer.Option([], "--alias", help="alias to point at the new version (repeat)"),
    run: str | None = typer.Option(None, "--run", help="the run that produced it (lineage)"),
    description: str = typer.Option("", "--description", help="free text"),
    registry: str | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
    artifacts: str | None = typer.Option(None, "--artifacts", help="Vertex: gs:// prefix for the files"),
    version_out: Path | None = typer.Option(None, "--version-out", help="also write the version id here"),
) -> None:
    """Register a trained model as a new version (with --dataset and --features: the gate's reference)."""
    reg = _open(registry, artifacts)
    v = reg.register(model, evaluation=evaluation, dataset=dataset, features=features, run=run,
                     aliases=alias, description=description)  # fmt: skip
    if version_out is not None:
        version_out.parent.mkdir(parents=True, exist_ok=True)
        version_out.write_text(v.version)
    f1 = v.metrics.get("macro_f1")
    typer.echo(
        f"registered {v.family} as version {v.version} of {v.name!r} in {reg.uri}"
        + (f" (macro F1 {f1:.4f})" if f1 is not None else "")
        + (f"; aliases {', '.join(v.aliases)}" if v.aliases else "")
    )


@models.command("promote")
@handle_errors
def promote(
    ref: str = typer.Argument("challenger", help="version number, alias or 'latest' to promote"),
    alias: str = typer.Option("champion", "--alias", help="the alias to move"),
    reason: str = typer.Option("", "--reason", help="recorded in the registry's history"),
    registry: str | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
) -> None:
    """Point the champion alias (or --alias) at a version; the previous champion stays registered."""
    reg = _open(registry)
    before = None
    try:
        before = reg.get(alias).version
    except Exception:  # no champion yet
        before = None
    v = reg.promote(ref, alias=alias, reason=reason)
    typer.echo(f"{alias}: version {before or '-'} -> {v.version} ({v.family}) in {reg.uri}")


@models.command("alias")
@handle_errors
def set_alias(
    alias: str = typer.Argument(..., help="alias to set, e.g. challenger"),
    ref: str | None = typer.Argument(None, help="version number, alias or 'latest' (omit with --remove)"),
    remove: bool = typer.Option(False, "--remove", help="remove the alias"),
    registry: str | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
) -> None:
    """Point an alias at a version, or remove it."""
    from campaignlab.errors import ConfigError

    reg = _open(registry)
    if remove:
        reg.remove_alias(alias)
        typer.echo(f"removed alias {alias!r} from {reg.uri}")
        return
    if ref is None:
        raise ConfigError("ref: got None -> a version number, alias or 'latest' (or --remove)")
    v = reg.set_alias(alias, ref)
    typer.echo(f"{alias} -> version {v.version} ({v.family}) in {reg.uri}")


@models.command("pull")
@handle_errors
def pull(
    ref: str = typer.Argument("champion", help="version number, alias or 'latest'"),
    registry: str | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
    model_out: Path | None = typer.Option(None, "--model-out", help="copy the version's model folder here"),
    reference_out: Path | None = typer.Option(
        None, "--reference-out", help="copy its training-data reference (the data gate's input) here"
    ),
    version_out: Path | None = typer.Option(None, "--version-out", help="write the version id here"),
) -> None:
    """Copy a version's model folder (and its data reference) out of the registry (a pipeline's import)."""
    import shutil

    from campaignlab.errors import DataError
    from campaignlab.io import atomic_dir

    v = _open(registry).resolve(ref)
    for src, dest in ((v.model_dir, model_out), (v.reference_dir, reference_out)):
        if dest is None:
            continue
        if not src.is_dir():
            raise DataError(
                f"version {v.version} has no {src.name}/ (register it with --dataset and --features for a "
                "reference)"
            )
        with atomic_dir(dest) as tmp:
            shutil.copytree(src, tmp, dirs_exist_ok=True)
    if version_out is not None:
        version_out.parent.mkdir(parents=True, exist_ok=True)
        version_out.write_text(v.version)
    typer.echo(f"pulled version {v.version} ({v.family}, aliases {', '.join(v.aliases) or '-'}) from {v.uri}")
