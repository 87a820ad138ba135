"""Fixtures for the federated tests: a tiny features folder and its partitions.

``fl_features`` is TEST DATA: each modality vector is a fixed random projection of the sample's node
multi-hot vector (no text model involved), written with the exact ``features.parquet`` schema of
``campaignlab.features.table``. It keeps the node identity (the labels' cause) recoverable, so a model can
learn on it, and builds in a second.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")


@pytest.fixture(autouse=True)
def _one_torch_thread() -> None:
    """Tiny models on a shared 2-core machine: one thread avoids oversubscription stalls."""
    import torch

    torch.set_num_threads(1)


DIMS = {"audience": 48, "brand": 48, "creative": 48, "geo": 40, "platform": 32}


def write_test_features(dataset_dir: Path, out: Path, dims: dict[str, int] = DIMS, seed: int = 0) -> Path:
    """TEST DATA: features.parquet + manifest.json from a generated dataset via random projections."""
    import pyarrow.parquet as pq

    from campaignlab.features.table import features_schema, vector_column

    samples = pq.read_table(dataset_dir / "samples.parquet")
    nodes = pq.read_table(dataset_dir / "nodes.parquet")
    n_nodes = int(max(nodes.column("node_id").to_pylist())) + 1
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {}
    for m, d in dims.items():
        proj = rng.normal(0, 1, size=(n_nodes, d)).astype(np.float32)
        lists = samples.column(f"{m}_nodes").to_pylist()
        mat = np.zeros((len(lists), d), np.float32)
        for i, ids in enumerate(lists):
            mat[i] = proj[ids].sum(axis=0)
        cols[m] = vector_column(mat)
    platforms = sorted(set(samples.column("platform").to_pylist()))
    code = {p: i for i, p in enumerate(platforms)}
    table = pa.table(
        {
            "sample_id": samples.column("sample_id"),
            "split": samples.column("split"),
            "label": samples.column("label").cast(pa.int8()),
            **cols,
            "platform_code": pa.array([code[p] for p in samples.column("platform").to_pylist()], pa.int32()),
        },
        schema=features_schema(dims),
    )
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "features.parquet")
    (out / "manifest.json").write_text(
        json.dumps({"test_data": "random projections of node multi-hot vectors", "platform_codes": code})
    )
    return out


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
        partition(fl_features, PartitionConfig(num_clients=n, split="homogeneous", seed=42), root)
    return root
