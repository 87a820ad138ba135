"""Test inputs built from a generated dataset (TEST DATA, not an encoder).

``write_projected_features`` writes a ``features.parquet`` of the exact embedding contract, where each
modality's vector is a fixed random projection of the sample's multi-hot node vector for that modality
(seeded, plus a little noise). It stands in for real text/geo embeddings so model tests run in seconds;
real embeddings come from ``campaignlab embed``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from campaignlab import MODALITIES

TEST_DIMS = {"audience": 48, "brand": 48, "creative": 48, "geo": 40, "platform": 16}


def projected_modalities(samples: pa.Table, num_nodes: int, dims: dict[str, int], seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for m in MODALITIES:
        lists = samples[f"{m}_nodes"].to_pylist()
        hot = np.zeros((len(lists), num_nodes), np.float32)
        for i, ids in enumerate(lists):
            hot[i, ids] = 1.0
        proj = rng.normal(0, 1 / np.sqrt(dims[m]), size=(num_nodes, dims[m])).astype(np.float32)
        vec = hot @ proj + rng.normal(0, 0.01, size=(len(lists), dims[m])).astype(np.float32)
        out[m] = vec
    return out


def write_projected_features(
    dataset: Path, out: Path, *, dims: dict[str, int] | None = None, seed: int = 0
) -> Path:
    """Write ``out/features.parquet`` (+ manifest.json) from ``dataset``'s node lists."""
    dims = dims or TEST_DIMS
    samples = pq.read_table(dataset / "samples.parquet")
    num_nodes = pq.read_table(dataset / "nodes.parquet").num_rows
    vecs = projected_modalities(samples, num_nodes, dims, seed)
    plat_nodes = [ids[0] for ids in samples["platform_nodes"].to_pylist()]
    codes = {n: i for i, n in enumerate(sorted(set(plat_nodes)))}
    codes_by_name = {f"platform-node-{n}": i for n, i in codes.items()}
    cols = {
        "sample_id": samples["sample_id"],
        "split": samples["split"],
        "label": samples["label"],
        **{
            m: pa.FixedSizeListArray.from_arrays(pa.array(vecs[m].ravel(), pa.float32()), dims[m])
            for m in MODALITIES
        },
        "platform_code": pa.array([codes[n] for n in plat_nodes], pa.int32()),
    }
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), out / "features.parquet")
    manifest = {"encoder": "test-random-projection", "dimensions": dims, "platform_codes": codes_by_name}
    (out / "manifest.json").write_text(json.dumps(manifest) + "\n")
    return out
