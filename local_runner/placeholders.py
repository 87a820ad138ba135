"""Resolve the placeholders of a container's ``command`` and ``args`` into a plain argument list.

The values come from the *executor input* (the JSON Vertex hands to a container, also available as the
``{{$}}`` placeholder)::

    {"inputs": {"parameterValues": {"n": 3},
                "artifacts": {"data": {"artifacts": [{"name": "data", "uri": "/runs/.../data",
                                                       "type": {"schemaTitle": "system.Dataset"},
                                                       "metadata": {}}]}}},
     "outputs": {"parameters": {"count": {"outputFile": "/runs/.../count"}},
                 "artifacts": {"model": {"artifacts": [{...}]}},
                 "outputFile": "/runs/.../executor_output.json"}}

Locally an artifact's ``path`` and ``uri`` are the same absolute path (the run root is mounted at that
path in every container), which is also what kfp's ``Artifact.path`` returns for a non-``gs://`` URI.

Supported: ``{{$}}``, ``{{$.inputs.parameters['x']}}``, ``{{$.inputs.artifacts['x'].path|uri|metadata}}``
(and ``.metadata['key']``, and the whole ``{{$.inputs.artifacts['x']}}`` for artifact lists),
``{{$.outputs.artifacts['x'].path|uri|metadata}}``, ``{{$.outputs.parameters['x'].output_file}}``,
``{{$.outputs.output_file}}``, the ``pipeline_job_*``/``pipeline_task_*``/``pipeline_root`` values, and
the structured ``{"Concat": [...]}`` and ``{"IfPresent": {...}}`` forms, nested in any way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from local_runner.errors import PlaceholderError, UnsupportedFeatureError

_PLACEHOLDER = re.compile(r"\{\{\$(.*?)\}\}")
_IO = re.compile(
    r"^\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\]"
    r"(?:\.(path|uri|metadata|output_file)(?:\['([^']+)'\])?)?$"
)


@dataclass(frozen=True)
class JobInfo:
    """Run-level values for the ``pipeline_*`` placeholders."""

    job_name: str
    job_uuid: str
    task_name: str
    task_uuid: str
    pipeline_root: str
    create_time_utc: str


def render_value(value: Any) -> str:
    """How a parameter value appears on a command line: strings raw, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def provided_inputs(executor_input: dict[str, Any]) -> set[str]:
    """Names of the inputs that have a value (what ``IfPresent`` tests)."""
    inputs = executor_input.get("inputs", {})
    names = {k for k, v in inputs.get("parameterValues", {}).items() if v is not None}
    names |= {k for k, v in inputs.get("artifacts", {}).items() if v and v.get("artifacts")}
    return names


def resolve_command(
    items: Sequence[Any],
    executor_input: dict[str, Any],
    job: JobInfo,
    where: str = "command",
    artifact_lists: frozenset[str] = frozenset(),
) -> list[str]:
    """Resolve every element of a container ``command`` or ``args`` list.

    An ``IfPresent`` element may expand to several arguments or to none. ``artifact_lists`` names the
    inputs declared as artifact lists (``Input[List[Dataset]]``): their whole-input placeholder renders
    as a JSON list of artifacts, which is what KFP's containers read.

    Raises:
        PlaceholderError: a placeholder names an input or output the component does not have.
        UnsupportedFeatureError: a placeholder kind the runner does not implement.
    """
    present = provided_inputs(executor_input)
    ctx = _Ctx(executor_input, job, present, where, artifact_lists)
    out: list[str] = []
    for item in items:
        resolved = _resolve_element(item, ctx)
        if resolved is None:
            continue
        if isinstance(resolved, list):
            out.extend(resolved)
        else:
            out.append(resolved)
    return out


@dataclass(frozen=True)
class _Ctx:
    ei: dict[str, Any]
    job: JobInfo
    present: set[str]
    where: str
    lists: frozenset[str]


def _resolve_element(item: Any, ctx: _Ctx) -> str | list[str] | None:
    if isinstance(item, dict):
        return _resolve_struct(item, ctx)
    if not isinstance(item, str):
        return render_value(item)
    stripped = item.lstrip()
    if stripped.startswith('{"Concat"') or stripped.startswith('{"IfPresent"'):
        try:
            struct = json.loads(item)
        except json.JSONDecodeError as err:
            raise PlaceholderError(f"{ctx.where}: malformed structured placeholder {item!r}: {err}") from None
        return _resolve_struct(struct, ctx)
    return resolve_string(item, ctx.ei, ctx.job, ctx.where, ctx.lists)


def _resolve_struct(struct: Any, ctx: _Ctx) -> str | list[str] | None:
    if isinstance(struct, str):
        return resolve_string(struct, ctx.ei, ctx.job, ctx.where, ctx.lists)
    if not isinstance(struct, dict) or len(struct) != 1:
        raise PlaceholderError(f"{ctx.where}: malformed structured placeholder {struct!r}")
    kind, body = next(iter(struct.items()))
    if kind == "Concat":
        parts = []
        for part in body:
            r = _resolve_struct(part, ctx)
            if isinstance(r, list):
                parts.extend(r)
            elif r is not None:
                parts.append(r)
        return "".join(parts)
    if kind == "IfPresent":
        branch = body.get("Then") if body.get("InputName") in ctx.present else body.get("Else")
        if branch is None:
            return None
        if isinstance(branch, list):
            out: list[str] = []
            for part in branch:
                r = _resolve_struct(part, ctx)
                if isinstance(r, list):
                    out.extend(r)
                elif r is not None:
                    out.append(r)
            return out
        return _resolve_struct(branch, ctx)
    raise UnsupportedFeatureError(f"structured placeholder {kind!r}", ctx.where)


def resolve_string(
    text: str,
    ei: dict[str, Any],
    job: JobInfo,
    where: str = "command",
    artifact_lists: frozenset[str] = frozenset(),
) -> str:
    """Replace every ``{{$...}}`` placeholder inside ``text``."""
    return _PLACEHOLDER.sub(lambda m: _lookup(m.group(1), ei, job, where, artifact_lists), text)


def _lookup(body: str, ei: dict[str, Any], job: JobInfo, where: str, lists: frozenset[str]) -> str:
    simple = {
        "": lambda: json.dumps(ei),
        ".pipeline_job_name": lambda: job.job_name,
        ".pipeline_job_resource_name": lambda: job.job_name,
        ".pipeline_job_uuid": lambda: job.job_uuid,
        ".pipeline_task_name": lambda: job.task_name,
        ".pipeline_task_uuid": lambda: job.task_uuid,
        ".pipeline_root": lambda: job.pipeline_root,
        ".pipeline_job_create_time_utc": lambda: job.create_time_utc,
        ".pipeline_job_schedule_time_utc": lambda: job.create_time_utc,
        ".outputs.output_file": lambda: str(ei.get("outputs", {}).get("outputFile", "")),
        ".outputMetadataUri": lambda: str(ei.get("outputs", {}).get("outputFile", "")),
    }
    if body in simple:
        return simple[body]()
    if body == ".workspace_path":
        raise UnsupportedFeatureError("dsl.WORKSPACE_PATH_PLACEHOLDER (pipeline workspaces)", where)
    m = _IO.match(body)
    if not m:
        raise UnsupportedFeatureError(f"placeholder {{{{${body}}}}}", where)
    side, kind, name, attr, key = m.groups()
    if side == "inputs" and kind == "parameters":
        values = ei.get("inputs", {}).get("parameterValues", {})
        if attr is not None:
            raise UnsupportedFeatureError(f"placeholder {{{{${body}}}}}", where)
        if name not in values:
            raise PlaceholderError(f"{where}: input parameter {name!r} has no value")
        # An optional input left unset is null in the executor input, and renders as kfp.local does.
        return "null" if values[name] is None else render_value(values[name])
    if side == "outputs" and kind == "parameters":
        spec = ei.get("outputs", {}).get("parameters", {}).get(name)
        if spec is None or attr != "output_file":
            raise PlaceholderError(f"{where}: {{{{${body}}}}} names no output parameter of the component")
        return str(spec["outputFile"])
    # Artifacts.
    group = ei.get(side, {}).get("artifacts", {}).get(name)
    if group is None:
        what = "input" if side == "inputs" else "output"
        raise PlaceholderError(f"{where}: {what} artifact {name!r} has no value ({{{{${body}}}}})")
    arts = group.get("artifacts") or []
    if attr is None:
        # A list input renders as the list of its artifacts (what KFP's containers read); a single
        # artifact as its ArtifactList message.
        return json.dumps(arts if side == "inputs" and name in lists else group)
    if len(arts) != 1:
        raise PlaceholderError(
            f"{where}: {{{{${body}}}}} needs exactly one artifact, {name!r} holds {len(arts)} "
            "(use the whole-list placeholder for artifact lists)"
        )
    art = arts[0]
    if attr in ("path", "uri"):
        return str(art["uri"])
    if attr == "metadata":
        meta = art.get("metadata") or {}
        if key is None:
            return json.dumps(meta)
        if key not in meta:
            raise PlaceholderError(f"{where}: artifact {name!r} has no metadata key {key!r}")
        return render_value(meta[key])
    raise PlaceholderError(f"{where}: {{{{${body}}}}} is not a valid artifact placeholder")
