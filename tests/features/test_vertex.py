"""The vertex encoder: the real google-genai SDK against our fake Vertex endpoint on 127.0.0.1."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from campaignlab.errors import ConfigError
from campaignlab.features import vertex
from campaignlab.features.cache import EmbeddingCache
from campaignlab.features.encoders import encode_texts
from campaignlab.features.vertex import VertexEncoder, VertexError
from tests.fakes.vertex_embed_server import FakeVertexEmbedServer, fake_vector


@pytest.fixture
def server():
    with FakeVertexEmbedServer() as s:
        yield s


def make(server, **kw) -> VertexEncoder:
    opts = {"endpoint": server.url, "backoff_initial": 0.05, "backoff_max": 0.2, "seed": 0, "timeout": 5.0}
    return VertexEncoder(**{**opts, **kw})


def test_request_format_task_type_and_dimensionality(server):
    enc = make(server, task_type="semantic_similarity", dim=512)
    out = enc.encode(["Women, 18-24, interested in running", "TikTok"])
    assert out.shape == (2, 512) and out.dtype == np.float32
    np.testing.assert_allclose(out[1], fake_vector("TikTok", "SEMANTIC_SIMILARITY", 512), rtol=1e-6)
    (req,) = server.requests
    assert req.path.endswith(
        "/projects/campaignlab-local/locations/us-central1/publishers/google/models/text-embedding-005:predict"
    )
    assert req.body["parameters"] == {"outputDimensionality": 512, "autoTruncate": True}
    assert req.body["instances"][0] == {
        "content": "Women, 18-24, interested in running",
        "task_type": "SEMANTIC_SIMILARITY",
    }


def test_429_then_success_is_retried_with_backoff(server):
    enc = make(server, dim=8)
    server.script = [429, "ok"]
    out = enc.encode(["a", "b"])
    assert [r.action for r in server.requests] == [429, "ok"]
    np.testing.assert_allclose(out[0], fake_vector("a", "CLASSIFICATION", 8), rtol=1e-6)
    assert enc.retries == 1


def test_5xx_and_timeouts_are_retried(server):
    enc = make(server, dim=8, timeout=0.5)
    server.script = [503, ("sleep", 1.5), 500, "ok"]
    out = enc.encode(["x"])
    assert [r.action for r in server.requests] == [503, ("sleep", 1.5), 500, "ok"]
    assert out.shape == (1, 8) and enc.retries == 3


def test_400_fails_at_once_with_the_service_message(server):
    enc = make(server, dim=8)
    enc.encode(["warm"])  # client created: the timing below is the request alone
    server.requests.clear()
    server.script = [400]
    t0 = time.monotonic()
    with pytest.raises(VertexError, match=r"HTTP 400 INVALID_ARGUMENT.*scripted error 400.*not retried"):
        enc.encode(["x"])
    assert len(server.requests) == 1 and time.monotonic() - t0 < 2
    server.script = [403]
    with pytest.raises(VertexError, match="HTTP 403"):
        enc.encode(["y"])
    assert len(server.requests) == 2


def test_gives_up_after_max_retries(server):
    enc = make(server, dim=8, max_retries=2)
    server.script = [429, 429, 429, "ok"]
    with pytest.raises(VertexError, match="failed after 3 attempts; last error: HTTP 429"):
        enc.encode(["x"])
    assert len(server.requests) == 3


def test_backoff_is_exponential_with_jitter_and_capped():
    enc = VertexEncoder(endpoint="http://127.0.0.1:9", backoff_initial=1.0, backoff_max=5.0, seed=1)
    draws = np.array([[enc._backoff(a) for a in range(6)] for _ in range(300)])
    ceilings = np.array([1, 2, 4, 5, 5, 5])
    assert (draws >= 0).all() and (draws <= ceilings).all()
    assert draws[:, 2].std() > 0.5  # jitter, not a fixed delay
    assert draws[:, 2].mean() > 1.5 * draws[:, 0].mean()


def test_requests_stay_within_text_and_token_limits(server):
    enc = make(server, dim=4, concurrency=3)
    texts = [f"short text {i}" for i in range(600)]
    out = enc.encode(texts)
    sizes = sorted(len(r.body["instances"]) for r in server.requests)
    assert max(sizes) <= vertex.MAX_TEXTS_PER_REQUEST and sum(sizes) == 600
    assert len(sizes) == 3
    np.testing.assert_allclose(out[599], fake_vector("short text 599", "CLASSIFICATION", 4), rtol=1e-6)
    # Long texts: the token budget, not the text count, splits the requests.
    server.requests.clear()
    long_texts = [("word " * 1500) + str(i) for i in range(40)]  # ~2,500 estimated tokens each (capped 2,048)
    enc.encode(long_texts)
    assert len(server.requests) >= 5
    for r in server.requests:
        assert r.action == "ok"  # the fake rejects >20,000 tokens with a 400
        assert (
            sum(vertex.estimate_tokens(i["content"]) for i in r.body["instances"])
            <= vertex.MAX_TOKENS_PER_REQUEST
        )


def test_concurrency_is_bounded(server):
    in_flight, peak, lock = [0], [0], threading.Lock()
    orig = VertexEncoder._embed_request

    class Tracked(VertexEncoder):
        def _embed_request(self, texts):
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            try:
                return orig(self, texts)
            finally:
                with lock:
                    in_flight[0] -= 1

    enc = Tracked(endpoint=server.url, dim=4, concurrency=2, seed=0)
    server.script = [("sleep", 0.2)] * 6
    enc.encode([f"t{i}" for i in range(6 * 250)])
    assert peak[0] == 2 and len(server.requests) == 6


def test_cache_means_a_rerun_sends_nothing(server, tmp_path):
    enc = make(server, dim=16, task_type="CLASSIFICATION")
    cache = EmbeddingCache(tmp_path, enc.cache_namespace())
    texts = ["a", "b", "a", "c"]
    v1, s1 = encode_texts(enc, texts, cache)
    assert s1.embedded == 3 and sorted(server.texts_received()) == ["a", "b", "c"]
    n = len(server.requests)
    v2, s2 = encode_texts(enc, texts, EmbeddingCache(tmp_path, enc.cache_namespace()))
    assert s2.embedded == 0 and s2.cache_hits == 3 and len(server.requests) == n
    np.testing.assert_array_equal(v1, v2)
    # Another task type is another namespace: embedded again, with different vectors.
    enc2 = make(server, dim=16, task_type="SEMANTIC_SIMILARITY")
    v3, s3 = encode_texts(enc2, texts, EmbeddingCache(tmp_path, enc2.cache_namespace()))
    assert s3.embedded == 3 and not np.allclose(v3, v1)


def test_settings_are_validated():
    with pytest.raises(ConfigError, match="task_type: got 'SENTIMENT'"):
        VertexEncoder(endpoint="http://127.0.0.1:9", task_type="SENTIMENT")
    with pytest.raises(ConfigError, match="dim: got 1024 -> vertex text-embedding-005 gives 1 to 768"):
        VertexEncoder(endpoint="http://127.0.0.1:9", dim=1024)
    with pytest.raises(ConfigError, match="http"):
        VertexEncoder(endpoint="127.0.0.1:9")


def test_endpoint_from_environment(server, monkeypatch):
    monkeypatch.setenv(vertex.ENDPOINT_ENV, server.url)
    enc = VertexEncoder(dim=4, seed=0)
    assert enc.endpoint == server.url
    enc.encode(["hello"])
    assert len(server.requests) == 1


def test_a_fatal_error_stops_the_other_requests_backoff(server):
    # Request 1 gets a 429 and would back off ~25 s (seeded jitter); request 2's 400 must end it at once.
    enc = make(server, dim=4, concurrency=2, backoff_initial=30.0, backoff_max=30.0)
    server.script = [429, 400]
    t0 = time.monotonic()
    with pytest.raises(VertexError, match=r"HTTP 400|cancelled"):
        enc.encode([f"t{i}" for i in range(500)])
    assert time.monotonic() - t0 < 5
    assert len(server.requests) == 2
