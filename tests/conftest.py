"""Shared, tiny, seeded fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, check: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``campaignlab ARGS`` in a subprocess (the real entry point) and capture its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "campaignlab", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"campaignlab {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A verified v25 dataset of ~600 samples (seed 42)."""
    from campaignlab.synth import dataset
    from campaignlab.synth.config import resolve_generator_config

    out = tmp_path_factory.mktemp("data") / "v25_tiny"
    cfg = resolve_generator_config({"preset": "v25", "scale": 0.01, "seed": 42})
    dataset.write(dataset.generate(cfg), out)
    return out


@pytest.fixture(scope="session")
def tiny_features(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Features folder of ``tiny_dataset``: local encoder (384-d texts), PDFM stand-in geo (332-d).

    Read it with ``campaignlab.features.read_features`` / ``read_feature_arrays``.
    """
    from campaignlab.features.embed import embed_dataset

    root = tmp_path_factory.mktemp("features")
    out = root / "v25_tiny"
    embed_dataset(tiny_dataset, out, "local", cache_dir=root / "cache")
    return out
