"""Quick-look features without a text model: fixed random projections of node multi-hot vectors.

Each modality vector of a sample is the sum of fixed Gaussian vectors, one per graph node the sample uses
(``<modality>_nodes`` in ``samples.parquet``), so node identity — the labels' cause — stays recoverable
and a model can learn on it. The output has the exact ``features.parquet`` schema of
:mod:`campaignlab.features.table` and builds in seconds; it stands in for ``campaignlab embed`` in tests
and quick benchmarks (``benchmarks/fl_experiments.py --features projection``), never for real results.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from campaignlab import MODALITIES
from campaignlab.errors import DataError
from campaignlab.io import atomic_dir, read_parquet, require_complete, write_json, write_parquet

from .table import features_schema, vector_column


def projection_features(
    dataset_dir: str | Path, out: str | Path, dims: dict[str, int], seed: int = 0, noise: float = 0.0
) -> Path:
    """Write ``out/features.parquet`` and ``out/manifest.json`` for the dataset in ``dataset_dir``.

    Args:
        dataset_dir: a generated dataset folder (``samples.parquet``, ``nodes.parquet``).
        out: the features folder to write (replaced atomically).
        dims: vector width per modality; all five modalities are required.
        seed: seed of the projection matrices (and of the noise).
        noise: standard deviation of Gaussian noise added to every vector (0: none).
    """
    missing = [m for m in MODALITIES if m not in dims]
    if missing:
        raise DataError(f"dims: missing modalities {missing}; expected all of {list(MODALITIES)}")
    dataset_dir = Path(dataset_dir)
    require_complete(dataset_dir, "dataset folder", needs=("samples.parquet", "nodes.parquet"))
    samples = read_parquet(
        dataset_dir / "samples.parquet",
        {"sample_id": "string", "split": "string", "label": "int", "platform": "string"}
        | {f"{m}_nodes": "list<int>" for m in MODALITIES},
    )
    nodes = read_parquet(dataset_dir / "nodes.parquet", {"node_id": "int"})
    n_nodes = int(max(nodes.column("node_id").to_pylist())) + 1
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {}
    for m in MODALITIES:
        proj = rng.normal(0, 1 / np.sqrt(dims[m]), size=(n_nodes, dims[m])).astype(np.float32)
        lists = samples.column(f"{m}_nodes").to_pylist()
        mat = np.zeros((len(lists), dims[m]), np.float32)
        for i, ids in enumerate(lists):
            mat[i] = proj[ids].sum(axis=0)
        if noise > 0:
            mat += rng.normal(0, noise, size=mat.shape).astype(np.float32)
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
        schema=features_schema({m: dims[m] for m in MODALITIES}),
    )
    with atomic_dir(out) as tmp:
        write_parquet(table, tmp / "features.parquet")
        write_json(
            tmp / "manifest.json",
            {
                "encoder": "random-projection",
                "features": "random projections of node multi-hot vectors",
                "dimensions": {m: dims[m] for m in MODALITIES},
                "seed": seed,
                "noise": noise,
                "platform_codes": code,
            },
        )
    return Path(out)
