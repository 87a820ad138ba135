"""Run a compiled pipeline: walk its DAGs, start ready tasks in parallel, pass outputs along.

Threads: every DAG (the root, a condition or exit-handler group, one ParallelFor iteration, a nested
pipeline) is walked by one coordinating thread that starts a thread per ready task and waits for the
next one to finish. Containers take a slot of a global semaphore of ``--max-parallel`` slots, and the
iterations of a ParallelFor take a slot of that loop's ``parallelism`` semaphore, so coordination never
holds a container slot and nested fan-outs cannot deadlock.

A leaf task is executed by :func:`local_runner.task_runner.run_leaf`, which returns its result; only
the walker here records results (:meth:`Orchestrator._record`).

Run folder (``<root>/<pipeline>/<run_id>``)::

    run.json                  the run record: parameters, status, one entry per task (rewritten as tasks end)
    pipeline.yaml             the compiled YAML that ran
    logs/<task>.log           everything each task printed (all attempts)
    tasks/<task>/<artifact>   output artifacts (file or folder, as the component writes it): the task root
    tasks/<task>/parameters/<name>    output parameter files
    tasks/<task>/executor_input.json  what the container was given ({{$}}); executor_output.json if written
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_runner import conditions, graph, spec
from local_runner.cache import CacheStore
from local_runner.errors import (
    ConditionError,
    ParameterError,
    ResumeError,
)
from local_runner.graph import ready_tasks, topological_order
from local_runner.handlers import Status, TaskHandler
from local_runner.inputs import task_inputs
from local_runner.plan import make_plan
from local_runner.progress import RunDisplay
from local_runner.run_record import (
    Previous,
    RunOptions,
    RunRecord,
    RunResult,
    TaskResult,
    load_previous,
    new_run_id,
    now,
    previous_parameters,
)
from local_runner.task_runner import RunContext, job_info, run_leaf
from local_runner.values import resolve_parameters

Outputs = tuple[Status, dict[str, Any], dict[str, list[dict[str, Any]]]]


@dataclass
class _Scope:
    """Values of a DAG's inputs."""

    parameters: dict[str, Any]
    artifacts: dict[str, list[dict[str, Any]]]


class Orchestrator:
    """Executes one pipeline run. Create (nothing is read or written), then call :meth:`run` once."""

    def __init__(
        self,
        pipeline: spec.PipelineSpec,
        parameters: dict[str, Any],
        handler: TaskHandler,
        options: RunOptions,
    ) -> None:
        self.pipeline = pipeline
        self.given = parameters
        self.handler = handler
        self.opts = options
        self.cancel = threading.Event()

    # --- public -----------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Check the run, then run the pipeline to its end; Ctrl-C stops running tasks and leaves a
        resumable run.

        Raises:
            RunnerError: bad parameters, an unknown ``--resume`` run, a taken ``--run-id``, or a machine
                that cannot run the pipeline (nothing ran, no run folder was made).
        """
        params = resolve_parameters(self.pipeline, self.given)
        root = self.opts.root.resolve()
        previous = Previous(tasks={}, attempt=1)
        if self.opts.resume:
            run_id = self.opts.resume
            previous = load_previous(root, self.pipeline.name, run_id)
        else:
            run_id = self.opts.run_id or new_run_id(self.pipeline.name)
            if (root / self.pipeline.name / run_id).exists():
                raise ResumeError(
                    f"run folder {root / self.pipeline.name / run_id} already exists; pick another --run-id"
                )
        # The whole DAG is resolved first: a placeholder that can never resolve, or a GPU asked for by
        # a constant or a pipeline parameter on a machine without one, stops the run before it starts.
        plan = make_plan(self.pipeline, params)
        images = [c.image for _, c in self.pipeline.containers()]
        digests = self.handler.preflight(images, plan.needs_gpu())
        run_dir = root / self.pipeline.name / run_id
        self.ctx = RunContext(
            run_id=run_id,
            run_dir=run_dir,
            root=root,
            started_at=now(),
            handler=self.handler,
            cache=CacheStore(root),
            use_cache=self.opts.use_cache,
            display=RunDisplay(enabled=self.opts.live),
            cancel=self.cancel,
            slots=threading.Semaphore(max(1, self.opts.max_parallel)),
            digests=digests,
            previous=previous.tasks,
        )
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        (run_dir / "tasks").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.pipeline.source, run_dir / "pipeline.yaml")
        header = {
            "pipeline": self.pipeline.name,
            "run_id": run_id,
            "backend": self.handler.name,
            "parameters": params,
            "max_parallel": self.opts.max_parallel,
            "cache": self.opts.use_cache,
            "attempt": previous.attempt,
            "images": digests,
        }
        self.record = RunRecord(run_dir, header, Path(self.pipeline.source))
        self.record.write(Status.NOT_RUN, "running", 0.0, {})
        return self._walk(params)

    def _walk(self, params: dict[str, Any]) -> RunResult:
        t0 = time.monotonic()
        outcome: dict[str, Any] = {}
        done = threading.Event()
        display = self.ctx.display

        def main() -> None:
            try:
                outcome["root"] = self._run_dag(self.pipeline.root, _Scope(dict(params), {}), "", "")
            except BaseException as err:  # surfaced in the calling thread
                outcome["error"] = err
            finally:
                done.set()

        # An Event, not Thread.join: a join interrupted by Ctrl-C may return early on later calls.
        with display, _sigterm_as_interrupt():
            worker = threading.Thread(target=main, name="pipeline", daemon=True)
            try:  # a Ctrl-C while the thread is starting must cancel it too
                worker.start()
                while not done.wait(0.05):
                    display.refresh()
            except KeyboardInterrupt:
                display.note("Ctrl-C: stopping running tasks ...")
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
        root: Outputs = outcome.get("root", (Status.CANCELLED, {}, {}))
        status = Status.CANCELLED if self.cancel.is_set() else root[0]
        outputs = {**root[1], **root[2]}
        self.record.write(status, status.value, seconds, outputs)
        return RunResult(self.ctx.run_id, self.ctx.run_dir, status, seconds, self.record.leaves(), outputs)

    # --- records ----------------------------------------------------------------------------

    def _record(self, result: TaskResult) -> TaskResult:
        """Keep a task's result (the one place results are recorded) and show it if it is a leaf."""
        self.record.add(result)
        if result.leaf:
            self.ctx.display.finished(result)
        return result

    # --- DAGs -------------------------------------------------------------------------------

    def _run_dag(self, comp: spec.Component, scope: _Scope, prefix: str, loop_suffix: str) -> Outputs:
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
        status = _dag_status(r.status for r in done.values())
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
            task_id = graph.task_id(prefix, task.name, loop_suffix)
            result = self._record(TaskResult(task_id, Status.FAILED, message=f"{err!r}"))
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
        return self._record(TaskResult(graph.task_id(prefix, task.name, loop_suffix), status, message=reason))

    # --- one task ---------------------------------------------------------------------------

    def _run_task(
        self, task: spec.Task, scope: _Scope, siblings: dict[str, TaskResult], prefix: str, loop_suffix: str
    ) -> TaskResult:
        comp = self.pipeline.components[task.component]
        task_id = graph.task_id(prefix, task.name, loop_suffix)
        try:
            job = job_info(self.ctx, task_id, task.display_name)
            params, arts = task_inputs(task, scope.parameters, scope.artifacts, siblings, job)
        except ParameterError as err:
            return self._record(TaskResult(task_id, Status.FAILED, message=str(err), leaf=comp.dag is None))
        if task.condition:
            try:
                ok = conditions.evaluate(task.condition, params)
            except ConditionError as err:
                return self._record(TaskResult(task_id, Status.FAILED, message=str(err)))
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
        return self._record(run_leaf(self.ctx, task, comp, task_id, params, arts))

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
            return self._record(
                TaskResult(group_id, Status.FAILED, message=f"ParallelFor items are not a list: {items!r}")
            )
        limit = threading.Semaphore(it.parallelism if it.parallelism > 0 else max(1, len(items)))
        results: list[Outputs | None] = [None] * len(items)

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
        status = _dag_status(r[0] if r else Status.FAILED for r in results)
        # dsl.Collected: one list per output, in iteration order.
        params: dict[str, Any] = {}
        arts: dict[str, list[dict[str, Any]]] = {}
        for oname in comp.dag.parameter_outputs:
            params[oname] = [r[1][oname] for r in results if r and oname in r[1]]
        for oname in comp.dag.artifact_outputs:
            arts[oname] = [a for r in results if r for a in r[2].get(oname, [])]
        return TaskResult(group_id, status, parameters=params, artifacts=arts, leaf=False)


def _dag_status(statuses: Iterable[Status]) -> Status:
    seen = set(statuses)
    if Status.CANCELLED in seen:
        return Status.CANCELLED
    if Status.FAILED in seen or Status.NOT_RUN in seen:
        return Status.FAILED
    return Status.SUCCEEDED


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
