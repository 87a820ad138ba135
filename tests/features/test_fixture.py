"""The shared ``tiny_features`` fixture honours the features folder contract."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from campaignlab.features import MODALITIES, modality_arrays, read_feature_arrays, read_features


def test_tiny_features_contract(tiny_dataset, tiny_features):
    table, manifest = read_features(tiny_features)
    samples = pq.read_table(tiny_dataset / "samples.parquet")
    assert table.column_names == ["sample_id", "split", "label", *MODALITIES, "platform_code"]
    assert table.schema.field("label").type == pa.int8()
    assert table.schema.field("platform_code").type == pa.int32()
    for m, d in {"audience": 384, "brand": 384, "creative": 384, "platform": 384, "geo": 332}.items():
        assert table.schema.field(m).type == pa.list_(pa.float32(), d)
    assert table.column("sample_id").to_pylist() == samples.column("sample_id").to_pylist()
    assert table.column("split").to_pylist() == samples.column("split").to_pylist()
    assert table.column("label").to_pylist() == samples.column("label").to_pylist()

    arrays, cols, _ = read_feature_arrays(tiny_features)
    part = modality_arrays(table.slice(5, 3), ["brand", "geo"])
    np.testing.assert_array_equal(part["brand"], arrays["brand"][5:8])
    np.testing.assert_array_equal(part["geo"], arrays["geo"][5:8])
    for m in MODALITIES:
        assert arrays[m].dtype == np.float32 and np.isfinite(arrays[m]).all()
        assert arrays[m].shape[0] == samples.num_rows
    # Text vectors are L2-normalised sentence embeddings.
    np.testing.assert_allclose(np.linalg.norm(arrays["brand"], axis=1), 1.0, atol=1e-4)
    # Every ZIP of the generator is covered by the stand-in: coverage 1, missing flag 0.
    np.testing.assert_array_equal(arrays["geo"][:, -2], 1.0)
    np.testing.assert_array_equal(arrays["geo"][:, -1], 0.0)

    codes = manifest["platform_codes"]
    assert list(codes) == sorted(codes) and list(codes.values()) == list(range(len(codes)))
    by_value = [codes[p] for p in samples.column("platform").to_pylist()]
    assert cols["platform_code"].tolist() == by_value
    # Same platform text -> same vector (deduplicated, one embedding per distinct text).
    first = {}
    for code, vec in zip(cols["platform_code"], arrays["platform"], strict=True):
        first.setdefault(int(code), vec)
        np.testing.assert_array_equal(vec, first[int(code)])
    assert manifest["encoder"] == "local" and manifest["model"] == "all-MiniLM-L6-v2"
    assert manifest["texts_embedded"] == manifest["unique_texts"] and manifest["cache_hits"] == 0
