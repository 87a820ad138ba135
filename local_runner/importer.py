"""``dsl.importer``: turn an existing URI into an artifact, as kfp.local does (nothing is copied).

A local path is recorded as an absolute path when it exists; one that does not exist is recorded as
given, as kfp.local records it: the task that reads it is the one that fails, naming the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local_runner import placeholders, spec
from local_runner.errors import PlaceholderError, RunnerError, UnsupportedFeatureError


def import_artifact(
    imp: spec.Importer, ei: dict[str, Any], job: placeholders.JobInfo, where: str
) -> dict[str, list[dict[str, Any]]]:
    """The importer's one output, ``{"artifact": [artifact]}``.

    ``ei`` is the importer task's executor input (its input values resolve the URI parameter and the
    placeholders in the metadata).

    Raises:
        RunnerError: no URI, or a metadata placeholder that cannot be resolved.
    """
    values = ei["inputs"]["parameterValues"]
    uri = imp.uri_constant if imp.uri_constant is not None else values.get(imp.uri_parameter or "uri")
    if not uri:
        raise RunnerError(f"{where}: importer has no artifact URI")
    uri = str(uri)
    if "://" not in uri and Path(uri).exists():
        uri = str(Path(uri).resolve())
    try:
        metadata = resolve_json(imp.metadata, ei, job, f"{where} metadata")
    except (PlaceholderError, UnsupportedFeatureError) as err:
        raise RunnerError(str(err)) from None
    art = {"name": "artifact", "type": {"schemaTitle": imp.schema_title}, "uri": uri, "metadata": metadata}
    return {"artifact": [art]}


def resolve_json(obj: Any, ei: dict[str, Any], job: placeholders.JobInfo, where: str) -> Any:
    """``obj`` with the placeholders in every string (keys included) resolved."""
    if isinstance(obj, dict):
        return {resolve_json(k, ei, job, where): resolve_json(v, ei, job, where) for k, v in obj.items()}
    if isinstance(obj, list):
        return [resolve_json(v, ei, job, where) for v in obj]
    if isinstance(obj, str) and "{{$" in obj:
        return placeholders.resolve_string(obj, ei, job, where)
    return obj
