"""Per-task resource requests (CPU and memory limits, accelerators) as compiled, and their values.

kfp compiles ``.set_cpu_limit("2")`` to ``resourceCpuLimit: "2"`` and ``.set_cpu_limit(param)`` to
``resourceCpuLimit: "{{$.inputs.parameters['pipelinechannel--param']}}"``, an input of the task. A
constant is checked while loading; a placeholder is resolved against the task's input values when the
task starts (:func:`limits`), so a pipeline parameter can pick the machine, as on Vertex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from local_runner.errors import ParameterError, SpecError, UnsupportedFeatureError

_PARAM_ONLY = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
_MEM_UNITS = {
    "": 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
FIELDS = ("cpu_limit", "memory_limit", "accelerator_type", "accelerator_count")


@dataclass(frozen=True)
class Limits:
    """Resolved limits of one task: what the handler applies."""

    cpu_limit: float | None = None
    memory_limit_bytes: int | None = None
    accelerator_type: str = ""
    accelerator_count: int = 0


@dataclass(frozen=True)
class Request:
    """Resource requests of one executor: constants parsed, placeholders kept as text."""

    constant: Limits = field(default_factory=Limits)
    dynamic: dict[str, str] = field(default_factory=dict)  # field name -> text with placeholders


def parse(res: dict[str, Any], where: str) -> Request:
    """Read ``container.resources`` of the IR (new and older field names).

    Raises:
        SpecError: a constant that is not a CPU count, a memory size or an accelerator count.
        UnsupportedFeatureError: a placeholder other than ``{{$.inputs.parameters[...]}}``.
    """
    acc = res.get("accelerator") or {}
    raw: dict[str, Any] = {
        "cpu_limit": res.get("resourceCpuLimit", res.get("cpuLimit")),
        "memory_limit": res.get("resourceMemoryLimit"),
        "accelerator_type": acc.get("resourceType") or acc.get("type"),
        "accelerator_count": acc.get("resourceCount") or acc.get("count"),
    }
    if raw["memory_limit"] in (None, "") and res.get("memoryLimit"):
        # Older compilers only write memoryLimit, a float number of GB.
        raw["memory_limit"] = f"{float(res['memoryLimit']) * 1e9:.0f}"
    dynamic: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, str) and "{{$" in value:
            rest = _PARAM_ONLY.sub("", value)
            if "{{$" in rest:
                raise UnsupportedFeatureError(f"placeholder in resource {name} ({value!r})", where)
            dynamic[name] = value
    constant = _values({k: v for k, v in raw.items() if k not in dynamic}, where)
    return Request(constant=constant, dynamic=dynamic)


def parameters_used(request: Request) -> set[str]:
    """Names of the task inputs that the request's placeholders read."""
    return {name for text in request.dynamic.values() for name in _PARAM_ONLY.findall(text)}


def limits(request: Request, resolve: Any, where: str) -> Limits:
    """The request's limits, with placeholders resolved by ``resolve(text) -> str``.

    Raises:
        ParameterError: a resolved value that is not a CPU count, memory size or accelerator count.
    """
    if not request.dynamic:
        return request.constant
    c = request.constant
    raw: dict[str, Any] = {
        "cpu_limit": c.cpu_limit,
        "memory_limit": c.memory_limit_bytes,
        "accelerator_type": c.accelerator_type,
        "accelerator_count": c.accelerator_count if c.accelerator_type else None,
    }
    for name, text in request.dynamic.items():
        raw[name] = resolve(text)
    try:
        return _values(raw, where)
    except SpecError as err:
        raise ParameterError(f"{err} (from a pipeline parameter)") from None


def _values(raw: dict[str, Any], where: str) -> Limits:
    acc_type = str(raw.get("accelerator_type") or "")
    count_text = raw.get("accelerator_count")
    if count_text in (None, ""):
        acc_count = 1 if acc_type else 0
    else:
        try:
            f = float(str(count_text).strip())
        except ValueError:
            raise SpecError(f"{where}: accelerator count {count_text!r} is not a whole number") from None
        if not f.is_integer() or f < 0:
            raise SpecError(f"{where}: accelerator count {count_text!r} is not a whole number")
        acc_count = int(f)
    if acc_count and not acc_type:
        acc_type = "GPU"
    return Limits(
        cpu_limit=_cpu(raw.get("cpu_limit"), where),
        memory_limit_bytes=_memory(raw.get("memory_limit"), where),
        accelerator_type=acc_type if acc_count else "",
        accelerator_count=acc_count,
    )


def _cpu(value: Any, where: str) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if value > 0 else None
    text = str(value).strip()
    try:
        cpus = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise SpecError(f"{where}: cpu limit {text!r} is not a number of CPUs (like 2 or 500m)") from None
    return cpus if cpus > 0 else None


def _memory(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]i?|)\s*", str(value))
    if not m:
        raise SpecError(f"{where}: memory limit {value!r} is not like 512M or 2Gi")
    return int(float(m.group(1)) * _MEM_UNITS[m.group(2)])
