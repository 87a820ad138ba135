"""Per-step resources: CPU, memory and accelerators as pipeline parameters, applied with KFP's task methods.

Vertex AI Pipelines picks each task's machine from its limits (``set_cpu_limit``, ``set_memory_limit``)
and attaches ``accelerator_count`` GPUs of ``accelerator_type`` (``set_accelerator_type``,
``set_accelerator_limit``); the local runner applies the same fields as Docker limits. The values are
pipeline parameters (``train_cpu``, ``train_memory``, ``train_accelerator_type``, ...), so a run asks for
a bigger machine or a GPU with ``--param`` and no recompiling. The defaults below fit each step on the
report's full-size data (docs/pipelines.md lists the machines they select and the GPUs to ask for).

An empty accelerator type with a count of 0 (the defaults) means no accelerator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictStr

from campaignlab.errors import ConfigError


@dataclass(frozen=True)
class StepResources:
    """Default limits of one step; ``gpu`` steps also get accelerator parameters."""

    cpu: str
    memory: str
    gpu: bool = False


STEPS: dict[str, StepResources] = {
    # graph sampling, one process: 2 vCPU, 8 GB hold the full v28 preset (≈120K samples)
    "generate": StepResources(cpu="2", memory="8G"),
    # MiniLM over ≈340K texts at full size: CPU-bound, or one small GPU
    "embed": StepResources(cpu="8", memory="32G", gpu=True),
    # LightGBM uses every core; the torch trainers every core or one GPU
    "train": StepResources(cpu="8", memory="32G", gpu=True),
    # scoring the test split and the report's plots
    "evaluate": StepResources(cpu="4", memory="16G"),
    # batch prediction: re-embed new campaigns (MiniLM), score, and the per-modality attributions
    "predict": StepResources(cpu="4", memory="16G"),
    # Flower simulation: one Ray worker per client (cpus_per_client each) plus the server and baseline
    "federate": StepResources(cpu="8", memory="32G", gpu=True),
}

ACCELERATOR_TYPES = (
    "NVIDIA_TESLA_T4",
    "NVIDIA_L4",
    "NVIDIA_TESLA_V100",
    "NVIDIA_TESLA_P100",
    "NVIDIA_TESLA_P4",
    "NVIDIA_TESLA_A100",
    "NVIDIA_A100_80GB",
    "NVIDIA_H100_80GB",
)
"""Vertex AI's GPU names (the machine type must offer the GPU in the run's region)."""

_CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")  # kfp's own check of a CPU limit
_MEMORY = re.compile(r"^\d+(\.\d+)?(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?$")  # and of a memory limit


def _number_as_text(value: Any) -> Any:
    # `--param train_cpu=16` reads 16 as a number; a CPU or memory limit is text to KFP and Vertex.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return value


LimitText = Annotated[StrictStr, BeforeValidator(_number_as_text)]
"""The run-parameter type of ``*_cpu`` and ``*_memory`` (numbers given on the command line become text)."""


def field_type(name: str, default: Any) -> Any:
    """The validation type of run parameter ``name``: :data:`LimitText` for CPU and memory limits."""
    return LimitText if name.endswith(("_cpu", "_memory")) else default


def parameter_names(step: str) -> list[str]:
    """The pipeline parameters of ``step``'s resources, e.g. ``train_cpu``, ``train_memory``, ..."""
    names = [f"{step}_cpu", f"{step}_memory"]
    if STEPS[step].gpu:
        names += [f"{step}_accelerator_type", f"{step}_accelerator_count"]
    return names


def defaults(*steps: str) -> dict[str, Any]:
    """Default values of the resource parameters of ``steps`` (name -> value)."""
    out: dict[str, Any] = {}
    for step in steps:
        res = STEPS[step]
        out[f"{step}_cpu"] = res.cpu
        out[f"{step}_memory"] = res.memory
        if res.gpu:
            out[f"{step}_accelerator_type"] = ""
            out[f"{step}_accelerator_count"] = 0
    return out


def limit(
    task: Any, cpu: Any, memory: Any, accelerator_type: Any = None, accelerator_count: Any = None
) -> Any:
    """Apply CPU and memory limits (and an accelerator) to a pipeline task; return the task.

    Args:
        task: a ``PipelineTask``.
        cpu: CPU limit, e.g. ``"8"`` or a pipeline parameter.
        memory: memory limit, e.g. ``"32G"`` or a pipeline parameter.
        accelerator_type: a Vertex GPU name (``NVIDIA_TESLA_T4``) or ``""`` for none, or a parameter.
        accelerator_count: how many of them (0 for none), or a parameter.
    """
    task.set_cpu_limit(cpu).set_memory_limit(memory)
    if accelerator_type is not None:
        task.set_accelerator_type(accelerator_type).set_accelerator_limit(accelerator_count)
    # kfp (2.17) does not count a pipeline parameter used only in a resource limit among the task's
    # inputs, so a task inside a dsl.If/Else group would get no value for it (the group does not pass
    # it down): register it as an input of the task, which the compiler then wires through every group.
    from kfp.dsl import pipeline_channel

    for value in (cpu, memory, accelerator_type, accelerator_count):
        # by identity: a channel's == builds a dsl.If condition, so `in` would always be true
        known = any(value is c for c in task.channel_inputs)
        if isinstance(value, pipeline_channel.PipelineChannel) and not known:
            task.channel_inputs.append(value)
    return task


def check(params: dict[str, Any]) -> None:
    """Check the resource parameters among ``params`` (those a user gave) before anything is compiled or
    submitted; parameters not given keep their (valid) defaults.

    Raises:
        ConfigError: naming the parameter, the value and what was expected.
    """
    problems = []
    for name, value in params.items():
        if name.endswith("_cpu") and not _CPU.match(str(value)):
            problems.append(f"{name}: got {value!r} -> expected a CPU count such as '4' or '500m'")
        elif name.endswith("_memory") and not _MEMORY.match(str(value)):
            problems.append(f"{name}: got {value!r} -> expected a memory size such as '16G' or '512Mi'")
        elif name.endswith("_accelerator_type") and value not in ("", *ACCELERATOR_TYPES):
            problems.append(
                f"{name}: got {value!r} -> expected '' (no GPU) or one of {', '.join(ACCELERATOR_TYPES)}"
            )
        elif name.endswith("_accelerator_count") and (not isinstance(value, int) or value < 0):
            problems.append(f"{name}: got {value!r} -> expected a whole number of GPUs (0 = none)")
    # Type and count go together (the defaults: '' and 0): a type without a count, or a count without a
    # type, would silently run without the GPU asked for.
    gpu_steps = {n.rsplit("_accelerator_", 1)[0] for n in params if "_accelerator_" in n}
    for step in sorted(gpu_steps):
        kind = params.get(f"{step}_accelerator_type", "")
        count = params.get(f"{step}_accelerator_count", 0)
        if isinstance(count, int) and kind in ("", *ACCELERATOR_TYPES) and (kind == "") != (count == 0):
            problems.append(
                f"{step}_accelerator_type, {step}_accelerator_count: got {kind!r} and {count} -> expected "
                "both set (e.g. NVIDIA_TESLA_T4 and 1) or neither ('' and 0)"
            )
    if problems:
        raise ConfigError("; ".join(problems))
