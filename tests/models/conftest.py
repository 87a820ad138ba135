"""Fixtures for model tests: projected test features from ``tiny_dataset`` and quick parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from campaignlab.models.data import Features, load_features
from tests.models.builders import write_projected_features

FAST_PARAMS: dict[str, dict[str, Any]] = {
    "hierarchical_lgbm": {
        "stage1_n_estimators": 60,
        "stage2_n_estimators": 60,
        "stage1_num_leaves": 15,
        "stage2_num_leaves": 15,
        "feature_fraction": 0.5,
        "n_jobs": 1,
    },
    "shared_latent": {"size": "small", "max_epochs": 20, "patience": 5, "batch_size": 128, "n_jobs": 1},
    "robust_modality": {
        "proj_hidden": 64,
        "proj_dim": 32,
        "head_hidden": 64,
        "max_epochs": 20,
        "patience": 5,
        "batch_size": 128,
        "n_jobs": 1,
    },
}
"""Quick settings: every model fits in seconds on 2 shared cores."""
QUICK = {
    "hierarchical_lgbm": {"stage1_n_estimators": 10, "stage2_n_estimators": 10},
    "shared_latent": {"max_epochs": 2},
    "robust_modality": {"max_epochs": 2},
}
"""Even fewer rounds, for tests that only need *a* fitted model (determinism, tuning, CLI)."""


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A v25 dataset of 2,400 samples (seed 42): big enough for every model to beat chance clearly."""
    from campaignlab.synth import dataset
    from campaignlab.synth.config import resolve_generator_config

    out = tmp_path_factory.mktemp("data") / "v25_small"
    cfg = resolve_generator_config({"preset": "v25", "scale": 0.04, "seed": 42})
    dataset.write(dataset.generate(cfg), out, plot=False)
    return out


@pytest.fixture(scope="session")
def projected_dir(small_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Features folder of the exact contract built from small_dataset's node lists (test data)."""
    return write_projected_features(small_dataset, tmp_path_factory.mktemp("projected") / "features")


@pytest.fixture(scope="session")
def projected(projected_dir: Path) -> Features:
    return load_features(projected_dir)
