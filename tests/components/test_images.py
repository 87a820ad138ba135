"""Build the images with the real Docker engine (containers/build.sh) and run campaignlab in them the
way Vertex AI does: the component's `command` replaces the image's ENTRYPOINT.

Slow on a cold cache (all dependency sets are installed); warm, only the small campaignlab layer is
rebuilt when code changes. CI starts the engine first (scripts/docker-setup.sh).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from campaignlab import __version__
from tests.components.test_compare import make_eval, make_model

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.docker, pytest.mark.slow]


def docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    start = time.monotonic()
    proc = subprocess.run(
        ["bash", "containers/build.sh"], cwd=REPO, capture_output=True, text=True, timeout=5400
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    print(f"\nbuild of all images: {time.monotonic() - start:.0f} s\n{proc.stdout}")
    data = json.loads((REPO / "build" / "images.json").read_text())
    assert data["version"] == __version__
    return data["images"]


def test_every_image_is_tagged_by_version_and_content(images: dict[str, str]) -> None:
    assert set(images) == {"core", "gbm", "torch", "fl", "embed", "serve"}
    tags = {name.rsplit(":", 1)[1] for name in images.values()}
    assert len(tags) == 1
    (tag,) = tags
    version, _, digest = tag.rpartition("-")
    assert version == __version__ and len(digest) == 12
    for image in images.values():
        assert docker("image", "inspect", image).returncode == 0
        assert docker("image", "inspect", image.rsplit(":", 1)[0] + f":{__version__}").returncode == 0


def test_core_image_runs_generate_and_compare_like_vertex(images: dict[str, str], tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    mount = ["-v", f"{work}:{work}"]  # same path inside and outside, as local runners do
    # ENTRYPOINT is campaignlab: `docker run IMAGE generate ...` works as documented.
    proc = docker("run", "--rm", *mount, images["core"], "generate", "--preset", "v25", "--scale", "0.002",
                  "--seed", "3", "--quiet", "--out", str(work / "data"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (work / "data" / "samples.parquet").is_file()
    # Vertex semantics: command ["campaignlab", "compare"] replaces the entrypoint, args follow.
    a, b = make_eval(work / "ea", 0.61), make_eval(work / "eb", 0.64)
    ma, mb = make_model(work / "ma", "a"), make_model(work / "mb", "b")
    proc = docker("run", "--rm", *mount, "--entrypoint", "campaignlab", images["core"], "compare",
                  "--metrics", f"a={a}", "--model", f"a={ma}", "--metrics", f"b={b}", "--model", f"b={mb}",
                  "--out", str(work / "cmp"), "--model-out", str(work / "best"),
                  "--promote-out", str(work / "p"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads((work / "cmp" / "best.json").read_text())["best"] == "b"
    assert json.loads((work / "best" / "model.json").read_text()) == {"type": "b"}


@pytest.mark.parametrize(
    ("image", "code"),
    [
        ("gbm", "import lightgbm, sklearn; import importlib.util as u; assert u.find_spec('torch') is None"),
        ("torch", "import torch, lightgbm; assert torch.__version__.endswith('+cpu'), torch.__version__"),
        ("fl", "import flwr, torch; assert torch.__version__.endswith('+cpu')"),
        (
            "embed",
            "import importlib.util as u; "
            "assert u.find_spec('sentence_transformers') and u.find_spec('google.genai')",
        ),
        ("serve", "import fastapi, uvicorn, sqlalchemy, alembic"),
    ],
)
def test_each_image_holds_its_dependency_set(images: dict[str, str], image: str, code: str) -> None:
    proc = docker("run", "--rm", "--entrypoint", "python", images[image], "-c", code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # No CUDA wheels anywhere (they would add gigabytes).
    proc = docker(
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        images[image],
        "-c",
        "ls /opt/venv/lib/python3.11/site-packages | grep -i nvidia || true",
    )
    assert proc.stdout.strip() == ""
