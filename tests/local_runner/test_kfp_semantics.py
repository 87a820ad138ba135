"""The local runner gives KFP's results (values, not only exit codes) on the constructs of issue 18.

Each test compiles a small pipeline with the kfp DSL (tests/local_runner/kfp_cases.py) and checks what
kfp.local (and KFP) gives for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from local_runner.errors import HostError, ParameterError, UnsupportedFeatureError
from local_runner.handlers import Status
from local_runner.orchestrator import RunResult, run_file
from tests.conftest import REPO


def by_id(result: RunResult) -> dict[str, Any]:
    return {t.id: t for t in result.tasks}


@pytest.mark.docker
@pytest.mark.usefixtures("docker_engine")
def test_placeholders_in_constants_resolve(cases: dict[str, Path], tmp_path: Path) -> None:
    """f-strings over parameters and over an upstream output, dsl.PIPELINE_* values, importer metadata."""
    result = run_file(cases["fstrings"], {}, root=tmp_path, max_parallel=4)

    tasks = by_id(result)
    assert result.status == Status.SUCCEEDED
    assert tasks["echo"].parameters == {"out": "foo-bar-baz"}  # kfp.local's DockerRunner: foo-bar-baz
    assert tasks["echo-2"].parameters == {"out": "again-foo-bar-baz"}
    assert tasks["echo-3"].parameters == {"out": result.run_id}  # PIPELINE_JOB_NAME
    assert tasks["echo-4"].parameters == {"out": "task-name"}  # PIPELINE_TASK_NAME: the task's name
    imported = tasks["importer"].artifacts["artifact"][0]
    assert imported["metadata"] == {"greeting": "bar", "name": "pre-baz"}
    assert imported["uri"] == "/no/such/local/path"  # recorded as given, as kfp.local does
    for t in tasks.values():
        assert not any("{{$" in a for a in t.command), t.id


@pytest.mark.usefixtures("kfp_python")
def test_metrics_logged_with_log_metric_only(cases: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(cases["metrics"], {}, root=tmp_path, backend="process")

    task = result.tasks[0]
    assert result.status == Status.SUCCEEDED, task.message
    assert task.artifacts["metrics"][0]["metadata"] == {"accuracy": 0.75, "rows": 12}


@pytest.mark.docker
@pytest.mark.usefixtures("docker_engine", "kfp_python")
def test_artifact_list_inputs_read_as_kfp_renders_them(cases: dict[str, Path], tmp_path: Path) -> None:
    """Input[List[Dataset]] from dsl.Collected: KFP's Python executor and a container reading the
    whole-list placeholder as a JSON list both see the three artifacts."""
    result = run_file(cases["artifact_lists"], {}, root=tmp_path, backend="process", max_parallel=4)

    tasks = by_id(result)
    assert result.status == Status.SUCCEEDED, [t.message for t in result.tasks if t.message]
    assert result.outputs["Output"] == 6
    assert tasks["add-container"].parameters == {"out": "6"}
    rendered = json.loads(tasks["add-container"].command[3])
    assert isinstance(rendered, list) and len(rendered) == 3 and {"name", "uri", "type"} <= set(rendered[0])


@pytest.mark.usefixtures("kfp_python")
def test_optional_artifact_input_left_unset(cases: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(cases["optional_artifacts"], {}, root=tmp_path, backend="process")

    tasks = by_id(result)
    assert result.status == Status.SUCCEEDED, [t.message for t in result.tasks if t.message]
    assert result.outputs["Output"] == "is none"  # the Python executor got data=None
    assert tasks["maybe-container"].parameters == {"out": "no data"}  # IfPresent took Else


def _inspect_limits(run_id: str, found: dict[str, Any], stop: threading.Event) -> None:
    """Record the HostConfig of this run's container while it runs."""
    import docker

    client = docker.from_env()
    while not stop.is_set():
        for c in client.containers.list(filters={"label": f"campaignlab.local_runner.run={run_id}"}):
            host = c.attrs["HostConfig"]
            found.update(nano_cpus=host["NanoCpus"], memory=host["Memory"])
            return
        time.sleep(0.1)


@pytest.mark.docker
@pytest.mark.usefixtures("docker_engine")
@pytest.mark.parametrize(
    ("cpu", "memory", "nano_cpus", "mem_bytes"),
    [
        ("0.5", "256M", 500_000_000, 256 * 10**6),
        ("1500m", "1Gi", 1_500_000_000, 2**30),
        # More CPUs than the machine has (Vertex would pick a bigger machine): the container gets them all.
        ("64", "256M", (os.cpu_count() or 1) * 10**9, 256 * 10**6),
    ],
)
def test_resource_limits_from_pipeline_parameters(
    cases: dict[str, Path], tmp_path: Path, cpu: str, memory: str, nano_cpus: int, mem_bytes: int
) -> None:
    run_id = f"limits-{uuid.uuid4().hex[:8]}"
    found: dict[str, Any] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_inspect_limits, args=(run_id, found, stop), daemon=True)
    watcher.start()
    try:
        result = run_file(cases["param_limits"], {"cpu": cpu, "memory": memory}, root=tmp_path, run_id=run_id)
    finally:
        stop.set()
        watcher.join(5)

    assert result.status == Status.SUCCEEDED, result.tasks[0].message
    assert found == {"nano_cpus": nano_cpus, "memory": mem_bytes}  # docker inspect of the running container
    quota, period, mem_max = result.tasks[0].parameters["out"].split()
    assert int(quota) / int(period) == pytest.approx(nano_cpus / 1e9)  # the cgroup the task ran in
    assert int(mem_max) == mem_bytes
    capped = "more than this machine's" in Path(result.tasks[0].log).read_text()
    assert capped == (nano_cpus == (os.cpu_count() or 1) * 10**9 and cpu == "64")


def test_resource_limit_parameter_that_is_not_a_size_is_refused(
    cases: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(ParameterError, match="memory limit 'lots' is not like 512M or 2Gi"):
        run_file(cases["param_limits"], {"memory": "lots"}, root=tmp_path, backend="process")
    assert not any(tmp_path.iterdir())  # refused before anything ran


def test_gpu_requested_by_parameter_is_refused_by_name(cases: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(HostError, match="accelerator"):
        run_file(cases["param_gpu"], {}, root=tmp_path, backend="process")
    assert not any(tmp_path.iterdir())  # nothing ran

    result = run_file(cases["param_gpu"], {"count": "0"}, root=tmp_path, backend="process")
    assert result.status == Status.SUCCEEDED  # no accelerator asked for: it runs


@pytest.mark.usefixtures("kfp_python")
def test_artifacts_at_kfp_task_root_get_uri_and_custom_path(cases: dict[str, Path], tmp_path: Path) -> None:
    custom = tmp_path / "elsewhere" / "custom.txt"
    custom.parent.mkdir()

    result = run_file(cases["layout"], {"custom": str(custom)}, root=tmp_path / "runs", backend="process")

    tasks = by_id(result)
    assert result.status == Status.SUCCEEDED, [t.message for t in result.tasks if t.message]
    made = tasks["make-with-get-uri"].artifacts["Output"][0]
    task_root = result.run_dir / "tasks" / "make-with-get-uri"
    assert made["uri"] == str(task_root / "made")  # dsl.get_uri('made') is in KFP's task root
    assert made["metadata"] == {"via": "get_uri"}
    assert tasks["read-text"].parameters == {"Output": "via get_uri"}
    out = tasks["custom-path-python"].artifacts["out"][0]
    assert out["uri"] == str(result.run_dir / "tasks" / "custom-path-python" / "out")
    assert result.outputs["Output"] == "written at a custom path"  # read downstream through the URI


@pytest.mark.docker
@pytest.mark.usefixtures("docker_engine")
def test_custom_path_inside_a_container_is_copied_out(cases: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(cases["custom_path_docker"], {}, root=tmp_path)

    tasks = by_id(result)
    assert result.status == Status.SUCCEEDED, [t.message for t in result.tasks if t.message]
    assert tasks["cat"].parameters == {"out": "from the container"}


def test_unsupported_placeholder_is_refused_before_anything_runs(
    cases: dict[str, Path], tmp_path: Path
) -> None:
    import yaml

    with pytest.raises(UnsupportedFeatureError, match="kubernetes"):  # the workspace's platform spec
        run_file(cases["workspace"], {}, root=tmp_path / "runs", backend="process")
    first = next(yaml.safe_load_all(cases["workspace"].read_text()))
    bare = tmp_path / "workspace-placeholder-only.yaml"
    bare.write_text(yaml.safe_dump(first))
    with pytest.raises(UnsupportedFeatureError, match="WORKSPACE_PATH_PLACEHOLDER"):
        run_file(bare, {}, root=tmp_path / "runs", backend="process")
    assert not (tmp_path / "runs").exists()


@pytest.mark.docker
@pytest.mark.usefixtures("docker_engine")
def test_program_missing_from_the_image_is_named(cases: dict[str, Path], tmp_path: Path) -> None:
    result = run_file(cases["missing_program"], {}, root=tmp_path)

    task = result.tasks[0]
    assert result.status == Status.FAILED and task.exit_code == 127
    assert task.message == "'no-such-program' is not a program in image campaignlab-base:bookworm"


def test_final_status_without_an_exit_handler_is_refused_by_name(
    cases: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="PipelineTaskFinalStatus"):
        run_file(cases["final_status_alone"], {}, root=tmp_path, backend="process")


def cli(*args: str, module: str = "local_runner") -> subprocess.CompletedProcess[str]:
    base = [sys.executable, "-m", module] + (["pipeline", "run-local"] if module == "campaignlab" else [])
    return subprocess.run([*base, *args], capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize("module", ["local_runner", "campaignlab"])
def test_dry_run_prints_the_plan_and_runs_nothing(
    cases: dict[str, Path], tmp_path: Path, module: str
) -> None:
    proc = cli(str(cases["fstrings"]), "--dry-run", "--param", "a=A", "--root", str(tmp_path), module=module)

    assert proc.returncode == 0, proc.stderr
    assert "lr-fstrings: 5 task(s), nothing run (--dry-run)" in proc.stdout
    assert "foo-A-baz" in proc.stdout  # the f-string resolved from the given parameter
    assert "again-<echo.out>" in proc.stdout.replace("\n", "") or "<echo.Output>" in proc.stdout
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_dry_run_shows_limits_and_refuses_bad_input_by_name(cases: dict[str, Path], tmp_path: Path) -> None:
    ok = cli(str(cases["param_limits"]), "--dry-run", "--param", "cpu=2", "--param", "memory=1G")
    bad = cli(str(cases["workspace"]), "--dry-run")
    unknown = cli(str(cases["param_limits"]), "--dry-run", "--param", "cpus=2")

    assert ok.returncode == 0 and "limits: cpu 2, memory 1 GB" in ok.stdout, ok.stderr
    assert bad.returncode == 2 and "unsupported KFP feature" in bad.stderr and "Traceback" not in bad.stderr
    assert unknown.returncode == 2 and "unknown parameter(s) cpus" in unknown.stderr
