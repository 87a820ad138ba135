"""The values of a task's inputs: from constants, the enclosing DAG's inputs, upstream outputs and the
final status of an exit handler's group; with placeholders inside constants resolved as KFP does."""

from __future__ import annotations

from typing import Any

from local_runner import placeholders, spec
from local_runner.errors import ParameterError, PlaceholderError, UnsupportedFeatureError
from local_runner.handlers import Status
from local_runner.run_record import TaskResult
from local_runner.values import select

Artifacts = dict[str, list[dict[str, Any]]]


def task_inputs(
    task: spec.Task,
    scope_parameters: dict[str, Any],
    scope_artifacts: Artifacts,
    siblings: dict[str, TaskResult],
    job: placeholders.JobInfo,
) -> tuple[dict[str, Any], Artifacts]:
    """The values of a task's inputs, with placeholders in constants (f-strings over other inputs,
    ``dsl.PIPELINE_*`` values) resolved against the task's own inputs, as KFP does.

    An input whose producer was skipped or did not write it is left out (the task then reports it).

    Raises:
        ParameterError: a selector that does not apply, or a placeholder that cannot be resolved.
    """
    params: dict[str, Any] = {}
    for name, src in task.parameters.items():
        if src.kind == "constant":
            value = src.value
        elif src.kind == "component_input":
            if src.name not in scope_parameters:
                continue
            value = scope_parameters[src.name]
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
                "pipelineJobResourceName": job.job_name,
                "pipelineTaskName": src.producer,
            }
        if src.selector:
            value = select(value, src.selector)
        params[name] = value
    constants = [n for n, s in task.parameters.items() if s.kind == "constant"]
    templated = [n for n in constants if has_placeholder(params.get(n))]
    if templated:
        ei = {"inputs": {"parameterValues": params, "artifacts": {}}, "outputs": {}}
        try:
            resolved = {n: resolve_in(params[n], ei, job, f"{task.name}: input {n}") for n in templated}
        except (PlaceholderError, UnsupportedFeatureError) as err:
            raise ParameterError(str(err)) from None
        params.update(resolved)
    arts: Artifacts = {}
    for name, asrc in task.artifacts.items():
        if asrc.kind == "component_input":
            if asrc.name in scope_artifacts:
                arts[name] = scope_artifacts[asrc.name]
        else:
            r = siblings.get(asrc.producer)
            if r is not None and r.artifacts.get(asrc.name):
                arts[name] = r.artifacts[asrc.name]
    return params, arts


def has_placeholder(value: Any) -> bool:
    """True if ``value`` (or a string inside it) holds a ``{{$...}}`` placeholder."""
    if isinstance(value, str):
        return "{{$" in value
    if isinstance(value, list):
        return any(has_placeholder(v) for v in value)
    if isinstance(value, dict):
        return any(has_placeholder(k) or has_placeholder(v) for k, v in value.items())
    return False


def resolve_in(value: Any, ei: dict[str, Any], job: placeholders.JobInfo, where: str) -> Any:
    """``value`` with the placeholders of every string in it resolved."""
    if isinstance(value, str):
        return placeholders.resolve_string(value, ei, job, where)
    if isinstance(value, list):
        return [resolve_in(v, ei, job, where) for v in value]
    if isinstance(value, dict):
        return {resolve_in(k, ei, job, where): resolve_in(v, ei, job, where) for k, v in value.items()}
    return value
