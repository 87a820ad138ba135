"""Fixtures for the federated tests: a tiny features folder and its partitions.

``fl_features`` is TEST DATA: each modality vector is a fixed random projection of the sample's node
multi-hot vector (no text model involved), written with the exact ``features.parquet`` schema of
``campaignlab.features.table``. It keeps the node identity (the labels' cause) recoverable, so a model can
learn on it, and builds in a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from campaignlab.features.projection import projection_features

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    """Tiny models on a shared 2-core machine: one thread avoids oversubscription stalls."""
    import torch

    torch.set_num_threads(1)


DIMS = {"audience": 48, "brand": 48, "creative": 48, "geo": 40, "platform": 32}


def write_test_features(dataset_dir: Path, out: Path, dims: dict[str, int] = DIMS, seed: int = 0) -> Path:
    """TEST DATA: features.parquet + manifest.json from a generated dataset via random projections."""
    return projection_features(dataset_dir, out, dims, seed)


@pytest.fixture(scope="session")
def fl_features(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A features folder (600 samples, v25 tiny) named ``tinyv25`` (its data_version)."""
    return write_test_features(tiny_dataset, tmp_path_factory.mktemp("flfeat") / "tinyv25")


@pytest.fixture(scope="session")
def fl_partitions(fl_features: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Partition root holding homogeneous_2clients and homogeneous_3clients of ``fl_features``."""
    from campaignlab.federated.partition import PartitionConfig, partition

    root = tmp_path_factory.mktemp("parts")
    for n in (2, 3):
        partition(fl_features, PartitionConfig(num_clients=n, data_split="homogeneous", seed=42), root)
    return root
