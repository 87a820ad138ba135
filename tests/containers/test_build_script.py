"""containers/build.sh selects the torch build by TORCH_VARIANT (cpu, the default CI builds, or cuda),
checked with its --dry-run mode, which prints the docker build commands without building anything
(the CUDA images are several GB; CI builds the CPU ones for real in tests/components/test_images.py)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from campaignlab import __version__

REPO = Path(__file__).resolve().parents[2]
TORCH_BASED = ("torch", "fl", "embed")
OTHERS = ("core", "gbm", "serve")


def dry_run(*images: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("TORCH_VARIANT", "TORCH_INDEX_URL")}
    return subprocess.run(
        ["bash", "containers/build.sh", "--dry-run", *images],
        cwd=REPO, capture_output=True, text=True, env={**clean, **env}, timeout=120,
    )  # fmt: skip


def build_lines(out: str) -> dict[str, str]:
    lines = [ln for ln in out.splitlines() if ln.startswith("docker build ")]
    return {re.search(r"--target (\S+)", ln).group(1): ln for ln in lines}  # type: ignore[union-attr]


def test_default_is_the_cpu_build_and_writes_nothing(tmp_path: Path) -> None:
    images_json = REPO / "build" / "images.json"
    before = images_json.read_bytes() if images_json.exists() else None
    proc = dry_run()
    assert proc.returncode == 0, proc.stderr
    lines = build_lines(proc.stdout)
    assert set(lines) == set(TORCH_BASED + OTHERS)
    for img in TORCH_BASED:
        assert "--build-arg TORCH_VARIANT=cpu" in lines[img]
        assert re.search(rf"-t campaignlab-{img}:{re.escape(__version__)}-[0-9a-f]{{12}} ", lines[img])
    for img in OTHERS:
        assert "TORCH_VARIANT" not in lines[img]
    torch_line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("# torch (cpu): "))
    assert "/whl/cpu" in torch_line or re.search(r"torch-\S+\+cpu\S*\.whl", torch_line), torch_line
    assert (images_json.read_bytes() if images_json.exists() else None) == before


def test_cuda_variant_is_a_build_argument_and_part_of_the_tag() -> None:
    proc = dry_run(*TORCH_BASED, "core", TORCH_VARIANT="cuda", REGISTRY="us-docker.pkg.dev/p/r", PUSH="1")
    assert proc.returncode == 0, proc.stderr
    lines = build_lines(proc.stdout)
    for img in TORCH_BASED:
        assert "--build-arg TORCH_VARIANT=cuda" in lines[img]
        assert re.search(rf"-t campaignlab-{img}:{re.escape(__version__)}-cuda-[0-9a-f]{{12}} ", lines[img])
        assert f"-t campaignlab-{img}:{__version__}-cuda " in lines[img]
        assert f"docker push us-docker.pkg.dev/p/r/campaignlab-{img}:{__version__}-cuda-" in proc.stdout
    assert "cuda" not in lines["core"]  # not torch-based: the same image either way
    # PyPI's Linux torch wheel is the CUDA build; the local CPU wheel is not used.
    assert "# torch (cuda): pip install -q torch" in proc.stdout and ".whl" not in proc.stdout


def test_index_url_is_passed_through_and_a_bad_variant_fails() -> None:
    url = "https://download.pytorch.org/whl/cu126"
    proc = dry_run("torch", TORCH_VARIANT="cuda", TORCH_INDEX_URL=url)
    assert proc.returncode == 0, proc.stderr
    assert f"--build-arg TORCH_INDEX_URL={url}" in build_lines(proc.stdout)["torch"]
    assert f"--index-url {url}" in proc.stdout
    proc = dry_run("torch", TORCH_VARIANT="rocm")
    assert proc.returncode == 2 and "TORCH_VARIANT: got 'rocm' -> expected cpu or cuda" in proc.stderr


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("cpu", "pip install -q {wheels}/torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl"),
        ("cuda", "pip install -q torch>=2.2"),
    ],
)
def test_install_torch_uses_a_local_wheel_only_for_the_cpu_build(
    tmp_path: Path, variant: str, expected: str
) -> None:
    (tmp_path / "torch-2.13.0+cpu-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
    proc = subprocess.run(
        ["sh", "containers/install-torch.sh", "--dry-run", "torch>=2.2", variant, str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected.format(wheels=tmp_path)
