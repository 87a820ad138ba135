"""``campaignlab pipeline compile|submit|schedule|schedules``: KFP pipelines on Vertex AI.

These commands live with the pipelines (not in the core) and join the one ``campaignlab`` command through
the ``campaignlab.cli`` entry-point group (:func:`register`). kfp and google-cloud-aiplatform are imported
inside the commands only, so ``campaignlab --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from campaignlab.cli.common import echo_json, handle_errors, subgroup

GROUP_HELP = "KFP pipelines: compile, run locally, submit and schedule on Vertex AI."

app = typer.Typer(no_args_is_help=True, help=GROUP_HELP)
schedules_app = typer.Typer(no_args_is_help=True, help="Vertex AI pipeline schedules: list and delete.")
app.add_typer(schedules_app, name="schedules")


def register(root: typer.Typer) -> None:
    """Entry point (``campaignlab.cli``): add these commands under ``campaignlab pipeline``.

    Where kfp is not installed (the step images), nothing is added: compile and submit could not work.
    """
    import importlib.util

    if importlib.util.find_spec("kfp") is None:
        return
    group = subgroup(root, "pipeline", GROUP_HELP)
    group.registered_commands.extend(app.registered_commands)
    group.registered_groups.extend(app.registered_groups)


_PROJECT = typer.Option(..., "--project", envvar="GOOGLE_CLOUD_PROJECT", help="Google Cloud project id")
_REGION = typer.Option("us-central1", "--region", envvar="GOOGLE_CLOUD_REGION", help="Vertex AI region")
_ENDPOINT = typer.Option(
    None, "--api-endpoint", envvar="CAMPAIGNLAB_VERTEX_ENDPOINT", help="Vertex AI API endpoint override"
)
_STORAGE = typer.Option(
    None, "--storage-endpoint", envvar="CAMPAIGNLAB_STORAGE_ENDPOINT", help="Cloud Storage endpoint override"
)
# Run options shared by `pipeline submit` and `pipeline schedule`.
_RUN_CONFIG = typer.Option(None, "--config", help="YAML of run parameters")
_RUN_PARAM = typer.Option([], "--param", help="NAME=VALUE run parameter (repeat)")
_RUN_LABEL = typer.Option([], "--label", help="KEY=VALUE label (repeat)")
_DISPLAY_NAME = typer.Option(None, "--display-name", help="name shown in the Vertex AI console")


def _labels(pairs: list[str]) -> dict[str, str]:
    from campaignlab.errors import ConfigError

    out = {}
    for pair in pairs:
        k, sep, v = pair.partition("=")
        if not sep:
            raise ConfigError(f"--label: got {pair!r} -> expected KEY=VALUE")
        out[k] = v
    return out


def _run_parameters(template: Path, config: Path | None, params: list[str]) -> dict[str, Any]:
    from pipelines.params import load_run_parameters, model_from_spec
    from pipelines.vertex import read_template

    spec = read_template(template)
    model = model_from_spec(spec, spec["pipelineInfo"]["name"])
    return load_run_parameters(model, config, params, source=str(config or "--param"))


@app.command("compile")
@handle_errors
def pipeline_compile(
    name: str = typer.Argument(..., help="training, federated, experiments or retraining"),
    out: Path = typer.Option(..., "--out", help="compiled pipeline YAML to write"),
    config: Path | None = typer.Option(
        None, "--config", help="run parameters (default pipelines/configs/NAME.yaml)"
    ),
    param: list[str] = typer.Option([], "--param", help="NAME=VALUE override (repeat)"),
    images: Path | None = typer.Option(None, "--images", help="images file (default build/images.json)"),
    registry: str | None = typer.Option(
        None, "--registry", help="image registry, e.g. us-docker.pkg.dev/P/R"
    ),
    image_tag: str | None = typer.Option(
        None, "--image-tag", help="image tag to use instead of the built one"
    ),
) -> None:
    """Compile a pipeline to YAML; its run parameters are validated and become the defaults."""
    from pipelines.compile import compile_pipeline

    info = compile_pipeline(
        name, out, config=config, overrides=param, images_file=images, registry=registry, image_tag=image_tag
    )
    typer.echo(f"compiled {name} to {out} (images: {', '.join(info['images'])})")


@app.command("submit")
@handle_errors
def pipeline_submit(
    template: Path = typer.Argument(..., help="compiled pipeline YAML"),
    project: str = _PROJECT,
    region: str = _REGION,
    pipeline_root: str = typer.Option(
        ..., "--pipeline-root", help="gs://BUCKET/PATH for the run's artifacts"
    ),
    service_account: str | None = typer.Option(
        None, "--service-account", help="service account the run acts as (required)"
    ),
    config: Path | None = _RUN_CONFIG,
    param: list[str] = _RUN_PARAM,
    label: list[str] = _RUN_LABEL,
    no_cache: bool = typer.Option(False, "--no-cache", help="run every step, reuse no cached result"),
    display_name: str | None = _DISPLAY_NAME,
    wait: bool = typer.Option(False, "--wait", help="wait until the run ends; exit 2 if it failed"),
    check: bool = typer.Option(
        False,
        "--check",
        help="first verify the pipeline root bucket (exists, writable), the images (pushed to a registry) "
        "and the service account; report every problem and exit 2 without submitting",
    ),
    api_endpoint: str | None = _ENDPOINT,
    storage_endpoint: str | None = _STORAGE,
) -> None:
    """Submit a compiled pipeline as a Vertex AI PipelineJob."""
    from campaignlab.errors import ConfigError
    from pipelines.vertex import Target, read_template, submit

    target = Target.from_options(project, region, api_endpoint, storage_endpoint)
    parameters: dict[str, Any] = {}
    problems: list[str] = []
    try:
        parameters = _run_parameters(template, config, param)
    except ConfigError as err:
        if not check or not Path(template).is_file():
            raise
        read_template(template)  # a file that is not a compiled pipeline fails on its own
        problems.append(f"run parameters: {err}")
    result = submit(
        target,
        template,
        pipeline_root=pipeline_root,
        service_account=service_account,
        parameters=parameters,
        labels=_labels(label),
        enable_caching=False if no_cache else None,
        display_name=display_name,
        wait=wait,
        check=check,
        known_problems=problems,
    )
    if check:
        typer.echo(
            f"submit --check: ok (gs://{pipeline_root.removeprefix('gs://').split('/')[0]} writable, "
            "every image in a registry, service account set)"
        )
    typer.echo(f"{result['name']}: {result['state']}\n{result['console']}")


@app.command("schedule")
@handle_errors
def pipeline_schedule(
    template: Path = typer.Argument(..., help="compiled pipeline YAML"),
    cron: str = typer.Option(
        ..., "--cron", help="e.g. '0 3 * * 1' (Mondays 03:00 UTC); 'TZ=Zone ' prefix ok"
    ),
    project: str = _PROJECT,
    region: str = _REGION,
    pipeline_root: str = typer.Option(
        ..., "--pipeline-root", help="gs://BUCKET/PATH for the runs' artifacts"
    ),
    service_account: str | None = typer.Option(None, "--service-account", help="service account runs act as"),
    max_runs: int | None = typer.Option(None, "--max-runs", min=1, help="stop after this many runs"),
    max_concurrent: int = typer.Option(1, "--max-concurrent", min=1, help="runs allowed at the same time"),
    config: Path | None = _RUN_CONFIG,
    param: list[str] = _RUN_PARAM,
    label: list[str] = _RUN_LABEL,
    no_cache: bool = typer.Option(False, "--no-cache", help="scheduled runs reuse no cached result"),
    display_name: str | None = _DISPLAY_NAME,
    api_endpoint: str | None = _ENDPOINT,
    storage_endpoint: str | None = _STORAGE,
) -> None:
    """Run a compiled pipeline on a cron schedule (e.g. weekly retraining)."""
    from pipelines.vertex import Target, create_schedule

    target = Target.from_options(project, region, api_endpoint, storage_endpoint)
    row = create_schedule(
        target,
        template,
        cron=cron,
        pipeline_root=pipeline_root,
        service_account=service_account,
        parameters=_run_parameters(template, config, param),
        labels=_labels(label),
        enable_caching=False if no_cache else None,
        display_name=display_name,
        max_runs=max_runs,
        max_concurrent=max_concurrent,
    )
    typer.echo(f"{row['name']}: {row['state']} cron {row['cron']!r}")


@schedules_app.command("list")
@handle_errors
def schedules_list(
    project: str = _PROJECT,
    region: str = _REGION,
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
    api_endpoint: str | None = _ENDPOINT,
    storage_endpoint: str | None = _STORAGE,
) -> None:
    """List the pipeline schedules of a project and region."""
    from pipelines.vertex import Target, list_schedules

    rows = list_schedules(Target.from_options(project, region, api_endpoint, storage_endpoint))
    if as_json:
        echo_json(rows)
        return
    from rich.table import Table

    from campaignlab.progress import console

    table = Table(title=f"Pipeline schedules in {project}/{region}")
    for col in ("id", "display name", "cron", "state", "runs", "max runs", "max concurrent"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"].rsplit("/", 1)[-1],
            r["display_name"],
            r["cron"],
            r["state"],
            str(r["started_run_count"]),
            str(r["max_run_count"] or "-"),
            str(r["max_concurrent_run_count"]),
        )
    console.print(table)
    typer.echo(f"{len(rows)} schedule(s)")


@schedules_app.command("delete")
@handle_errors
def schedules_delete(
    schedule: str = typer.Argument(..., help="schedule id or projects/.../schedules/ID"),
    project: str = _PROJECT,
    region: str = _REGION,
    api_endpoint: str | None = _ENDPOINT,
    storage_endpoint: str | None = _STORAGE,
) -> None:
    """Delete a pipeline schedule (runs already started are not affected)."""
    from pipelines.vertex import Target, delete_schedule

    name = delete_schedule(Target.from_options(project, region, api_endpoint, storage_endpoint), schedule)
    typer.echo(f"deleted {name}")
