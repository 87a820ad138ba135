"""Execute one leaf task (a container or an importer) and return its result; the DAG walker records it.

The steps, as in kfp.local's task dispatcher: cast the inputs to their declared types, build the
executor input, resolve the command line and the resource limits, reuse a result of the run being
resumed or of the execution cache, else run the command with the task handler (retrying as the task's
retry policy says) and collect the outputs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaignlab.io import write_json
from local_runner import executor_io, placeholders, resources, spec
from local_runner.cache import CacheStore, digest_path, task_key
from local_runner.errors import (
    HostError,
    ParameterError,
    PlaceholderError,
    RunnerError,
    UnsupportedFeatureError,
)
from local_runner.handlers import Invocation, Outcome, Status, TaskHandler
from local_runner.importer import import_artifact
from local_runner.progress import RunDisplay
from local_runner.run_record import TaskResult, now

UNRESOLVED = "{{$"


@dataclass
class RunContext:
    """What every task of one run shares."""

    run_id: str
    run_dir: Path
    root: Path
    started_at: str
    handler: TaskHandler
    cache: CacheStore
    use_cache: bool
    display: RunDisplay
    cancel: threading.Event
    slots: threading.Semaphore
    digests: dict[str, str] = field(default_factory=dict)
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)


def job_info(ctx: RunContext, task_id: str, display_name: str) -> placeholders.JobInfo:
    """Values of the ``pipeline_*`` placeholders for one task."""
    return placeholders.JobInfo(
        job_name=ctx.run_id,
        job_uuid=ctx.run_id,
        task_name=display_name,
        task_uuid=hashlib.sha256(f"{ctx.run_id}/{task_id}".encode()).hexdigest()[:32],
        pipeline_root=str(ctx.run_dir),
        create_time_utc=ctx.started_at,
    )


def input_values(comp: spec.Component, given: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The task's parameter values as its executor sees them: declared inputs cast back to their types
    (kfp compiles every number as a float), defaults filled in, and the extra inputs kfp adds for
    f-strings (``pipelinechannel--*``) passed through, as kfp.local does.

    Raises:
        ParameterError: a required input has no value.
    """
    values: dict[str, Any] = {}
    for name, d in comp.input_parameters.items():
        if name in given and given[name] is not None:
            values[name] = spec.cast_parameter(given[name], d.type, f"{task_id}: input {name}")
        elif d.has_default:
            values[name] = spec.cast_parameter(d.default, d.type, f"{task_id}: default of {name}")
        elif not d.optional:
            raise ParameterError(
                f"{task_id}: input parameter {name!r} has no value (its producer was skipped or did not "
                "write it)"
            )
        else:
            values[name] = None  # as in kfp's executor input: present, null
    for name, value in given.items():
        if name not in comp.input_parameters and value is not None:
            values[name] = value
    return values


def run_leaf(
    ctx: RunContext,
    task: spec.Task,
    comp: spec.Component,
    task_id: str,
    given: dict[str, Any],
    arts: dict[str, list[dict[str, Any]]],
) -> TaskResult:
    """Run one container or importer task to its end; never raises for a task's own failure."""
    result = TaskResult(task_id, Status.FAILED, log=str(ctx.run_dir / "logs" / f"{_flat(task_id)}.log"))
    root = executor_io.task_dir(ctx.run_dir, task_id)
    try:
        values = input_values(comp, given, task_id)
        in_arts: dict[str, Any] = {}
        for name, ad in comp.input_artifacts.items():
            if arts.get(name):
                in_arts[name] = {"artifacts": [executor_io.public(a) for a in arts[name]]}
            elif not ad.optional:
                raise ParameterError(f"{task_id}: input artifact {name!r} has no value (producer skipped?)")
    except ParameterError as err:
        result.message = str(err)
        return result
    ei = executor_io.executor_input(comp, values, in_arts, root)
    job = job_info(ctx, task_id, task.display_name)
    # As kfp.local does, every string value that is itself a placeholder (a default such as
    # ``x: str = dsl.PIPELINE_TASK_NAME_PLACEHOLDER``, passed down from a pipeline input) is resolved
    # in the task's own context.
    try:
        for name, value in list(values.items()):
            if isinstance(value, str) and UNRESOLVED in value:
                values[name] = placeholders.resolve_string(value, ei, job, f"{task_id}: default of {name}")
    except (PlaceholderError, UnsupportedFeatureError) as err:
        result.message = str(err)
        return result
    executor = comp.executor
    if isinstance(executor, spec.Importer):
        try:
            result.artifacts = import_artifact(executor, ei, job, task_id)
        except RunnerError as err:
            result.message = str(err)
            return result
        result.status = Status.SUCCEEDED
        return result
    assert isinstance(executor, spec.Container)
    lists = frozenset(n for n, ad in comp.input_artifacts.items() if ad.is_list)
    canon = executor_io.executor_input(comp, values, executor_io.canonical_artifacts(in_arts), Path("<task>"))
    canon_job = placeholders.JobInfo("<job>", "<job>", task.display_name, "<task>", "<root>", "<time>")
    try:
        command = placeholders.resolve_command(executor.command, ei, job, f"{task_id} command", lists)
        args = placeholders.resolve_command(executor.args, ei, job, f"{task_id} args", lists)
        left = next((a for a in [*command, *args] if UNRESOLVED in a), None)
        if left is not None:
            raise PlaceholderError(
                f"{task_id}: the command still holds a placeholder after resolution: {left!r}"
            )
        limits = resources.limits(
            executor.resources, lambda text: placeholders.resolve_string(text, ei, job, task_id), task_id
        )
        ccommand = placeholders.resolve_command(executor.command, canon, canon_job, artifact_lists=lists)
        cargs = placeholders.resolve_command(executor.args, canon, canon_job, artifact_lists=lists)
    except (PlaceholderError, UnsupportedFeatureError, ParameterError) as err:
        result.message = str(err)
        return result
    if limits.accelerator_count and not ctx.handler.gpu_available():
        result.message = (
            f"{task_id} requests {limits.accelerator_count} accelerator(s) ({limits.accelerator_type}) but "
            "this machine has no GPU (no /dev/nvidia* device and no nvidia Docker runtime); run on a GPU "
            "machine or set the accelerator parameter to 0"
        )
        return result
    artifact_digests = {
        name: [a.get("digest") or digest_path(a["uri"]) for a in arts[name]] for name in in_arts
    }
    key_parts: dict[str, Any] = {
        "command": ccommand,
        "args": cargs,
        "env": executor.env,
        "parameters": values,
        "artifact_digests": artifact_digests,
        "outputs": [*comp.output_parameters, *comp.output_artifacts],
    }
    result.image = executor.image
    result.command = [*command, *args]
    result.key = task_key(image_digest=ctx.digests.get(executor.image, executor.image), **key_parts)
    result.resume_key = task_key(image_digest="", **key_parts)
    # Reuse: a finished task of the run being resumed, then the execution cache.
    prev = ctx.previous.get(task_id)
    if (
        prev
        and prev.get("resume_key") == result.resume_key
        and executor_io.artifacts_exist(prev.get("artifacts", {}))
    ):
        result.status, result.cached = Status.SUCCEEDED, "resumed"
        result.parameters, result.artifacts = prev.get("parameters", {}), prev.get("artifacts", {})
        result.seconds = float(prev.get("seconds", 0.0))
        return result
    if ctx.use_cache and task.enable_cache:
        entry = ctx.cache.get(result.key)
        if entry is not None:
            result.status, result.cached = Status.SUCCEEDED, "yes"
            result.parameters, result.artifacts = entry["parameters"], entry["artifacts"]
            return result
    inv = Invocation(
        task_id=task_id,
        image=executor.image,
        command=command,
        args=args,
        env=dict(executor.env),
        log_path=Path(result.log),
        mounts=_mounts(ctx.root, in_arts),
        cpu_limit=limits.cpu_limit,
        memory_limit_bytes=limits.memory_limit_bytes,
        accelerator_count=limits.accelerator_count,
        run_id=ctx.run_id,
        copy_out=lambda: executor_io.custom_paths(ei),
    )
    return _execute(ctx, task, comp, inv, ei, root, result)


def _flat(task_id: str) -> str:
    return task_id.replace("[", ".").replace("]", "").replace("/", ".")


def _mounts(root: Path, in_arts: dict[str, Any]) -> list[str]:
    """The runs root, plus every local input artifact outside it (an import) that exists."""
    mounts = {str(root)}
    for group in in_arts.values():
        for a in group["artifacts"]:
            uri = str(a["uri"])
            if "://" in uri or not Path(uri).exists():
                continue
            path = Path(uri).resolve()
            if not path.is_relative_to(root):
                mounts.add(str(path))
    return sorted(mounts)


def _execute(
    ctx: RunContext,
    task: spec.Task,
    comp: spec.Component,
    inv: Invocation,
    ei: dict[str, Any],
    root: Path,
    result: TaskResult,
) -> TaskResult:
    inv.log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    attempt = 0
    while True:
        if root.exists():
            try:
                shutil.rmtree(root)
            except PermissionError as err:
                raise HostError(
                    f"cannot clear {root} before re-running {result.id}: {err} (containers run as "
                    "their image's user, root here; remove the folder with sudo, or run as root)"
                ) from None
        (root / "parameters").mkdir(parents=True)
        write_json(root / "executor_input.json", ei)
        with inv.log_path.open("a") as log:
            log.write(f"=== {now()} attempt {attempt + 1}: {json.dumps([*inv.command, *inv.args])}\n")
        ctx.display.started(result.id, attempt)
        with ctx.slots:
            if ctx.cancel.is_set():
                outcome = Outcome(Status.CANCELLED, None, "cancelled")
            else:
                outcome = ctx.handler.run(inv, ctx.cancel)
        if outcome.status == Status.SUCCEEDED:
            try:
                result.parameters, result.artifacts = executor_io.collect_outputs(comp, ei)
            except RunnerError as err:
                outcome = Outcome(Status.FAILED, 0, str(err))
        with inv.log_path.open("a") as log:
            log.write(f"=== {outcome.status.value}{': ' + outcome.message if outcome.message else ''}\n")
        if outcome.status != Status.FAILED or attempt >= task.retry.max_retries or ctx.cancel.is_set():
            break
        attempt += 1
        delay = task.retry.delay(attempt)
        ctx.display.note(
            f"{result.id}: {outcome.message}; retry {attempt}/{task.retry.max_retries} in {delay:g}s"
        )
        if ctx.cancel.wait(delay):
            break
    result.status = outcome.status
    result.exit_code = outcome.exit_code
    result.message = outcome.message
    result.retries = attempt
    result.seconds = time.monotonic() - t0
    if result.status == Status.SUCCEEDED:
        for group in result.artifacts.values():
            for a in group:
                a["digest"] = digest_path(a["uri"]) if "://" not in a["uri"] else ""
        ctx.cache.put(
            result.key,
            {
                "task": result.id,
                "run_id": ctx.run_id,
                "created": now(),
                "parameters": result.parameters,
                "artifacts": result.artifacts,
            },
        )
    return result
