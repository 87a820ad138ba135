"""End-to-end runs of compiled test pipelines with the real Docker engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from local_runner.handlers import Status
from local_runner.orchestrator import RunResult, run_file
from tests.conftest import REPO

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_engine")]


def by_id(result: RunResult) -> dict[str, object]:
    return {t.id: t for t in result.tasks}


def param_file(result: RunResult, task: str, name: str) -> str:
    return (result.run_dir / "tasks" / task / "parameters" / name).read_text()


def stamps(result: RunResult, task_dir: str) -> tuple[float, float]:
    *_, start, end = param_file(result, task_dir, "out").split()
    return float(start), float(end)


def test_features_pipeline(compiled: dict[str, Path], tmp_path: Path) -> None:
    """Parameters, artifacts, Concat/IfPresent, If/Elif/Else, ParallelFor + Collected, ExitHandler."""
    result = run_file(compiled["features"], {"n": "3"}, root=tmp_path, max_parallel=4)

    tasks = by_id(result)
    assert result.status == Status.SUCCEEDED
    assert {t: r.status for t, r in tasks.items()} == {
        "make-data": Status.SUCCEEDED,
        "make-data-2": Status.SUCCEEDED,
        "summarize": Status.SUCCEEDED,
        "echo-value": Status.SUCCEEDED,  # If: count 3 > 2
        "echo-value-2": Status.SKIPPED,  # Elif
        "echo-value-3": Status.SKIPPED,  # Else
        "square[0]": Status.SUCCEEDED,
        "square[1]": Status.SUCCEEDED,
        "square[2]": Status.SUCCEEDED,
        "total": Status.SUCCEEDED,
        "note": Status.SUCCEEDED,  # the ExitHandler's exit task
    }
    assert tasks["make-data"].parameters == {"count": 3}  # NUMBER_INTEGER read back as int
    assert param_file(result, "echo-value", "out") == "big"
    # Collected: 1 + 4 + 9 from three iterations; total checks the collected artifacts too.
    assert param_file(result, "total", "out") == "14"
    data = Path(tasks["make-data"].artifacts["data"][0]["uri"])
    assert data.read_text() == "hi\nhi\nhi\n"
    # The container wrote executor_output.json: its artifact metadata is honoured.
    report = tasks["summarize"].artifacts["report"][0]
    assert report["metadata"]["lines"] == 3
    assert json.loads(Path(report["uri"]).read_text()) == {"lines": 3, "scale": 0.5, "flag": "true"}
    # IfPresent: tag given -> Then branch; default '' filled in -> also present (as on Vertex).
    assert "args: --tag v1" in (result.run_dir / "logs" / "make-data-2.log").read_text()
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["status"] == "succeeded"
    assert record["parameters"]["n"] == 3
    assert set(record["tasks"]) == set(tasks)
    for task_id, r in tasks.items():
        if r.status == Status.SUCCEEDED:
            assert Path(r.log).is_file(), task_id


def test_importer_nested_pipeline_oneof_and_final_status(compiled: dict[str, Path], tmp_path: Path) -> None:
    source = tmp_path / "input.txt"
    source.write_text("hello\n")

    result = run_file(compiled["extras"], {"uri": str(source)}, root=tmp_path / "runs", max_parallel=4)

    tasks = by_id(result)
    assert result.status == Status.SUCCEEDED
    assert tasks["importer"].artifacts["artifact"][0]["uri"] == str(source)
    assert tasks["read-file"].parameters == {"out": "hello\n"}  # read through the mount of the import
    assert tasks["lr-inner/echo-value"].parameters == {"out": "true"}
    assert tasks["echo-value-2"].status == Status.SKIPPED
    assert tasks["echo-value-3"].parameters == {"out": "took yes"}  # dsl.OneOf picked the branch that ran
    status_arg = json.loads(tasks["report-status"].command[1])
    assert status_arg["state"] == "SUCCEEDED" and status_arg["pipelineTaskName"] == "exit-handler-1"


def test_failed_task_stops_downstream_and_resume_reuses_finished(
    compiled: dict[str, Path], tmp_path: Path
) -> None:
    failed = run_file(compiled["failing"], {}, root=tmp_path, max_parallel=4)

    tasks = by_id(failed)
    assert failed.status == Status.FAILED
    assert tasks["fail-if"].status == Status.FAILED and tasks["fail-if"].exit_code == 3
    assert "failing" in Path(tasks["fail-if"].log).read_text()
    assert tasks["echo-value-3"].status == Status.NOT_RUN  # downstream of the failure
    assert not (failed.run_dir / "tasks" / "echo-value-3").exists()
    assert tasks["echo-value"].status == tasks["echo-value-2"].status == Status.SUCCEEDED

    resumed = run_file(
        compiled["failing"], {"fail": "false"}, root=tmp_path, resume=failed.run_id, max_parallel=4
    )

    tasks = by_id(resumed)
    assert resumed.status == Status.SUCCEEDED and resumed.run_dir == failed.run_dir
    # Both finished tasks are reused (even echo-value-2, whose caching is off); the rest runs.
    assert tasks["echo-value"].cached == tasks["echo-value-2"].cached == "resumed"
    assert tasks["fail-if"].cached == tasks["echo-value-3"].cached == "no"
    assert param_file(resumed, "echo-value-3", "out") == "last"
    record = json.loads((resumed.run_dir / "run.json").read_text())
    assert record["attempt"] == 2 and record["parameters"]["fail"] is False


def test_independent_tasks_overlap(compiled: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(compiled["sleepers"], {"seconds": 2}, root=tmp_path, max_parallel=2)

    assert result.status == Status.SUCCEEDED
    (a0, a1), (b0, b1) = stamps(result, "sleep-stamp"), stamps(result, "sleep-stamp-2")
    assert max(a0, b0) < min(a1, b1), "the two sleeping tasks did not run at the same time"
    assert result.seconds < 2 * 2 + 1.5


def test_parallelism_limit_of_parallel_for(compiled: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(compiled["limited"], {"seconds": 1.5}, root=tmp_path, max_parallel=8)

    assert result.status == Status.SUCCEEDED
    spans = [stamps(result, f"sleep-item.{i}") for i in range(3)]
    peak = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert peak == 2


def test_cached_rerun_runs_nothing(compiled: dict[str, Path], tmp_path: Path) -> None:
    first = run_file(compiled["fanout"], {"seconds": 0.2}, root=tmp_path, max_parallel=4)
    assert first.status == Status.SUCCEEDED and all(t.cached == "no" for t in first.tasks)

    t0 = time.monotonic()
    again = run_file(compiled["fanout"], {"seconds": 0.2}, root=tmp_path, max_parallel=4)
    elapsed = time.monotonic() - t0

    assert again.status == Status.SUCCEEDED
    assert [t.cached for t in again.tasks] == ["yes"] * 4
    assert list((again.run_dir / "logs").iterdir()) == []  # no task started
    assert elapsed < 3
    # The outputs are the first run's.
    assert again.tasks[0].parameters == by_id(first)[again.tasks[0].id].parameters


def test_killed_container_and_missing_output_are_failures(compiled: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(compiled["killed"], {}, root=tmp_path, max_parallel=4)

    tasks = by_id(result)
    assert result.status == Status.FAILED
    assert tasks["kill-self"].status == Status.FAILED and tasks["kill-self"].exit_code == 137
    assert "SIGKILL" in tasks["kill-self"].message
    assert tasks["hog-memory"].status == Status.FAILED and "out of memory" in tasks["hog-memory"].message
    assert tasks["hog-memory"].retries == 1  # retry policy applied
    assert tasks["forget-output"].status == Status.FAILED and "not written" in tasks["forget-output"].message


def test_retry_with_backoff_recovers(compiled: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(compiled["retry"], {"marker": str(tmp_path / "marker")}, root=tmp_path, max_parallel=2)

    task = result.tasks[0]
    assert result.status == Status.SUCCEEDED
    assert task.retries == 1 and task.seconds >= 1.0  # backoff of 1 s before the second attempt
    assert Path(task.log).read_text().count("=== ") == 4  # two attempts: header + result each


def cli(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_runner", *args, "--root", str(root), "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )


@pytest.mark.parametrize(
    ("pipeline", "flags", "message"),
    [
        ("features", ["--param", "nn=3"], "unknown parameter(s) nn"),
        ("features", ["--param", "n=abc"], "parameter n: got 'abc'"),
        ("features", ["--param", "n=2.5"], "expected an integer"),
        ("features", ["--param", "flag=maybe"], "expected true or false"),
        ("retry", [], "missing required parameter(s): marker"),
        ("missing_image", [], "make images"),
        ("gpu", [], "accelerator (GPU)"),
    ],
)
def test_bad_input_is_rejected_before_any_task(
    compiled: dict[str, Path], tmp_path: Path, pipeline: str, flags: list[str], message: str
) -> None:
    proc = cli(str(compiled[pipeline]), *flags, root=tmp_path)

    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert not any(tmp_path.iterdir()), "a run folder was created"


def test_ctrl_c_stops_containers_and_leaves_a_resumable_run(
    compiled: dict[str, Path], tmp_path: Path
) -> None:
    import docker

    client = docker.from_env()
    run_id = f"interrupted-{uuid.uuid4().hex[:8]}"  # this run's containers only, never an earlier run's
    label = {"label": f"campaignlab.local_runner.run={run_id}"}
    # An ignored SIGINT is inherited across exec (and Python then installs no KeyboardInterrupt handler):
    # a suite started in the background of a non-interactive shell (`make test &`) runs with SIGINT
    # ignored, so give the child a Python handler here, which exec resets to the default, as a terminal
    # would.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "local_runner", str(compiled["sleepers"]), "--param", "seconds=60"),
            *("--root", str(tmp_path), "--quiet", "--run-id", run_id),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},  # SIGABRT below dumps every thread's stack
    )
    signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 60
    while len(client.containers.list(filters=label)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(client.containers.list(filters=label)) == 2, "the two tasks did not start"

    os.kill(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        out, err = proc.communicate(timeout=30)
        for c in client.containers.list(all=True, filters=label):  # the aborted runner left them
            c.remove(force=True)
        raise AssertionError(f"the runner did not stop within 30 s of Ctrl-C:\n{err[-6000:]}") from None

    assert proc.returncode == 130, err
    assert client.containers.list(all=True, filters=label) == []
    record = json.loads((tmp_path / "lr-sleepers" / run_id / "run.json").read_text())
    assert record["status"] == "cancelled"
    assert f"--resume {run_id}" in " ".join(out.split())  # the console may wrap the line

    proc2 = cli(str(compiled["sleepers"]), "--resume", run_id, "--param", "seconds=0.1", root=tmp_path)
    assert proc2.returncode == 0, proc2.stdout + proc2.stderr
    assert json.loads((tmp_path / "lr-sleepers" / run_id / "run.json").read_text())["status"] == "succeeded"
