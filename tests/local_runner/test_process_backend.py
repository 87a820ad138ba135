"""The process backend runs the same resolved command lines on the host, with the same contract."""

from __future__ import annotations

import json
from pathlib import Path

from local_runner.handlers import Status
from local_runner.orchestrator import run_file


def test_features_pipeline_with_processes(compiled: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(compiled["features"], {"n": 2}, root=tmp_path, backend="process", max_parallel=4)

    tasks = {t.id: t for t in result.tasks}
    assert result.status == Status.SUCCEEDED
    assert tasks["echo-value"].status == Status.SKIPPED
    assert tasks["echo-value-2"].status == Status.SUCCEEDED  # Elif: count == 2
    assert tasks["echo-value-3"].status == Status.SKIPPED
    assert (result.run_dir / "tasks" / "echo-value-2" / "parameters" / "out").read_text() == "two"
    assert (result.run_dir / "tasks" / "total" / "parameters" / "out").read_text() == "14"
    assert tasks["summarize"].artifacts["report"][0]["metadata"] == {"lines": 2}
    assert json.loads((result.run_dir / "run.json").read_text())["backend"] == "process"


def test_failure_resume_and_no_cache_with_processes(compiled: dict[str, Path], tmp_path: Path) -> None:
    failed = run_file(compiled["failing"], {"fail": True}, root=tmp_path, backend="process")
    assert failed.status == Status.FAILED
    assert {t.id: t.status for t in failed.tasks}["echo-value-3"] == Status.NOT_RUN

    resumed = run_file(
        compiled["failing"], {"fail": False}, root=tmp_path, backend="process", resume=failed.run_id
    )
    assert resumed.status == Status.SUCCEEDED
    assert {t.id: t.cached for t in resumed.tasks} == {
        "echo-value": "resumed",
        "echo-value-2": "resumed",
        "fail-if": "no",
        "echo-value-3": "no",
    }

    fresh = run_file(compiled["failing"], {"fail": False}, root=tmp_path, backend="process", use_cache=False)
    assert fresh.status == Status.SUCCEEDED and all(t.cached == "no" for t in fresh.tasks)


def test_killed_process_is_a_failure(compiled: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(compiled["killed"], {}, root=tmp_path, backend="process")

    tasks = {t.id: t for t in result.tasks}
    assert tasks["kill-self"].status == Status.FAILED and "SIGKILL" in tasks["kill-self"].message
    assert tasks["forget-output"].status == Status.FAILED
    assert result.status == Status.FAILED
