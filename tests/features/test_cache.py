"""The content-addressed embedding cache: keys, persistence and concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys

import numpy as np
import pytest

from campaignlab.features.cache import EmbeddingCache
from campaignlab.features.encoders import TextEncoder, encode_texts
from tests.conftest import REPO
from tests.fakes.vertex_embed_server import FakeVertexEmbedServer

NS = {"encoder": "t", "model": "m", "task_type": None, "dim": 4}


class CountingEncoder(TextEncoder):
    """A deterministic 4-d encoder that records what it was asked to embed."""

    name, model, task_type, dim = "t", "m", None, 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts, progress=None):
        self.seen += texts
        return np.array([[len(t), t.count("a"), 1.0, -1.0] for t in texts], dtype=np.float32)


def test_dedup_sort_and_rerun_embeds_nothing(tmp_path):
    enc = CountingEncoder()
    texts = ["bb", "a", "ccc", "a", "bb", "dddd"]
    out, stats = encode_texts(enc, texts, EmbeddingCache(tmp_path, enc.cache_namespace()), chunk=2)
    assert (stats.texts, stats.unique, stats.embedded, stats.cache_hits) == (6, 4, 4, 0)
    assert enc.seen == ["dddd", "ccc", "bb", "a"]  # each distinct text once, longest first
    np.testing.assert_array_equal(out[:, 0], [2, 1, 3, 1, 2, 4])
    assert len(list((tmp_path).glob("*/*.npz"))) == 2  # one block per chunk

    enc2 = CountingEncoder()
    out2, stats2 = encode_texts(enc2, [*texts, "new"], EmbeddingCache(tmp_path, enc2.cache_namespace()))
    assert enc2.seen == ["new"] and stats2.cache_hits == 4 and stats2.embedded == 1
    np.testing.assert_array_equal(out2[:6], out)


def test_key_covers_every_setting_and_the_text(tmp_path):
    base = EmbeddingCache(tmp_path, NS)
    assert base.digest("x") == EmbeddingCache(tmp_path, dict(NS)).digest("x")
    assert base.digest("x") != base.digest("x ")
    for field, value in [("encoder", "u"), ("model", "n"), ("task_type", "CLASSIFICATION"), ("dim", 8)]:
        other = EmbeddingCache(tmp_path, {**NS, field: value})
        assert other.digest("x") != base.digest("x") and other.folder != base.folder
    base.put([base.digest("x")], np.ones((1, 4), np.float32))
    other = EmbeddingCache(tmp_path, {**NS, "dim": 8})
    other.refresh()
    assert len(other) == 0


def test_damaged_block_is_ignored(tmp_path):
    c = EmbeddingCache(tmp_path, NS)
    c.put([c.digest("a")], np.ones((1, 4), np.float32))
    (c.folder / "junk.npz").write_bytes(b"not a zip file")
    fresh = EmbeddingCache(tmp_path, NS)
    fresh.refresh()
    found, vecs = fresh.lookup([fresh.digest("a"), fresh.digest("b")])
    assert found.tolist() == [True, False] and vecs is not None and vecs.shape == (1, 4)


def _writer(root: str, offset: int, barrier) -> None:
    c = EmbeddingCache(root, NS)
    barrier.wait()
    for block in range(20):
        keys = [f"text-{(offset + block * 10 + i) % 300}" for i in range(25)]
        vecs = np.array([[int(k.split("-")[1]), 0, 0, 1] for k in keys], dtype=np.float32)
        c.put([c.digest(k) for k in keys], vecs)


def test_two_processes_writing_at_once(tmp_path):
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), off, barrier)) for off in (0, 5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    c = EmbeddingCache(tmp_path, NS)
    c.refresh()
    keys = [f"text-{i}" for i in range(300)]
    found, vecs = c.lookup([c.digest(k) for k in keys])
    want = sorted({(o + b * 10 + i) % 300 for o in (0, 5) for b in range(20) for i in range(25)})
    assert np.flatnonzero(found).tolist() == want
    assert vecs is not None and vecs[:, 0].tolist() == [float(i) for i in want]
    assert not list(tmp_path.glob("*/.block-*"))  # no temporary file left behind


def head_dataset(src, dst, n: int):
    """A copy of dataset folder ``src`` keeping only its first ``n`` samples."""
    import shutil

    import pyarrow.parquet as pq

    shutil.copytree(src, dst)
    pq.write_table(pq.read_table(src / "samples.parquet").slice(0, n), dst / "samples.parquet")
    return dst


@pytest.mark.slow  # two embedding processes at once
def test_two_embed_commands_sharing_a_cache_at_once(tiny_dataset, tmp_path):
    ds = head_dataset(tiny_dataset, tmp_path / "ds", 150)
    with FakeVertexEmbedServer() as server:
        cache = str(tmp_path / "cache")
        cmd = [sys.executable, "-m", "campaignlab", "embed", str(ds), "--encoder", "vertex", "--dim", "16",
               "--cache-dir", cache, "--vertex-endpoint", server.url, "--quiet"]  # fmt: skip
        procs = [
            subprocess.Popen([*cmd, "--out", str(tmp_path / f"f{i}")], cwd=REPO, stderr=subprocess.PIPE)
            for i in (0, 1)
        ]
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err.decode()
        n = len(server.requests)
        proc = subprocess.run([*cmd, "--out", str(tmp_path / "f2")], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "0 embedded" in proc.stdout and len(server.requests) == n
    from campaignlab.features import read_feature_arrays

    a, _, _ = read_feature_arrays(tmp_path / "f0")
    b, _, _ = read_feature_arrays(tmp_path / "f2")
    for m in a:
        np.testing.assert_array_equal(a[m], b[m])
