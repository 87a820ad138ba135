"""Run a compiled pipeline: walk its DAGs, start ready tasks in parallel, pass outputs along.

Threads: every DAG (the root, a condition or exit-handler group, one ParallelFor iteration, a nested
pipeline) is walked by one coordinating thread that starts a thread per ready task and waits for the
next one to finish. Containers take a slot of a global semaphore of ``--max-parallel`` slots, and the
iterations of a ParallelFor take a slot of that loop's ``parallelism`` semaphore, so coordination never
holds a container slot and nested fan-outs cannot deadlock.

Run folder (``<root>/<pipeline>/<run_id>``)::

    run.json                  the run record: parameters, status, one entry per task (rewritten as tasks end)
    pipeline.yaml             the compiled YAML that ran
    logs/<task>.log           everything each task printed (all attempts)
    tasks/<task>/artifacts/<name>     output artifacts (file or folder, as the component writes it)
    tasks/<task>/parameters/<name>    output parameter files
    tasks/<task>/executor_input.json  what the container was given ({{$}}); executor_output.json if written
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import queue
import re
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from campaignlab.io import write_json
from local_runner import conditions, placeholders, spec
from local_runner.cache import CacheStore, digest_path, task_key
from local_runner.errors import (
    ConditionError,
    HostError,
    ParameterError,
    PlaceholderError,
    ResumeError,
    RunnerError,
)
from local_runner.graph import ready_tasks, topological_order
from local_runner.handlers import DockerHandler, Invocation, Outcome, ProcessHandler, Status
from local_runner.progress import RunDisplay

# Group tasks kfp generates (left out of task ids); ".N" marks iteration N of a ParallelFor.
_GROUP = re.compile(r"^(exit-handler|condition|condition-branches|for-loop)-\d+(\.\d+)?$")


@dataclass
class RunOptions:
    """What ``run-local`` was asked to do (already validated by the CLI)."""

    root: Path
    max_parallel: int = 4
    use_cache: bool = True
    resume: str | None = None
    run_id: str | None = None
    live: bool = True


@dataclass
class TaskResult:
    """The outcome of one task (a container, an importer or, internally, a DAG group)."""

    id: str
    status: Status
    seconds: float = 0.0
    cached: str = "no"  # "yes" (execution cache), "resumed" (--resume) or "no"
    retries: int = 0
    exit_code: int | None = None
    message: str = ""
    log: str = ""
    image: str = ""
    command: list[str] = field(default_factory=list)
    key: str = ""
    resume_key: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    leaf: bool = True

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d.pop("leaf")
        return d


@dataclass
class RunResult:
    """What a finished (or stopped) run returns to the CLI."""

    run_id: str
    run_dir: Path
    status: Status
    seconds: float
    tasks: list[TaskResult]
    outputs: dict[str, Any]


@dataclass
class _Scope:
    """Values of a DAG's inputs."""

    parameters: dict[str, Any]
    artifacts: dict[str, list[dict[str, Any]]]


def new_run_id(pipeline: str) -> str:
    """``<pipeline>-YYYYmmdd-HHMMSS-xxxx``: sortable and unique."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{pipeline}-{stamp}-{uuid.uuid4().hex[:4]}"


def resolve_parameters(pipeline: spec.PipelineSpec, given: dict[str, Any]) -> dict[str, Any]:
    """Validate pipeline parameters against the root's input definitions and cast them to their types.

    Raises:
        ParameterError: an unknown name, a missing required parameter, or a value of the wrong type.
    """
    defs = pipeline.root.input_parameters
    if pipeline.root.input_artifacts:
        names = ", ".join(sorted(pipeline.root.input_artifacts))
        raise ParameterError(f"pipeline inputs that are artifacts ({names}) cannot be given locally")
    unknown = sorted(set(given) - set(defs))
    if unknown:
        known = ", ".join(f"{k} ({d.type})" for k, d in sorted(defs.items())) or "none"
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; the pipeline takes: {known}")
    out: dict[str, Any] = {}
    missing = []
    for name, d in defs.items():
        if name in given:
            out[name] = spec.cast_parameter(given[name], d.type, f"parameter {name}")
        elif d.has_default:
            out[name] = spec.cast_parameter(d.default, d.type, f"default of parameter {name}")
        elif not d.optional:
            missing.append(f"{name} ({d.type})")
    if missing:
        raise ParameterError(f"missing required parameter(s): {', '.join(missing)}; pass --param NAME=VALUE")
    return out


def previous_parameters(root: Path, pipeline: str, run_id: str) -> dict[str, Any]:
    """Parameters recorded by an earlier run ({} if it has no record; the orchestrator reports that)."""
    path = root / pipeline / run_id / "run.json"
    try:
        return dict(json.loads(path.read_text()).get("parameters") or {})
    except (OSError, json.JSONDecodeError):
        return {}


def _fs(task_id: str) -> str:
    return task_id.replace("[", ".").replace("]", "")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Orchestrator:
    """Executes one pipeline run. Create, then call :meth:`run` once."""

    def __init__(
        self,
        pipeline: spec.PipelineSpec,
        parameters: dict[str, Any],
        handler: DockerHandler | ProcessHandler,
        options: RunOptions,
    ) -> None:
        self.pipeline = pipeline
        self.params = resolve_parameters(pipeline, parameters)
        self.handler = handler
        self.opts = options
        self.root = options.root.resolve()
        self.cache = CacheStore(self.root)
        self.cancel = threading.Event()
        self.slots = threading.Semaphore(max(1, options.max_parallel))
        self._lock = threading.Lock()
        self.results: dict[str, TaskResult] = {}
        self.previous: dict[str, dict[str, Any]] = {}
        self.digests: dict[str, str] = {}
        self.started_at = _now()
        self.source_sha256 = hashlib.sha256(Path(pipeline.source).read_bytes()).hexdigest()
        if options.resume:
            self.run_id = options.resume
            self.run_dir = self.root / pipeline.name / self.run_id
            self._load_previous()
        else:
            self.run_id = options.run_id or new_run_id(pipeline.name)
            self.run_dir = self.root / pipeline.name / self.run_id
            if self.run_dir.exists():
                raise ResumeError(f"run folder {self.run_dir} already exists; pick another --run-id")
        self.display = RunDisplay(enabled=options.live)

    # --- setup ------------------------------------------------------------------------------

    def _load_previous(self) -> None:
        record_path = self.run_dir / "run.json"
        if not record_path.is_file():
            runs = self.root / self.pipeline.name
            have = sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
            raise ResumeError(
                f"--resume {self.run_id}: no run record at {record_path}; runs of pipeline "
                f"{self.pipeline.name!r} under {runs}: {', '.join(have[-5:]) or 'none'}"
            )
        record = json.loads(record_path.read_text())
        if record.get("pipeline") != self.pipeline.name:
            raise ResumeError(
                f"--resume {self.run_id}: that run is of pipeline {record.get('pipeline')!r}, "
                f"not {self.pipeline.name!r}"
            )
        self.previous = {
            tid: t for tid, t in record.get("tasks", {}).items() if t.get("status") == Status.SUCCEEDED.value
        }
        self.resume_attempt = int(record.get("attempt", 1)) + 1

    def preflight(self) -> None:
        """Check images and GPUs before anything starts (raises HostError)."""
        containers = [c for _, c in self.pipeline.containers()]
        need_gpu = any(c.accelerator_count > 0 for c in containers)
        self.digests = self.handler.preflight([c.image for c in containers], need_gpu)

    # --- public -----------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Run the pipeline to its end; Ctrl-C stops running tasks and leaves a resumable run."""
        self.preflight()
        t0 = time.monotonic()
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "tasks").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.pipeline.source, self.run_dir / "pipeline.yaml")
        self._write_record(Status.NOT_RUN, "running", 0.0, {})
        outcome: dict[str, Any] = {}

        done = threading.Event()

        def main() -> None:
            try:
                outcome["root"] = self._run_dag(
                    self.pipeline.root, _Scope(dict(self.params), {}), prefix="", loop_suffix=""
                )
            except BaseException as err:  # surfaced in the calling thread
                outcome["error"] = err
            finally:
                done.set()

        # An Event, not Thread.join: a join interrupted by Ctrl-C may return early on later calls.
        with self.display, _sigterm_as_interrupt():
            worker = threading.Thread(target=main, name="pipeline", daemon=True)
            try:  # a Ctrl-C while the thread is starting must cancel it too
                worker.start()
                while not done.wait(0.05):
                    self.display.refresh()
            except KeyboardInterrupt:
                self.display.note("Ctrl-C: stopping running tasks ...")
                self.cancel.set()
                self.handler.stop_all()
                while True:
                    try:
                        if done.wait(0.1) or not worker.is_alive():
                            break
                    except KeyboardInterrupt:  # pressed again: kill again, keep waiting for the threads
                        self.handler.stop_all()
        if "error" in outcome:
            raise outcome["error"]
        seconds = time.monotonic() - t0
        root: tuple[Status, dict[str, Any], dict[str, Any]] = outcome.get("root", (Status.CANCELLED, {}, {}))
        status = Status.CANCELLED if self.cancel.is_set() else root[0]
        outputs = {**root[1], **root[2]}
        self._write_record(status, status.value, seconds, outputs)
        leaves = [r for r in self.results.values() if r.leaf]
        return RunResult(self.run_id, self.run_dir, status, seconds, leaves, outputs)

    # --- records ----------------------------------------------------------------------------

    def _write_record(self, status: Status, label: str, seconds: float, outputs: dict[str, Any]) -> None:
        with self._lock:
            tasks = {tid: r.record() for tid, r in self.results.items() if r.leaf}
        record = {
            "pipeline": self.pipeline.name,
            "run_id": self.run_id,
            "status": label,
            "source": str(Path(self.pipeline.source).resolve()),
            "pipeline_sha256": self.source_sha256,
            "backend": self.handler.name,
            "parameters": self.params,
            "max_parallel": self.opts.max_parallel,
            "cache": self.opts.use_cache,
            "attempt": getattr(self, "resume_attempt", 1),
            "started": self.started_at,
            "ended": _now() if label != "running" else None,
            "seconds": round(seconds, 3),
            "outputs": outputs,
            "images": self.digests,
            "tasks": tasks,
        }
        write_json(self.run_dir / "run.json", record)

    def _finish(self, result: TaskResult) -> TaskResult:
        with self._lock:
            self.results[result.id] = result
        if result.leaf:
            self.display.finished(result)
            self._write_record(Status.NOT_RUN, "running", 0.0, {})
        return result

    # --- DAGs -------------------------------------------------------------------------------

    def _display_id(self, prefix: str, name: str, loop_suffix: str) -> str:
        kept = [p for p in prefix.split("/") if p and not _GROUP.match(p)]
        return "/".join([*kept, name]) + loop_suffix

    def _run_dag(
        self, comp: spec.Component, scope: _Scope, prefix: str, loop_suffix: str
    ) -> tuple[Status, dict[str, Any], dict[str, list[dict[str, Any]]]]:
        """Run every task of a DAG component; return its status and its output parameters/artifacts."""
        assert comp.dag is not None
        tasks = comp.dag.tasks
        upstream = {name: t.upstream() for name, t in tasks.items()}
        topological_order(upstream)  # fails early on a cycle
        done: dict[str, TaskResult] = {}
        started: set[str] = set()
        finished_q: queue.Queue[tuple[str, TaskResult]] = queue.Queue()
        running = 0
        while len(done) < len(tasks):
            progressed = False
            for name in ready_tasks(upstream, done.keys(), started):
                started.add(name)
                task = tasks[name]
                ups = [done[u] for u in upstream[name]]
                blocked = [u for u in ups if u.status not in (Status.SUCCEEDED, Status.SKIPPED)]
                if self.cancel.is_set() or (blocked and task.strategy == spec.ALL_UPSTREAM_TASKS_SUCCEEDED):
                    reason = (
                        "cancelled"
                        if self.cancel.is_set()
                        else f"upstream {blocked[0].id} {blocked[0].status.value}"
                    )
                    done[name] = self._mark_static(task, prefix, loop_suffix, Status.NOT_RUN, reason)
                    progressed = True
                    continue
                if any(u.status == Status.CANCELLED for u in ups):
                    done[name] = self._mark_static(task, prefix, loop_suffix, Status.NOT_RUN, "cancelled")
                    progressed = True
                    continue
                running += 1
                threading.Thread(
                    target=self._task_thread,
                    args=(task, scope, dict(done), prefix, loop_suffix, finished_q),  # a snapshot
                    name=f"task {prefix}{name}",
                    daemon=True,
                ).start()
            if progressed:
                continue
            if running == 0:
                break  # nothing running and nothing ready: all remaining tasks were decided
            name, result = finished_q.get()
            running -= 1
            done[name] = result
        status = self._dag_status(done.values())
        params: dict[str, Any] = {}
        arts: dict[str, list[dict[str, Any]]] = {}
        for oname, sel in comp.dag.parameter_outputs.items():
            for producer, key in sel.candidates:
                r = done.get(producer)
                if r is not None and key in r.parameters:
                    params[oname] = r.parameters[key]
                    break
        for oname, sel in comp.dag.artifact_outputs.items():
            for producer, key in sel.candidates:
                r = done.get(producer)
                if r is not None and r.artifacts.get(key):
                    arts[oname] = r.artifacts[key]
                    break
        return status, params, arts

    @staticmethod
    def _dag_status(results: Any) -> Status:
        statuses = [r.status for r in results]
        if Status.CANCELLED in statuses:
            return Status.CANCELLED
        if Status.FAILED in statuses or Status.NOT_RUN in statuses:
            return Status.FAILED
        return Status.SUCCEEDED

    def _task_thread(
        self,
        task: spec.Task,
        scope: _Scope,
        siblings: dict[str, TaskResult],
        prefix: str,
        loop_suffix: str,
        finished_q: queue.Queue[tuple[str, TaskResult]],
    ) -> None:
        try:
            result = self._run_task(task, scope, siblings, prefix, loop_suffix)
        except Exception as err:  # a bug must not hang the DAG: report it as the task's failure
            result = self._finish(
                TaskResult(
                    self._display_id(prefix, task.name, loop_suffix), Status.FAILED, message=f"{err!r}"
                )
            )
        finished_q.put((task.name, result))

    def _mark_static(
        self, task: spec.Task, prefix: str, loop_suffix: str, status: Status, reason: str
    ) -> TaskResult:
        """Record ``task`` (and, for a group, every task inside it) as skipped or not run."""
        comp = self.pipeline.components[task.component]
        if comp.dag is not None:
            inner_suffix = loop_suffix + ("[*]" if task.iterator else "")
            for sub in comp.dag.tasks.values():
                self._mark_static(sub, f"{prefix}{task.name}/", inner_suffix, status, reason)
            return TaskResult(f"{prefix}{task.name}", status, message=reason, leaf=False)
        return self._finish(
            TaskResult(self._display_id(prefix, task.name, loop_suffix), status, message=reason)
        )

    # --- inputs -----------------------------------------------------------------------------

    def _task_inputs(
        self, task: spec.Task, scope: _Scope, siblings: dict[str, TaskResult]
    ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        params: dict[str, Any] = {}
        for name, src in task.parameters.items():
            if src.kind == "constant":
                value = src.value
            elif src.kind == "component_input":
                if src.name not in scope.parameters:
                    continue
                value = scope.parameters[src.name]
            elif src.kind == "task_output":
                r = siblings.get(src.producer)
                if r is None or src.name not in r.parameters:
                    continue
                value = r.parameters[src.name]
            else:  # task_final_status
                r = siblings[src.producer]
                state = {Status.SUCCEEDED: "SUCCEEDED", Status.CANCELLED: "CANCELLED"}.get(r.status, "FAILED")
                value = {
                    "state": state,
                    "error": {"code": 0 if state == "SUCCEEDED" else 1, "message": r.message},
                    "pipelineJobResourceName": self.run_id,
                    "pipelineTaskName": src.producer,
                }
            if src.selector:
                value = _select(value, src.selector)
            params[name] = value
        arts: dict[str, list[dict[str, Any]]] = {}
        for name, asrc in task.artifacts.items():
            if asrc.kind == "component_input":
                if asrc.name in scope.artifacts:
                    arts[name] = scope.artifacts[asrc.name]
            else:
                r = siblings.get(asrc.producer)
                if r is not None and r.artifacts.get(asrc.name):
                    arts[name] = r.artifacts[asrc.name]
        return params, arts

    # --- one task ---------------------------------------------------------------------------

    def _run_task(
        self, task: spec.Task, scope: _Scope, siblings: dict[str, TaskResult], prefix: str, loop_suffix: str
    ) -> TaskResult:
        comp = self.pipeline.components[task.component]
        params, arts = self._task_inputs(task, scope, siblings)
        if task.condition:
            try:
                ok = conditions.evaluate(task.condition, params)
            except ConditionError as err:
                return self._finish(
                    TaskResult(
                        self._display_id(prefix, task.name, loop_suffix), Status.FAILED, message=str(err)
                    )
                )
            if not ok:
                return self._mark_static(task, prefix, loop_suffix, Status.SKIPPED, "condition false")
        if comp.dag is not None:
            for name, d in comp.input_parameters.items():
                if name not in params and d.has_default:
                    params[name] = d.default
            if task.iterator is not None:
                return self._run_loop(task, comp, _Scope(params, arts), prefix, loop_suffix)
            status, oparams, oarts = self._run_dag(
                comp, _Scope(params, arts), f"{prefix}{task.name}/", loop_suffix
            )
            return TaskResult(f"{prefix}{task.name}", status, parameters=oparams, artifacts=oarts, leaf=False)
        return self._run_leaf(task, comp, params, arts, self._display_id(prefix, task.name, loop_suffix))

    def _run_loop(
        self, task: spec.Task, comp: spec.Component, scope: _Scope, prefix: str, loop_suffix: str
    ) -> TaskResult:
        it = task.iterator
        assert it is not None and comp.dag is not None
        group_id = f"{prefix}{task.name}"
        try:
            if it.raw_items is not None:
                items = json.loads(it.raw_items)
            else:
                items = scope.parameters.get(it.items_input or "")
                if isinstance(items, str):
                    items = json.loads(items)
        except json.JSONDecodeError as err:
            items = err
        if not isinstance(items, list):
            return self._finish(
                TaskResult(group_id, Status.FAILED, message=f"ParallelFor items are not a list: {items!r}")
            )
        limit = threading.Semaphore(it.parallelism if it.parallelism > 0 else max(1, len(items)))
        results: list[tuple[Status, dict[str, Any], dict[str, list[dict[str, Any]]]] | None] = [None] * len(
            items
        )

        def iteration(i: int, item: Any) -> None:
            with limit:
                sub = _Scope({**scope.parameters, it.item_input: item}, scope.artifacts)
                results[i] = self._run_dag(comp, sub, f"{group_id}.{i}/", f"{loop_suffix}[{i}]")

        threads = [
            threading.Thread(target=iteration, args=(i, item), daemon=True, name=f"{group_id}[{i}]")
            for i, item in enumerate(items)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [r[0] if r else Status.FAILED for r in results]
        status = self._dag_status([TaskResult("", s) for s in statuses])
        # dsl.Collected: one list per output, in iteration order.
        params: dict[str, Any] = {}
        arts: dict[str, list[dict[str, Any]]] = {}
        for oname in comp.dag.parameter_outputs:
            params[oname] = [r[1][oname] for r in results if r and oname in r[1]]
        for oname in comp.dag.artifact_outputs:
            arts[oname] = [a for r in results if r for a in r[2].get(oname, [])]
        return TaskResult(group_id, status, parameters=params, artifacts=arts, leaf=False)

    def _run_leaf(
        self,
        task: spec.Task,
        comp: spec.Component,
        given: dict[str, Any],
        arts: dict[str, list[dict[str, Any]]],
        task_id: str,
    ) -> TaskResult:
        result = TaskResult(
            task_id, Status.FAILED, log=str(self.run_dir / "logs" / f"{_fs(task_id).replace('/', '.')}.log")
        )
        task_dir = self.run_dir / "tasks" / _fs(task_id)
        # Executor input: parameters cast back to their declared types (ints are compiled as floats).
        try:
            values: dict[str, Any] = {}
            for name, d in comp.input_parameters.items():
                if name in given and given[name] is not None:
                    values[name] = spec.cast_parameter(given[name], d.type, f"{task_id}: input {name}")
                elif d.has_default:
                    values[name] = spec.cast_parameter(d.default, d.type, f"{task_id}: default of {name}")
                elif not d.optional:
                    raise ParameterError(
                        f"{task_id}: input parameter {name!r} has no value (its producer was skipped or "
                        "did not write it)"
                    )
            in_arts: dict[str, Any] = {}
            for name, ad in comp.input_artifacts.items():
                if name in arts:
                    in_arts[name] = {"artifacts": [_public(a) for a in arts[name]]}
                elif not ad.optional:
                    raise ParameterError(
                        f"{task_id}: input artifact {name!r} has no value (producer skipped?)"
                    )
        except ParameterError as err:
            result.message = str(err)
            return self._finish(result)
        ei = self._executor_input(comp, values, in_arts, task_dir)
        canon = self._executor_input(comp, values, _canonical_artifacts(in_arts), Path("<task>"))
        job = placeholders.JobInfo(
            job_name=self.run_id,
            job_uuid=self.run_id,
            task_name=task.display_name,
            task_uuid=hashlib.sha256(f"{self.run_id}/{task_id}".encode()).hexdigest()[:32],
            pipeline_root=str(self.run_dir),
            create_time_utc=self.started_at,
        )
        canon_job = placeholders.JobInfo("<job>", "<job>", task.display_name, "<task>", "<root>", "<time>")
        artifact_digests = {
            name: [a.get("digest") or digest_path(a["uri"]) for a in arts[name]] for name in in_arts
        }
        executor = comp.executor
        if isinstance(executor, spec.Importer):
            return self._run_importer(executor, values, result)
        assert isinstance(executor, spec.Container)
        try:
            command = placeholders.resolve_command(executor.command, ei, job, f"{task_id} command")
            args = placeholders.resolve_command(executor.args, ei, job, f"{task_id} args")
            ccommand = placeholders.resolve_command(executor.command, canon, canon_job)
            cargs = placeholders.resolve_command(executor.args, canon, canon_job)
        except (PlaceholderError, RunnerError) as err:
            result.message = str(err)
            return self._finish(result)
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
        result.key = task_key(image_digest=self.digests.get(executor.image, executor.image), **key_parts)
        result.resume_key = task_key(image_digest="", **key_parts)
        # Reuse: a finished task of the run being resumed, then the execution cache.
        prev = self.previous.get(task_id)
        if (
            prev
            and prev.get("resume_key") == result.resume_key
            and _artifacts_exist(prev.get("artifacts", {}))
        ):
            result.status, result.cached = Status.SUCCEEDED, "resumed"
            result.parameters, result.artifacts = prev.get("parameters", {}), prev.get("artifacts", {})
            result.seconds = float(prev.get("seconds", 0.0))
            return self._finish(result)
        if self.opts.use_cache and task.enable_cache:
            entry = self.cache.get(result.key)
            if entry is not None:
                result.status, result.cached = Status.SUCCEEDED, "yes"
                result.parameters, result.artifacts = entry["parameters"], entry["artifacts"]
                return self._finish(result)
        return self._execute(task, comp, executor, ei, command, args, task_dir, result)

    def _executor_input(
        self, comp: spec.Component, values: dict[str, Any], in_arts: dict[str, Any], task_dir: Path
    ) -> dict[str, Any]:
        outputs: dict[str, Any] = {
            "parameters": {
                name: {"outputFile": str(task_dir / "parameters" / name)} for name in comp.output_parameters
            },
            "artifacts": {
                name: {
                    "artifacts": [
                        {
                            "name": name,
                            "type": {"schemaTitle": ad.schema_title, "schemaVersion": ad.schema_version},
                            "uri": str(task_dir / "artifacts" / name),
                            "metadata": {},
                        }
                    ]
                }
                for name, ad in comp.output_artifacts.items()
            },
            "outputFile": str(task_dir / "executor_output.json"),
        }
        return {"inputs": {"parameterValues": values, "artifacts": in_arts}, "outputs": outputs}

    def _run_importer(self, imp: spec.Importer, values: dict[str, Any], result: TaskResult) -> TaskResult:
        uri = imp.uri_constant if imp.uri_constant is not None else values.get(imp.uri_parameter or "uri")
        if not uri:
            result.message = "importer has no artifact URI"
            return self._finish(result)
        uri = str(uri)
        if "://" not in uri and not Path(uri).exists():
            result.message = f"importer: {uri!r} does not exist on this machine"
            return self._finish(result)
        if "://" not in uri:
            uri = str(Path(uri).resolve())
        result.status = Status.SUCCEEDED
        art = {
            "name": "artifact",
            "type": {"schemaTitle": imp.schema_title},
            "uri": uri,
            "metadata": imp.metadata,
        }
        result.artifacts = {"artifact": [art]}
        return self._finish(result)

    def _execute(
        self,
        task: spec.Task,
        comp: spec.Component,
        executor: spec.Container,
        ei: dict[str, Any],
        command: list[str],
        args: list[str],
        task_dir: Path,
        result: TaskResult,
    ) -> TaskResult:
        log_path = Path(result.log)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        mounts = {str(self.root)}
        for group in ei["inputs"]["artifacts"].values():
            for a in group["artifacts"]:
                uri = str(a["uri"])
                if "://" not in uri and not Path(uri).resolve().is_relative_to(self.root):
                    mounts.add(str(Path(uri).resolve()))
        inv = Invocation(
            task_id=result.id,
            image=executor.image,
            command=command,
            args=args,
            env=dict(executor.env),
            log_path=log_path,
            mounts=sorted(mounts),
            cpu_limit=executor.cpu_limit,
            memory_limit_bytes=executor.memory_limit_bytes,
            accelerator_count=executor.accelerator_count,
            run_id=self.run_id,
        )
        t0 = time.monotonic()
        attempt = 0
        while True:
            if task_dir.exists():
                try:
                    shutil.rmtree(task_dir)
                except PermissionError as err:
                    raise HostError(
                        f"cannot clear {task_dir} before re-running {result.id}: {err} (containers run as "
                        "their image's user, root here; remove the folder with sudo, or run as root)"
                    ) from None
            (task_dir / "parameters").mkdir(parents=True)
            (task_dir / "artifacts").mkdir(parents=True)
            write_json(task_dir / "executor_input.json", ei)
            with log_path.open("a") as log:
                log.write(f"=== {_now()} attempt {attempt + 1}: {json.dumps([*command, *args])}\n")
            self.display.started(result.id, attempt)
            with self.slots:
                if self.cancel.is_set():
                    outcome = Outcome(Status.CANCELLED, None, "cancelled")
                else:
                    outcome = self.handler.run(inv, self.cancel)
            if outcome.status == Status.SUCCEEDED:
                try:
                    result.parameters, result.artifacts = _collect_outputs(comp, ei)
                except RunnerError as err:
                    outcome = Outcome(Status.FAILED, 0, str(err))
            with log_path.open("a") as log:
                log.write(f"=== {outcome.status.value}{': ' + outcome.message if outcome.message else ''}\n")
            if outcome.status != Status.FAILED or attempt >= task.retry.max_retries or self.cancel.is_set():
                break
            attempt += 1
            delay = task.retry.delay(attempt)
            self.display.note(
                f"{result.id}: {outcome.message}; retry {attempt}/{task.retry.max_retries} in {delay:g}s"
            )
            if self.cancel.wait(delay):
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
            self.cache.put(
                result.key,
                {
                    "task": result.id,
                    "run_id": self.run_id,
                    "created": _now(),
                    "parameters": result.parameters,
                    "artifacts": result.artifacts,
                },
            )
        return self._finish(result)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (e.g. a CI job being stopped) like Ctrl-C while the run goes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _select(value: Any, selector: str) -> Any:
    """Apply ``parseJson(string_value)["key"]`` (a ParallelFor item's sub-variable)."""
    m = re.fullmatch(r'parseJson\(string_value\)\["([^"]+)"\]', selector)
    assert m is not None
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict) or m.group(1) not in value:
        raise ParameterError(f"cannot select [{m.group(1)!r}] from {value!r}")
    return value[m.group(1)]


def _public(art: dict[str, Any]) -> dict[str, Any]:
    """An artifact as containers see it (the runner's own fields, like its digest, removed)."""
    return {k: art[k] for k in ("name", "type", "uri", "metadata") if k in art}


def _canonical_artifacts(in_arts: dict[str, Any]) -> dict[str, Any]:
    """Input artifacts with run-specific URIs replaced by stable tokens (for the cache key)."""
    return {
        name: {"artifacts": [{**a, "uri": f"<in:{name}:{i}>"} for i, a in enumerate(group["artifacts"])]}
        for name, group in in_arts.items()
    }


def _artifacts_exist(arts: dict[str, list[dict[str, Any]]]) -> bool:
    return all(Path(a["uri"]).exists() or "://" in a["uri"] for group in arts.values() for a in group)


def _read_parameter(path: Path, ptype: str, name: str) -> Any:
    text = path.read_text()
    if ptype == spec.STRING:
        return text
    stripped = text.strip()
    if ptype in (spec.LIST, spec.STRUCT):
        try:
            return spec.cast_parameter(json.loads(stripped), ptype, f"output parameter {name}")
        except json.JSONDecodeError:
            raise ParameterError(f"output parameter {name}: {stripped[:80]!r} is not JSON") from None
    return spec.cast_parameter(stripped, ptype, f"output parameter {name} (file {path})")


def _collect_outputs(
    comp: spec.Component, ei: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Read output parameters and record output artifacts after a successful exit.

    executor_output.json, when the container wrote one, wins for parameters and artifact metadata;
    otherwise parameters come from their output files. A declared output that exists nowhere is an error.
    """
    outputs = ei["outputs"]
    written: dict[str, Any] = {}
    out_file = Path(outputs["outputFile"])
    if out_file.is_file():
        try:
            written = json.loads(out_file.read_text() or "{}")
        except json.JSONDecodeError as err:
            raise RunnerError(f"executor output {out_file} is not JSON: {err}") from None
    params: dict[str, Any] = {}
    for name, d in comp.output_parameters.items():
        if name in written.get("parameterValues", {}):
            params[name] = spec.cast_parameter(written["parameterValues"][name], d.type, f"output {name}")
            continue
        path = Path(outputs["parameters"][name]["outputFile"])
        if not path.is_file():
            raise RunnerError(f"output parameter {name!r} was not written (expected a file at {path})")
        params[name] = _read_parameter(path, d.type, name)
    arts: dict[str, list[dict[str, Any]]] = {}
    for name, group in outputs["artifacts"].items():
        recorded = [dict(a) for a in group["artifacts"]]
        extra = (written.get("artifacts", {}).get(name) or {}).get("artifacts") or []
        for a, w in zip(recorded, extra, strict=False):
            a["metadata"] = {**a.get("metadata", {}), **(w.get("metadata") or {})}
            if w.get("uri"):
                a["uri"] = w["uri"]
        for a in recorded:
            if "://" not in a["uri"] and not Path(a["uri"]).exists():
                raise RunnerError(
                    f"output artifact {name!r} was not written (expected a file or folder at {a['uri']})"
                )
        arts[name] = recorded
    return params, arts


def run_file(
    path: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    root: str | Path = "runs",
    backend: str = "docker",
    max_parallel: int = 4,
    use_cache: bool = True,
    resume: str | None = None,
    run_id: str | None = None,
    live: bool = False,
) -> RunResult:
    """Run a compiled pipeline YAML (the library form of ``run-local``).

    Parameters are checked, and images and GPUs looked for, before any task starts. With ``resume``
    the earlier run's parameters are the defaults for ``parameters``.

    Raises:
        RunnerError: bad input or an unusable machine (nothing ran).
    """
    from local_runner.handlers import make_handler

    pipeline = spec.load(path)
    options = RunOptions(
        root=Path(root),
        max_parallel=max_parallel,
        use_cache=use_cache,
        resume=resume,
        run_id=run_id,
        live=live,
    )
    given = dict(parameters or {})
    if resume:
        given = {**previous_parameters(options.root, pipeline.name, resume), **given}
    return Orchestrator(pipeline, given, make_handler(backend), options).run()
