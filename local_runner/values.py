"""Parameter values: the IR's parameter types, casting a value to its declared type, and checking the
parameters given to a run against the pipeline's own signature."""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from local_runner.errors import ParameterError, UnsupportedFeatureError

if TYPE_CHECKING:
    from local_runner.spec import PipelineSpec

# Parameter types of the IR (pipeline_spec.proto ParameterType).
STRING = "STRING"
NUMBER_INTEGER = "NUMBER_INTEGER"
NUMBER_DOUBLE = "NUMBER_DOUBLE"
BOOLEAN = "BOOLEAN"
LIST = "LIST"
STRUCT = "STRUCT"
TASK_FINAL_STATUS = "TASK_FINAL_STATUS"
PARAMETER_TYPES = (STRING, NUMBER_INTEGER, NUMBER_DOUBLE, BOOLEAN, LIST, STRUCT, TASK_FINAL_STATUS)


def cast_parameter(value: Any, ptype: str, where: str) -> Any:
    """Convert ``value`` to the Python type of the IR type ``ptype``.

    KFP compiles every number as a float (``n: 3.0``), so integers are cast back here. Strings given on
    the command line (``--param n=3``) are parsed as their declared type.

    Raises:
        ParameterError: naming ``where``, the value and the expected type.
    """

    def bad(expected: str) -> ParameterError:
        return ParameterError(f"{where}: got {value!r} ({type(value).__name__}) -> expected {expected}")

    if value is None:
        return None
    if ptype == STRING:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)
    if ptype == NUMBER_INTEGER:
        if isinstance(value, bool):
            raise bad("an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if math.isfinite(value) and value.is_integer():
                return int(value)
            raise bad("an integer")
        if isinstance(value, str):
            try:
                f = float(value.strip())
            except ValueError:
                raise bad("an integer") from None
            if math.isfinite(f) and f.is_integer():
                return int(f)
        raise bad("an integer")
    if ptype == NUMBER_DOUBLE:
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise bad("a number") from None
        raise bad("a number")
    if ptype == BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise bad("true or false")
    if ptype in (LIST, STRUCT):
        want: type = list if ptype == LIST else dict
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise bad(f"a JSON {'list' if ptype == LIST else 'object'}") from None
        if not isinstance(value, want):
            raise bad(f"a {'list' if ptype == LIST else 'mapping'}")
        return value
    return value


def resolve_parameters(pipeline: PipelineSpec, given: dict[str, Any]) -> dict[str, Any]:
    """Validate pipeline parameters against the root's input definitions and cast them to their types.

    Raises:
        ParameterError: an unknown name, a missing required parameter, or a value of the wrong type.
        UnsupportedFeatureError: the pipeline needs an input artifact.
    """
    defs = pipeline.root.input_parameters
    required = sorted(n for n, a in pipeline.root.input_artifacts.items() if not a.optional)
    if required:  # an optional one is left unset, as kfp.local leaves it
        raise UnsupportedFeatureError(
            f"pipeline input artifact(s) {', '.join(required)} (no way to give an artifact locally)", "root"
        )
    statuses = sorted(n for n, d in defs.items() if d.type == TASK_FINAL_STATUS)
    if statuses:  # only an exit task is given a final status, by the DAG that runs it
        raise UnsupportedFeatureError(
            f"pipeline input {statuses[0]} of type PipelineTaskFinalStatus (a component reading a final "
            "status runs as an ExitHandler's exit task)",
            "root",
        )
    unknown = sorted(set(given) - set(defs))
    if unknown:
        known = ", ".join(f"{k} ({d.type})" for k, d in sorted(defs.items())) or "none"
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; the pipeline takes: {known}")
    out: dict[str, Any] = {}
    missing = []
    for name, d in defs.items():
        if name in given:
            out[name] = cast_parameter(given[name], d.type, f"parameter {name}")
        elif d.has_default:
            out[name] = cast_parameter(d.default, d.type, f"default of parameter {name}")
        elif not d.optional:
            missing.append(f"{name} ({d.type})")
    if missing:
        raise ParameterError(f"missing required parameter(s): {', '.join(missing)}; pass --param NAME=VALUE")
    return out


def select(value: Any, selector: str) -> Any:
    """Apply ``parseJson(string_value)["key"]`` (a ParallelFor item's sub-variable).

    Raises:
        ParameterError: the value is not a JSON object holding ``key``.
    """
    m = re.fullmatch(r'parseJson\(string_value\)\["([^"]+)"\]', selector)
    assert m is not None  # the loader accepts no other selector
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ParameterError(f"cannot select [{m.group(1)!r}] from {value!r}: not JSON") from None
    if not isinstance(value, dict) or m.group(1) not in value:
        raise ParameterError(f"cannot select [{m.group(1)!r}] from {value!r}")
    return value[m.group(1)]
