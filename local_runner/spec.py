"""Typed, read-only views of a compiled KFP v2 pipeline spec (the IR YAML), parsed as plain dicts.

The runner never imports kfp: ``yaml.safe_load`` gives dicts, and loader.py turns the parts the runner
executes into the frozen dataclasses of this module (refusing, while loading, anything it does not
implement). ``spec.load`` and ``spec.parse`` are the way in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_runner import resources

# The IR's parameter types and their casting live in values.py; spec.X names them for readers of the IR.
from local_runner.values import (  # noqa: F401
    BOOLEAN,
    LIST,
    NUMBER_DOUBLE,
    NUMBER_INTEGER,
    PARAMETER_TYPES,
    STRING,
    STRUCT,
    TASK_FINAL_STATUS,
    cast_parameter,
)

# Trigger strategies (PipelineTaskSpec.TriggerPolicy.TriggerStrategy).
ALL_UPSTREAM_TASKS_SUCCEEDED = "ALL_UPSTREAM_TASKS_SUCCEEDED"
ALL_UPSTREAM_TASKS_COMPLETED = "ALL_UPSTREAM_TASKS_COMPLETED"


@dataclass(frozen=True)
class ParameterDef:
    """One input or output parameter of a component."""

    name: str
    type: str
    default: Any = None
    has_default: bool = False
    optional: bool = False


@dataclass(frozen=True)
class ArtifactDef:
    """One input or output artifact of a component."""

    name: str
    schema_title: str
    schema_version: str = "0.0.1"
    is_list: bool = False
    optional: bool = False


@dataclass(frozen=True)
class ParamSource:
    """Where a task input parameter comes from: exactly one of the kinds below.

    kind: ``constant`` (value), ``component_input`` (name of the parent DAG's input), ``task_output``
    (producer task and output key) or ``task_final_status`` (producer task, an ExitHandler group).
    ``selector`` is an optional ``parseJson(string_value)["key"]`` expression applied to the value.
    """

    kind: str
    value: Any = None
    name: str = ""
    producer: str = ""
    selector: str = ""


@dataclass(frozen=True)
class ArtifactSource:
    """Where a task input artifact comes from: ``component_input`` (parent DAG input) or ``task_output``."""

    kind: str
    name: str = ""
    producer: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how late a failed task is tried again (Vertex semantics)."""

    max_retries: int = 0
    backoff_seconds: float = 0.0
    backoff_factor: float = 2.0
    backoff_max_seconds: float = 3600.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        return min(self.backoff_seconds * self.backoff_factor ** (attempt - 1), self.backoff_max_seconds)


@dataclass(frozen=True)
class Iterator:
    """A ParallelFor: the items (raw JSON list or the name of a parent input) and the item input name."""

    item_input: str
    raw_items: str | None = None
    items_input: str | None = None
    parallelism: int = 0


@dataclass(frozen=True)
class Task:
    """One task of a DAG: a container/importer executor or a sub-DAG (condition, loop, exit handler)."""

    name: str
    component: str
    display_name: str
    dependent_tasks: tuple[str, ...]
    parameters: dict[str, ParamSource]
    artifacts: dict[str, ArtifactSource]
    condition: str = ""
    strategy: str = ALL_UPSTREAM_TASKS_SUCCEEDED
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    enable_cache: bool = False
    iterator: Iterator | None = None

    def upstream(self) -> set[str]:
        """Sibling tasks this task waits for: explicit dependencies plus producers of its inputs."""
        deps = set(self.dependent_tasks)
        deps.update(p.producer for p in self.parameters.values() if p.producer)
        deps.update(a.producer for a in self.artifacts.values() if a.producer)
        return deps


@dataclass(frozen=True)
class OutputSelector:
    """A DAG output: candidate (producer subtask, output key) pairs; the first one that exists wins.

    One candidate is the usual case; several come from ``dsl.OneOf``. Inside a ParallelFor the output
    collects the value of every iteration (``dsl.Collected``).
    """

    candidates: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Dag:
    """The tasks of a DAG component and how its outputs are wired to its subtasks."""

    tasks: dict[str, Task]
    parameter_outputs: dict[str, OutputSelector]
    artifact_outputs: dict[str, OutputSelector]


@dataclass(frozen=True)
class Container:
    """A container executor: image, entrypoint (``command``), ``args`` and resources."""

    image: str
    command: tuple[Any, ...]
    args: tuple[Any, ...]
    env: dict[str, str]
    resources: resources.Request = field(default_factory=resources.Request)

    @property
    def cpu_limit(self) -> float | None:
        """The constant CPU limit (None when none, or when a parameter sets it)."""
        return self.resources.constant.cpu_limit

    @property
    def memory_limit_bytes(self) -> int | None:
        """The constant memory limit in bytes (None when none, or when a parameter sets it)."""
        return self.resources.constant.memory_limit_bytes

    @property
    def accelerator_count(self) -> int:
        """The constant number of accelerators (0 when none, or when a parameter sets it)."""
        return self.resources.constant.accelerator_count


@dataclass(frozen=True)
class Importer:
    """An importer executor: makes an artifact from an existing URI."""

    uri_constant: str | None
    uri_parameter: str | None
    schema_title: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Component:
    """A component: its interface plus either an executor or a DAG."""

    name: str
    input_parameters: dict[str, ParameterDef]
    input_artifacts: dict[str, ArtifactDef]
    output_parameters: dict[str, ParameterDef]
    output_artifacts: dict[str, ArtifactDef]
    executor: Container | Importer | None = None
    dag: Dag | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """A whole compiled pipeline."""

    name: str
    root: Component
    components: dict[str, Component]
    source: str
    platform_spec: dict[str, Any] | None = None

    def containers(self) -> list[tuple[str, Container]]:
        """Every (component name, container) pair of the pipeline."""
        return [
            (name, c.executor) for name, c in self.components.items() if isinstance(c.executor, Container)
        ]


# --- reading (the parser lives in loader.py) -------------------------------------------------------


def load(path: str | Path) -> PipelineSpec:
    """Read and validate a compiled pipeline YAML (KFP IR, schemaVersion 2.x).

    Raises:
        SpecError: the file is missing, not YAML or not a compiled pipeline.
        UnsupportedFeatureError: it uses IR the runner does not execute.
    """
    from local_runner.loader import load as _load

    return _load(path)


def parse(
    doc: dict[str, Any], source: str = "<dict>", platform_spec: dict[str, Any] | None = None
) -> PipelineSpec:
    """Build a :class:`PipelineSpec` from the first YAML document of a compiled pipeline."""
    from local_runner.loader import parse as _parse

    return _parse(doc, source, platform_spec)
