"""The local encoder: bundled all-MiniLM-L6-v2, offline, and its fast ONNX backend."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from campaignlab.errors import ConfigError
from campaignlab.features.local import DIM, LocalEncoder, model_dir, reference_model


@pytest.fixture(scope="module")
def texts(tiny_dataset) -> list[str]:
    s = pq.read_table(tiny_dataset / "samples.parquet")
    out: list[str] = []
    for col in ("audience", "brand", "creative", "platform"):
        out += sorted(set(s.column(col).to_pylist()))[:12]
    return [*out, "", "word " * 400]  # edge cases: empty text, one longer than the 256-token window


def test_model_is_bundled_and_offline():
    folder = model_dir()
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()


@pytest.mark.slow  # loads torch and the ONNX model
def test_onnx_backend_matches_the_reference_encoder(texts):
    ref = np.asarray(reference_model().encode(texts, normalize_embeddings=True), dtype=np.float32)
    fast = LocalEncoder(backend="onnx", batch_size=16).encode(texts)
    assert fast.shape == (len(texts), DIM) and fast.dtype == np.float32
    cos = (ref * fast).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(fast, axis=1)
    assert cos.min() >= 0.99, cos.min()
    # The torch backend is the reference itself.
    torch_vecs = LocalEncoder(backend="torch", batch_size=16).encode(texts[:10])
    np.testing.assert_allclose(torch_vecs, ref[:10], atol=1e-5)


def test_batching_does_not_change_vectors(texts):
    enc = LocalEncoder(backend="onnx", batch_size=7)
    a = enc.encode(texts[:30])
    enc.batch_size = 30
    b = enc.encode(texts[:30])
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_settings_are_validated():
    with pytest.raises(ConfigError, match="dim: got 512 -> local encoder all-MiniLM-L6-v2 gives only 384"):
        LocalEncoder(dim=512)
    with pytest.raises(ConfigError, match="backend: got 'tpu'"):
        LocalEncoder(backend="tpu")
    enc = LocalEncoder(task_type="CLASSIFICATION")
    assert enc.task_type is None and enc.describe()["requested_task_type"] == "CLASSIFICATION"
