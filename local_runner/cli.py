"""``run-local``: execute a compiled pipeline YAML with Docker (or host processes).

Mounted as ``campaignlab pipeline run-local`` and runnable as ``python -m local_runner``.
Exit codes: 0 the run succeeded, 1 a task failed, 2 bad input (nothing ran), 130 stopped by Ctrl-C.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import typer
from pydantic import Field

from campaignlab.cli.common import handle_errors, subgroup
from campaignlab.config import StrictModel, read_yaml, validate
from local_runner.errors import ParameterError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Run a compiled KFP v2 pipeline YAML locally with plain Docker.",
)


class RunLocalConfig(StrictModel):
    """Options of ``run-local`` (validated before anything starts)."""

    file: Path
    parameters: dict[str, Any] = Field(default_factory=dict)
    root: Path = Path("runs")
    max_parallel: int = Field(default_factory=lambda: max(2, os.cpu_count() or 2), ge=1, le=256)
    no_cache: bool = False
    resume: str | None = None
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    backend: Literal["docker", "process"] = "docker"
    quiet: bool = False
    dry_run: bool = False


def parse_param_flags(flags: list[str], params_file: Path | None) -> dict[str, Any]:
    """Merge ``--params FILE`` (YAML/JSON mapping) and ``--param k=v`` flags (flags win)."""
    out: dict[str, Any] = dict(read_yaml(params_file)) if params_file else {}
    for flag in flags:
        key, sep, value = flag.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--param: got {flag!r} -> expected NAME=VALUE")
        out[key.strip()] = value
    return out


@handle_errors
def run_local(
    file: Path = typer.Argument(..., help="compiled pipeline YAML (kfp compiler output)"),
    param: list[str] = typer.Option([], "--param", help="pipeline parameter NAME=VALUE (repeatable)"),
    params: Path | None = typer.Option(None, "--params", help="YAML/JSON file of pipeline parameters"),
    root: Path = typer.Option(Path("runs"), "--root", help="runs root: <root>/<pipeline>/<run_id>, cache"),
    max_parallel: int | None = typer.Option(
        None, "--max-parallel", help="containers at once (default: CPU count, at least 2)"
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not reuse cached task results"),
    resume: str | None = typer.Option(
        None, "--resume", help="RUN_ID of a failed run: reuse its finished tasks"
    ),
    backend: str = typer.Option("docker", "--backend", help="docker or process (no containers)"),
    run_id: str | None = typer.Option(None, "--run-id", help="name of the new run (default: generated)"),
    quiet: bool = typer.Option(False, "--quiet", help="no live progress"),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="load, validate and resolve the DAG, print the plan; run no task"
    ),
) -> None:
    """Run FILE's DAG locally: parallel tasks, caching, resume, logs and a run record per run."""
    from rich.console import Console

    from local_runner.handlers import Status
    from local_runner.orchestrator import run_file
    from local_runner.progress import summary_table

    data: dict[str, Any] = {
        "file": file,
        "parameters": parse_param_flags(param, params),
        "root": root,
        "no_cache": no_cache,
        "resume": resume,
        "run_id": run_id,
        "backend": backend,
        "quiet": quiet,
        "dry_run": dry_run,
    }
    if max_parallel is not None:
        data["max_parallel"] = max_parallel
    cfg = validate(RunLocalConfig, data, "run-local options")
    if cfg.resume and cfg.run_id:
        raise ParameterError("--resume and --run-id exclude each other (a resumed run keeps its id)")
    if cfg.dry_run:
        from local_runner import spec
        from local_runner.plan import make_plan
        from local_runner.run_record import previous_parameters

        pipeline = spec.load(cfg.file)
        given = dict(cfg.parameters)
        if cfg.resume:
            given = {**previous_parameters(cfg.root, pipeline.name, cfg.resume), **given}
        print(make_plan(pipeline, given).render())
        return
    result = run_file(
        cfg.file,
        cfg.parameters,
        root=cfg.root,
        backend=cfg.backend,
        max_parallel=cfg.max_parallel,
        use_cache=not cfg.no_cache,
        resume=cfg.resume,
        run_id=cfg.run_id,
        live=not cfg.quiet,
    )
    out = Console()
    out.print(summary_table(result))
    out.print(f"run folder: {result.run_dir}  (record: run.json, logs: logs/)", highlight=False)
    if result.status == Status.SUCCEEDED:
        return
    for r in result.tasks:
        if r.status == Status.FAILED:
            out.print(f"[red]failed[/red] {r.id}: {r.message}  (log: {r.log})", highlight=False)
    import click

    prog = click.get_current_context(silent=True)
    command = prog.command_path if prog else "python -m local_runner"
    again = f"{command} {cfg.file} --resume {result.run_id} --root {cfg.root}"
    out.print(f"after fixing, resume with: {again}", highlight=False)
    raise typer.Exit(code=130 if result.status == Status.CANCELLED else 1)


app.command("run-local")(run_local)

_GROUP_HELP = "KFP pipelines: compile, run locally, submit and schedule on Vertex AI."


def register(root: typer.Typer) -> None:
    """Entry point (``campaignlab.cli``): add ``run-local`` under ``campaignlab pipeline``."""
    subgroup(root, "pipeline", _GROUP_HELP).command("run-local")(run_local)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m local_runner`` (``run-local`` may be given or left out)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "run-local":
        args = args[1:]
    typer.main.get_command(app)(args=args, prog_name="python -m local_runner")
