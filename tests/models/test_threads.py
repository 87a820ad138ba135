"""Thread counts follow the CPU quota a container or a Vertex step was given, not the host's cores."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from campaignlab.models.base import cgroup_cpu_quota

REPO = Path(__file__).resolve().parents[2]


def test_cgroup_v2_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    (tmp_path / "cpu,cpuacct").mkdir()
    (tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu,cpuacct" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(tmp_path) == 0.5
    (tmp_path / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_quota(tmp_path) is None


def test_no_cgroup_files_means_no_quota(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path) is None


@pytest.mark.docker
def test_a_container_with_one_cpu_trains_with_one_thread() -> None:
    images = REPO / "build" / "images.json"
    assert images.is_file(), "build the images first: bash containers/build.sh (make test does)"
    image = json.loads(images.read_text())["images"]["gbm"]
    code = "from campaignlab.models.base import default_threads as d; print(d())"
    out = {}
    for cpus in ("1", "2"):
        proc = subprocess.run(
            ["docker", "run", "--rm", "--cpus", cpus, "--entrypoint", "python3", image, "-c", code],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out[cpus] = int(proc.stdout.strip())
    assert out["1"] == 1
    assert out["2"] == min(2, len(__import__("os").sched_getaffinity(0)))
