"""The run record: what a run was asked, what each task did, and ``run.json`` that keeps both.

``run.json`` is rewritten whenever a task ends, so a run stopped at any point (a crash, Ctrl-C) leaves
a record that ``--resume`` can continue from: the tasks that succeeded are reused, the rest run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from campaignlab.io import write_json
from local_runner.errors import ResumeError
from local_runner.handlers import Status


@dataclass
class RunOptions:
    """What ``run-local`` was asked to do (already validated by the CLI)."""

    root: Path
    max_parallel: int = 4
    use_cache: bool = True
    resume: str | None = None
    run_id: str | None = None
    live: bool = True


@dataclass
class TaskResult:
    """The outcome of one task (a container, an importer or, internally, a DAG group)."""

    id: str
    status: Status
    seconds: float = 0.0
    cached: str = "no"  # "yes" (execution cache), "resumed" (--resume) or "no"
    retries: int = 0
    exit_code: int | None = None
    message: str = ""
    log: str = ""
    image: str = ""
    command: list[str] = field(default_factory=list)
    key: str = ""
    resume_key: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    leaf: bool = True

    def record(self) -> dict[str, Any]:
        """The task's entry in ``run.json``."""
        d = asdict(self)
        d["status"] = self.status.value
        d.pop("leaf")
        return d


@dataclass
class RunResult:
    """What a finished (or stopped) run returns to the CLI."""

    run_id: str
    run_dir: Path
    status: Status
    seconds: float
    tasks: list[TaskResult]
    outputs: dict[str, Any]


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_run_id(pipeline: str) -> str:
    """``<pipeline>-YYYYmmdd-HHMMSS-xxxx``: sortable and unique."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{pipeline}-{stamp}-{uuid.uuid4().hex[:4]}"


def previous_parameters(root: Path, pipeline: str, run_id: str) -> dict[str, Any]:
    """Parameters recorded by an earlier run ({} if it has no record; the orchestrator reports that)."""
    path = root / pipeline / run_id / "run.json"
    try:
        return dict(json.loads(path.read_text()).get("parameters") or {})
    except (OSError, json.JSONDecodeError):
        return {}


@dataclass
class Previous:
    """What a resumed run takes from the run it continues."""

    tasks: dict[str, dict[str, Any]]  # task id -> record, succeeded tasks only
    attempt: int


def load_previous(root: Path, pipeline: str, run_id: str) -> Previous:
    """Read the record of the run given to ``--resume``.

    Raises:
        ResumeError: there is no such run, or it is a run of another pipeline.
    """
    record_path = root / pipeline / run_id / "run.json"
    if not record_path.is_file():
        runs = root / pipeline
        have = sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
        raise ResumeError(
            f"--resume {run_id}: no run record at {record_path}; runs of pipeline "
            f"{pipeline!r} under {runs}: {', '.join(have[-5:]) or 'none'}"
        )
    record = json.loads(record_path.read_text())
    if record.get("pipeline") != pipeline:
        raise ResumeError(
            f"--resume {run_id}: that run is of pipeline {record.get('pipeline')!r}, not {pipeline!r}"
        )
    tasks = {
        tid: t for tid, t in record.get("tasks", {}).items() if t.get("status") == Status.SUCCEEDED.value
    }
    return Previous(tasks=tasks, attempt=int(record.get("attempt", 1)) + 1)


class RunRecord:
    """Collects task results as they end and keeps ``<run_dir>/run.json`` up to date (thread-safe)."""

    def __init__(self, run_dir: Path, header: dict[str, Any], source: Path) -> None:
        self.path = run_dir / "run.json"
        self.header = {
            **header,
            "source": str(source.resolve()),
            "pipeline_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "started": now(),
        }
        self._lock = threading.Lock()
        self.results: dict[str, TaskResult] = {}

    def add(self, result: TaskResult) -> None:
        """Keep ``result`` (a leaf task's or a group's); a leaf task rewrites the file."""
        with self._lock:
            self.results[result.id] = result
        if result.leaf:
            self.write(Status.NOT_RUN, "running", 0.0, {})

    def leaves(self) -> list[TaskResult]:
        """Results of the container and importer tasks, in the order they ended."""
        with self._lock:
            return [r for r in self.results.values() if r.leaf]

    def write(self, status: Status, label: str, seconds: float, outputs: dict[str, Any]) -> None:
        """Rewrite ``run.json`` (``label`` is the status shown: ``running`` while the run goes)."""
        with self._lock:
            tasks = {tid: r.record() for tid, r in self.results.items() if r.leaf}
            record = {
                **self.header,
                "status": label,
                "ended": now() if label != "running" else None,
                "seconds": round(seconds, 3),
                "outputs": outputs,
                "tasks": tasks,
            }
            write_json(self.path, record)
