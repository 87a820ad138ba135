"""Configuration plumbing shared by every command: strict pydantic models loaded from YAML.

Every command has exactly one config model deriving from :class:`StrictModel`. Unknown keys are
rejected, and validation errors are reported as ``field: value -> expected`` lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from campaignlab.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for config models: unknown keys are an error, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def format_validation_error(err: ValidationError, source: str = "config") -> str:
    """Render a pydantic error as one line per problem: field, offending value and what was expected."""
    lines = [f"invalid {source}:"]
    for e in err.errors():
        field = ".".join(str(p) for p in e.get("loc", ())) or "<root>"
        value = e.get("input")
        msg = e.get("msg", "invalid")
        if e.get("type") == "extra_forbidden":
            msg = "unknown key (not a field of this config)"
        if e.get("type") == "missing":  # the input is the whole mapping: never echo it (tokens)
            lines.append(f"  {field}: got nothing -> required (a flag or a key of the config file)")
            continue
        if not e.get("loc") and e.get("type") == "value_error":
            # a whole-config check names its own field and value ("field: got X -> expected")
            lines.append(f"  {msg.removeprefix('Value error, ')}")
            continue
        lines.append(f"  {field}: got {value!r} -> {msg}")
    return "\n".join(lines)


def validate(model: type[M], data: dict[str, Any], source: str = "config") -> M:
    """Validate ``data`` against ``model``, raising :class:`ConfigError` with a readable message."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; an empty file is an empty mapping."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {str(p)!r} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(p)!r} must hold a mapping, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` into a copy of ``base`` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(model: type[M], path: str | Path | None = None, /, **overrides: Any) -> M:
    """Load ``model`` from an optional YAML file, then apply non-None keyword overrides (CLI flags)."""
    data: dict[str, Any] = read_yaml(path) if path else {}
    data = deep_merge(data, {k: v for k, v in overrides.items() if v is not None})
    return validate(model, data, source=str(path) if path else "options")
