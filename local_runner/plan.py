"""``--dry-run``: load, validate and resolve a pipeline's DAG without running a task, and say what would run.

Values flow statically from the pipeline parameters through constants, f-strings and nested DAG
inputs; a value that only a task can produce (an upstream output, a loop item) stays a symbol such as
``<make-data.count>``. Every placeholder of every command is resolved (a symbol stands in for what is
not known yet), so an unresolvable placeholder is found here, before anything runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_runner import executor_io, graph, placeholders, resources, spec
from local_runner.errors import ParameterError, PlaceholderError
from local_runner.graph import topological_order
from local_runner.inputs import has_placeholder, resolve_in
from local_runner.values import resolve_parameters

_RUN = Path("<run>")


class Symbol(str):
    """A value known only at run time (shown as ``<producer.key>``)."""


@dataclass
class Step:
    """One leaf task of the plan."""

    id: str
    kind: str  # container or importer
    component: str
    after: list[str]
    condition: str = ""
    image: str = ""
    command: list[str] = field(default_factory=list)
    limits: resources.Limits | None = None  # None when a parameter known only at run time sets them
    uri: str = ""


@dataclass
class Plan:
    """What a run would do."""

    pipeline: str
    parameters: dict[str, Any]
    steps: list[Step]

    def needs_gpu(self) -> bool:
        """True if a task whose limits are known asks for an accelerator."""
        return any(s.limits is not None and s.limits.accelerator_count > 0 for s in self.steps)

    def render(self) -> str:
        """The plan as text, one block per task in a valid order."""
        lines = [f"pipeline {self.pipeline}: {len(self.steps)} task(s), nothing run (--dry-run)"]
        lines.append("parameters: " + json.dumps(self.parameters, sort_keys=True))
        for i, s in enumerate(self.steps, 1):
            head = f"{i:>3}. {s.id}  [{s.kind}{': ' + s.image if s.image else ''}]"
            if s.after:
                head += "  after: " + ", ".join(s.after)
            lines.append(head)
            if s.condition:
                lines.append(f"       if: {s.condition}")
            if s.kind == "importer":
                lines.append(f"       uri: {s.uri}")
            else:
                lines.append(
                    "       $ " + " ".join(json.dumps(a) if " " in a or not a else a for a in s.command)
                )
            limits = _describe(s.limits)
            if limits:
                lines.append(f"       limits: {limits}")
        return "\n".join(lines)


def _describe(limits: resources.Limits | None) -> str:
    if limits is None:
        return "set by run-time values"
    parts = []
    if limits.cpu_limit:
        parts.append(f"cpu {limits.cpu_limit:g}")
    if limits.memory_limit_bytes:
        parts.append(f"memory {limits.memory_limit_bytes / 1e9:.3g} GB")
    if limits.accelerator_count:
        parts.append(f"{limits.accelerator_count} x {limits.accelerator_type}")
    return ", ".join(parts)


def make_plan(pipeline: spec.PipelineSpec, given: dict[str, Any]) -> Plan:
    """Resolve the whole DAG statically.

    Raises:
        RunnerError: bad parameters, a cycle, or a placeholder that can never be resolved.
    """
    params = resolve_parameters(pipeline, given)
    steps: list[Step] = []
    _walk(pipeline, pipeline.root, dict(params), {}, "", "", steps, [])
    return Plan(pipeline.name, params, steps)


def _walk(
    p: spec.PipelineSpec,
    comp: spec.Component,
    scope: dict[str, Any],
    art_scope: dict[str, str],
    prefix: str,
    suffix: str,
    steps: list[Step],
    after: list[str],
) -> dict[str, list[str]]:
    """Add the DAG's leaf tasks to ``steps``; return {task name: ids of its leaf tasks}.

    ``scope`` holds the DAG's input parameter values, ``art_scope`` its input artifacts that have a
    value (as symbols: an unset optional artifact is absent, so ``IfPresent`` takes ``Else``).
    """
    assert comp.dag is not None
    tasks = comp.dag.tasks
    order = topological_order({n: t.upstream() for n, t in tasks.items()})
    leaves: dict[str, list[str]] = {}
    for name in order:
        task = tasks[name]
        sub = p.components[task.component]
        ups = sorted({leaf for u in task.upstream() for leaf in leaves.get(u, [])})
        values = _inputs(task, scope, prefix)
        arts = {
            n: art_scope[src.name] if src.kind == "component_input" else f"<{src.producer}.{src.name}>"
            for n, src in task.artifacts.items()
            if src.kind != "component_input" or src.name in art_scope
        }
        if sub.dag is not None:
            inner = dict(values)
            for pname, d in sub.input_parameters.items():
                if pname not in inner and d.has_default:
                    inner[pname] = d.default
            inner_suffix = suffix
            if task.iterator is not None:
                inner[task.iterator.item_input] = Symbol(f"<item of {name}>")
                inner_suffix = suffix + "[*]"
            before = len(steps)
            _walk(p, sub, inner, arts, f"{prefix}{name}/", inner_suffix, steps, [*after, *ups])
            leaves[name] = [s.id for s in steps[before:]]
            if task.condition:
                for s in steps[before:]:
                    s.condition = s.condition or task.condition
            continue
        task_id = graph.task_id(prefix, name, suffix)
        steps.append(_leaf(task, sub, task_id, values, arts, sorted({*after, *ups})))
        steps[-1].condition = task.condition
        leaves[name] = [task_id]
    return leaves


def _inputs(task: spec.Task, scope: dict[str, Any], prefix: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, src in task.parameters.items():
        if src.kind == "constant":
            values[name] = src.value
        elif src.kind == "component_input":
            if src.name in scope:
                values[name] = scope[src.name]
        elif src.kind == "task_output":
            values[name] = Symbol(f"<{src.producer}.{src.name}>")
        else:
            values[name] = Symbol(f"<final status of {src.producer}>")
        if src.selector and name in values:
            values[name] = Symbol(f"<{values[name]}{src.selector[len('parseJson(string_value)') :]}>")
    return values


def _leaf(
    task: spec.Task,
    comp: spec.Component,
    task_id: str,
    given: dict[str, Any],
    arts: dict[str, str],
    after: list[str],
) -> Step:
    where = f"task {task_id}"
    job = placeholders.JobInfo("<run_id>", "<run_id>", task.display_name, "<task uuid>", str(_RUN), "<start>")
    # Constants that are f-strings over the task's other inputs resolve first, as at run time.
    own = {"inputs": {"parameterValues": given, "artifacts": {}}, "outputs": {}}
    given = {
        k: resolve_in(v, own, job, f"{where}: input {k}") if has_placeholder(v) else v
        for k, v in given.items()
    }
    values: dict[str, Any] = {}
    for name, d in comp.input_parameters.items():
        value = given.get(name)
        if isinstance(value, Symbol):
            values[name] = value
        elif value is not None:
            values[name] = spec.cast_parameter(value, d.type, f"{where}: input {name}")
        elif d.has_default:
            values[name] = d.default
        elif not d.optional:
            raise ParameterError(f"{where}: input parameter {name!r} is given no value")
        else:
            values[name] = None
    for name, value in given.items():
        values.setdefault(name, value)
    in_arts = {
        name: {"artifacts": [{"name": name, "uri": uri, "metadata": {}}]} for name, uri in arts.items()
    }
    for name, ad in comp.input_artifacts.items():
        if name not in in_arts and not ad.optional:
            raise ParameterError(f"{where}: input artifact {name!r} is given no value")
    ei = executor_io.executor_input(comp, values, in_arts, executor_io.task_dir(_RUN, task_id))
    for name in list(values):
        if isinstance(values[name], str) and "{{$" in values[name]:
            values[name] = placeholders.resolve_string(values[name], ei, job, f"{where}: input {name}")
    if isinstance(comp.executor, spec.Importer):
        imp = comp.executor
        uri = imp.uri_constant if imp.uri_constant is not None else values.get(imp.uri_parameter or "uri")
        return Step(task_id, "importer", comp.name, after, uri=str(uri), limits=resources.Limits())
    assert isinstance(comp.executor, spec.Container)
    c = comp.executor
    lists = frozenset(n for n, ad in comp.input_artifacts.items() if ad.is_list)
    command = placeholders.resolve_command(c.command, ei, job, f"{where} command", lists)
    command += placeholders.resolve_command(c.args, ei, job, f"{where} args", lists)
    left = next((a for a in command if "{{$" in a), None)
    if left is not None:
        raise PlaceholderError(f"{where}: the command still holds a placeholder after resolution: {left!r}")
    limits: resources.Limits | None = None
    # Known now unless a value comes from a task (then the task resolves them when it starts).
    if not any(isinstance(values.get(n), Symbol) for n in resources.parameters_used(c.resources)):
        limits = resources.limits(
            c.resources, lambda t: placeholders.resolve_string(t, ei, job, where), where
        )
    return Step(task_id, "container", comp.name, after, image=c.image, command=command, limits=limits)
