"""projection_features: the quick-look features (random projections of node multi-hot vectors)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from campaignlab.errors import DataError
from campaignlab.features.projection import projection_features
from campaignlab.features.table import read_feature_arrays

DIMS = {"audience": 8, "brand": 8, "creative": 8, "geo": 6, "platform": 4}


def test_writes_the_features_contract_and_is_seeded(tiny_dataset: Path, tmp_path: Path) -> None:
    a = projection_features(tiny_dataset, tmp_path / "a", DIMS, seed=3)
    b = projection_features(tiny_dataset, tmp_path / "b", DIMS, seed=3)
    c = projection_features(tiny_dataset, tmp_path / "c", DIMS, seed=4, noise=0.1)
    xa, cols, ma = read_feature_arrays(a)
    xb, _, _ = read_feature_arrays(b)
    xc, _, _ = read_feature_arrays(c)
    for m, d in DIMS.items():
        assert xa[m].shape[1] == d and np.isfinite(xa[m]).all()
        assert np.array_equal(xa[m], xb[m])
        assert not np.allclose(xa[m], xc[m])
    assert set(np.unique(cols["label"])) == {0, 1, 2}
    assert ma["encoder"] == "random-projection" and ma["dimensions"] == DIMS


def test_samples_with_the_same_nodes_get_the_same_vector(tiny_dataset: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = projection_features(tiny_dataset, tmp_path / "f", DIMS)
    nodes = pq.read_table(tiny_dataset / "samples.parquet").column("platform_nodes").to_pylist()
    x, _, _ = read_feature_arrays(out)
    first: dict[tuple[int, ...], int] = {}
    for i, ids in enumerate(nodes):
        key = tuple(ids)
        if key in first:
            assert np.allclose(x["platform"][i], x["platform"][first[key]])
        first.setdefault(key, i)
    assert len(first) < len(nodes)


def test_a_missing_modality_is_an_error_and_nothing_is_written(tiny_dataset: Path, tmp_path: Path) -> None:
    dims = {k: v for k, v in DIMS.items() if k != "geo"}
    with pytest.raises(DataError, match=r"dims: missing modalities \['geo'\]"):
        projection_features(tiny_dataset, tmp_path / "out", dims)
    assert not (tmp_path / "out").exists()
