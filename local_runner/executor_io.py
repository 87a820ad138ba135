"""The executor input a task is given and the outputs it leaves, in KFP's layout.

A task's folder (``<run>/tasks/<task>``) is its *task root*, as in kfp.local: output artifacts are
``<task root>/<name>`` and the executor output file is ``<task root>/executor_output.json``, so
``dsl.get_uri()`` (the folder of the executor output file) names the same place as the artifacts.
Output parameter files live in ``<task root>/parameters/<name>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local_runner import spec
from local_runner.errors import ParameterError, RunnerError, UnsupportedFeatureError

# Artifacts whose content is their metadata (``log_metric`` and friends write no file).
METADATA_ONLY_TYPES = frozenset(
    {"system.Metrics", "system.ClassificationMetrics", "system.SlicedClassificationMetrics"}
)
# Names used inside a task root besides the artifacts: an output artifact cannot take them.
RESERVED = frozenset({"parameters", "executor_input.json", "executor_output.json"})

Artifacts = dict[str, list[dict[str, Any]]]


def task_dir(run_dir: Path, task_id: str) -> Path:
    """The task root of ``task_id`` (``a/b[2]`` -> ``tasks/a/b.2``)."""
    return run_dir / "tasks" / task_id.replace("[", ".").replace("]", "")


def check_names(comp: spec.Component) -> None:
    """Refuse an output artifact whose name is one of the task root's own files.

    Raises:
        UnsupportedFeatureError: naming the artifact and the component.
    """
    clash = sorted(RESERVED & set(comp.output_artifacts))
    if clash:
        raise UnsupportedFeatureError(f"output artifact named {clash[0]!r}", f"component {comp.name}")


def executor_input(
    comp: spec.Component, values: dict[str, Any], in_arts: dict[str, Any], root: Path
) -> dict[str, Any]:
    """The executor input (the ``{{$}}`` JSON) of a task whose task root is ``root``."""
    outputs: dict[str, Any] = {
        "parameters": {
            name: {"outputFile": str(root / "parameters" / name)} for name in comp.output_parameters
        },
        "artifacts": {
            name: {
                "artifacts": [
                    {
                        "name": name,
                        "type": {"schemaTitle": ad.schema_title, "schemaVersion": ad.schema_version},
                        "uri": str(root / name),
                        "metadata": {},
                    }
                ]
            }
            for name, ad in comp.output_artifacts.items()
        },
        "outputFile": str(root / "executor_output.json"),
    }
    return {"inputs": {"parameterValues": values, "artifacts": in_arts}, "outputs": outputs}


def public(art: dict[str, Any]) -> dict[str, Any]:
    """An artifact as containers see it (the runner's own fields, like its digest, removed)."""
    return {k: art[k] for k in ("name", "type", "uri", "metadata") if k in art}


def canonical_artifacts(in_arts: dict[str, Any]) -> dict[str, Any]:
    """Input artifacts with run-specific URIs replaced by stable tokens (for the cache key)."""
    return {
        name: {"artifacts": [{**a, "uri": f"<in:{name}:{i}>"} for i, a in enumerate(group["artifacts"])]}
        for name, group in in_arts.items()
    }


def present(art: dict[str, Any]) -> bool:
    """True if an artifact's content is where its record says (remote and metadata-only ones are)."""
    if "://" in art["uri"] or art.get("type", {}).get("schemaTitle") in METADATA_ONLY_TYPES:
        return True
    return Path(art["uri"]).exists()


def artifacts_exist(arts: Artifacts) -> bool:
    """True if every local artifact of ``arts`` is still on disk."""
    return all(present(a) for group in arts.values() for a in group)


def read_executor_output(ei: dict[str, Any]) -> dict[str, Any]:
    """What the task wrote to its executor output file ({} when it wrote none).

    Raises:
        RunnerError: the file is not a JSON object.
    """
    out_file = Path(ei["outputs"]["outputFile"])
    if not out_file.is_file():
        return {}
    try:
        written = json.loads(out_file.read_text() or "{}")
    except json.JSONDecodeError as err:
        raise RunnerError(f"executor output {out_file} is not JSON: {err}") from None
    if not isinstance(written, dict):
        raise RunnerError(f"executor output {out_file} is not a JSON object")
    return written


def custom_paths(ei: dict[str, Any]) -> list[tuple[str, str]]:
    """(custom path, artifact URI) of every output artifact the task wrote elsewhere (``set_path``).

    The task reports them in its executor output; the handler copies each into the artifact's URI.
    """
    written = read_executor_output(ei)
    pairs = []
    for name, group in ei["outputs"]["artifacts"].items():
        extra = (written.get("artifacts", {}).get(name) or {}).get("artifacts") or []
        for a, w in zip(group["artifacts"], extra, strict=False):
            path = w.get("custom_path") or w.get("customPath")
            if path and str(path) != a["uri"]:
                pairs.append((str(path), a["uri"]))
    return pairs


def read_parameter(path: Path, ptype: str, name: str) -> Any:
    """An output parameter file's value, read as KFP reads it (strings raw, the rest as JSON).

    Raises:
        ParameterError: the text is not a value of the declared type.
    """
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


def collect_outputs(comp: spec.Component, ei: dict[str, Any]) -> tuple[dict[str, Any], Artifacts]:
    """Read output parameters and record output artifacts after a successful exit.

    executor_output.json, when the container wrote one, wins for parameters and artifact metadata;
    otherwise parameters come from their output files; a parameter written nowhere is left out (as
    kfp.local does). An output artifact that does not exist is an error, except a metrics artifact,
    whose content is its metadata.

    Raises:
        RunnerError: an output was not written or cannot be read.
    """
    outputs = ei["outputs"]
    written = read_executor_output(ei)
    params: dict[str, Any] = {}
    for name, d in comp.output_parameters.items():
        if name in written.get("parameterValues", {}):
            params[name] = spec.cast_parameter(written["parameterValues"][name], d.type, f"output {name}")
            continue
        path = Path(outputs["parameters"][name]["outputFile"])
        if path.is_file():
            params[name] = read_parameter(path, d.type, name)
        # else: an output parameter never written is absent, as in kfp.local; a task reading it fails,
        # naming it.
    arts: Artifacts = {}
    for name, group in outputs["artifacts"].items():
        recorded = [dict(a) for a in group["artifacts"]]
        extra = (written.get("artifacts", {}).get(name) or {}).get("artifacts") or []
        for a, w in zip(recorded, extra, strict=False):
            a["metadata"] = {**a.get("metadata", {}), **(w.get("metadata") or {})}
            if w.get("name"):  # a returned artifact keeps the name it was given (as in kfp.local)
                a["name"] = w["name"]
            if w.get("uri") and not (w.get("custom_path") or w.get("customPath")):
                a["uri"] = w["uri"]
        for a in recorded:
            if not present(a):
                raise RunnerError(
                    f"output artifact {name!r} was not written (expected a file or folder at {a['uri']})"
                )
        arts[name] = recorded
    return params, arts
