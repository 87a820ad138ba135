"""Run parameters: a pydantic model derived from a pipeline's signature (or its compiled spec).

Like vertex-pipelines-deployer, a config file's keys and ``--param k=v`` overrides are checked before
anything is compiled or submitted: an unknown key, a missing required parameter or a wrong type fails
with a message naming the parameter, the value and what was expected.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, StrictBool, StrictStr, create_model

from campaignlab.config import StrictModel, read_yaml, validate
from campaignlab.errors import ConfigError
from pipelines import resources

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

# Compiled-spec parameter types -> Python types (what the Vertex API accepts for each).
_SPEC_TYPES: dict[str, Any] = {
    "STRING": StrictStr,
    "NUMBER_INTEGER": int,
    "NUMBER_DOUBLE": float,
    "BOOLEAN": StrictBool,
    "LIST": list,
    "STRUCT": dict,
}


class _Params(StrictModel):
    # Strings stay strings ("5" is not silently an int) but ints are accepted where floats are.
    model_config = ConfigDict(extra="forbid", strict=False)


def _python_type(annotation: Any) -> Any:
    if annotation is str:
        return StrictStr
    if annotation is bool:
        return StrictBool
    origin = typing.get_origin(annotation)
    if origin in (list, typing.List):  # noqa: UP006
        args = typing.get_args(annotation)
        return list.__class_getitem__(_python_type(args[0])) if args else list
    return annotation


def model_from_signature(name: str, func: Any, *, require: bool = False) -> type[StrictModel]:
    """A strict pydantic model with one field per pipeline parameter.

    With ``require``, a parameter without default must be given; compiling does not require it (it
    stays a required run parameter of the compiled pipeline, checked at submit time).
    """
    fields: dict[str, Any] = {}
    for p in inspect.signature(func).parameters.values():
        default = (... if require else None) if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (resources.field_type(p.name, _python_type(p.annotation)), default)
    return create_model(f"{name}_params", __base__=_Params, **fields)


def model_from_spec(spec: dict[str, Any], name: str = "pipeline") -> type[StrictModel]:
    """The same model from a compiled pipeline's ``root.inputDefinitions`` (for ``submit FILE``)."""
    params = (spec.get("root", {}).get("inputDefinitions", {}) or {}).get("parameters", {}) or {}
    fields: dict[str, Any] = {}
    for pname, p in params.items():
        py = resources.field_type(pname, _SPEC_TYPES.get(p.get("parameterType", ""), Any))
        optional = p.get("isOptional", False) or "defaultValue" in p
        fields[pname] = (py, None if optional else ...)
    return create_model(f"{name}_params", __base__=_Params, **fields)


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["scale=0.1", "presets=[v25, v28]"]`` -> ``{"scale": 0.1, "presets": ["v25", "v28"]}``.

    Values are read as YAML, so numbers, booleans and lists get their types.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param: got {pair!r} -> expected NAME=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def load_run_parameters(
    model: type[StrictModel], config: str | Path | None, overrides: list[str], source: str
) -> dict[str, Any]:
    """Config file values, then ``--param`` overrides, validated; returns only the keys given."""
    data: dict[str, Any] = read_yaml(config) if config else {}
    data.update(parse_overrides(overrides))
    checked = validate(model, data, source=source)
    # Only what the user set is sent: the spec's defaults stay the single source of the rest.
    given = {k: v for k, v in checked.model_dump().items() if k in data}
    resources.check(given)
    return given


def default_config(name: str) -> Path | None:
    """``pipelines/configs/NAME.yaml`` if it exists."""
    path = CONFIG_DIR / f"{name}.yaml"
    return path if path.is_file() else None


def run_defaults(name: str) -> dict[str, Any]:
    """The default run parameters of pipeline ``name``: ``pipelines/configs/NAME.yaml``.

    The pipeline's signature takes its defaults from here (the one place they are written), so the
    Python DSL, a plain ``kfp`` compile and ``campaignlab pipeline compile`` agree.
    """
    path = default_config(name)
    if path is None:
        raise ConfigError(f"pipeline {name!r} has no run config {str(CONFIG_DIR / (name + '.yaml'))!r}")
    return read_yaml(path)
