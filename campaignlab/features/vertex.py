"""The production encoder: Vertex AI ``text-embedding-005`` through the google-genai SDK.

google-genai with the Vertex backend is Google's supported route (``TextEmbeddingModel`` of
google-cloud-aiplatform is deprecated). For this model the SDK posts to
``{base_url}/{api_version}/projects/{p}/locations/{l}/publishers/google/models/text-embedding-005:predict``
with ``{"instances": [{"content": ..., "task_type": ...}], "parameters": {"outputDimensionality": D,
"autoTruncate": true}}`` and reads ``predictions[].embeddings.values``.

Requests respect the service's per-request limits (texts and tokens), run ``concurrency`` at a time,
and are retried with exponential backoff and full jitter on 429, 5xx, timeouts and dropped
connections; any other 4xx fails at once with the service's message. The SDK's own retries are off
(its default ``retry_options=None`` means one attempt), so this module's policy is the only one.

The endpoint is overridable (``endpoint`` setting, ``--vertex-endpoint``, or the environment variable
``CAMPAIGNLAB_VERTEX_ENDPOINT``); a loopback endpoint uses a fixed fake bearer token instead of
Google credentials, so tests run against a local fake server without any Google account.
"""

from __future__ import annotations

import os
import random
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any
from urllib.parse import urlparse

import numpy as np

from campaignlab.errors import CampaignlabError, ConfigError
from campaignlab.features.encoders import Progress, TextEncoder, check_dim

MODEL_NAME = "text-embedding-005"
ENDPOINT_ENV = "CAMPAIGNLAB_VERTEX_ENDPOINT"
PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
# text-embedding-005 limits (Vertex AI "Get text embeddings" docs): at most 250 input texts and
# 20,000 input tokens per request; each text is cut at 2,048 tokens (autoTruncate=true).
MAX_TEXTS_PER_REQUEST = 250
MAX_TOKENS_PER_REQUEST = 20_000
MAX_TOKENS_PER_TEXT = 2_048
# Output dimensionality text-embedding-005 can give (Matryoshka-style truncation of 768).
MAX_DIM = 768
TASK_TYPES = (
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
)
DEFAULT_TASK_TYPE = "CLASSIFICATION"
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class VertexError(CampaignlabError):
    """Vertex AI refused a request (a 4xx other than 429), or kept failing after every retry."""


def check_task_type(task_type: str | None) -> str:
    """Normalise and validate a task type (None -> CLASSIFICATION)."""
    if task_type is None:
        return DEFAULT_TASK_TYPE
    tt = task_type.strip().upper()
    if tt not in TASK_TYPES:
        raise ConfigError(f"task_type: got {task_type!r} -> expected one of {', '.join(TASK_TYPES)}")
    return tt


def estimate_tokens(text: str) -> int:
    """Upper-bound token estimate without the service's tokenizer (~3 bytes a token, capped per text).

    English averages ~4 characters per token; 3 bytes keeps a margin for short words and non-ASCII.
    A text counts at most MAX_TOKENS_PER_TEXT since the service truncates it there.
    """
    return min(MAX_TOKENS_PER_TEXT, len(text.encode("utf-8")) // 3 + 2)


def plan_requests(texts: list[str]) -> list[tuple[int, int]]:
    """Split ``texts`` into consecutive ``(start, stop)`` requests within the per-request limits."""
    out: list[tuple[int, int]] = []
    start, tokens = 0, 0
    for i, t in enumerate(texts):
        k = estimate_tokens(t)
        if i > start and (i - start >= MAX_TEXTS_PER_REQUEST or tokens + k > MAX_TOKENS_PER_REQUEST):
            out.append((start, i))
            start, tokens = i, 0
        tokens += k
    if start < len(texts):
        out.append((start, len(texts)))
    return out


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


class VertexEncoder(TextEncoder):
    """text-embedding-005 on Vertex AI.

    Args:
        task_type: one of TASK_TYPES (default CLASSIFICATION).
        dim: output dimensionality 1..768 (default 768).
        project: Google Cloud project (default ``$GOOGLE_CLOUD_PROJECT``; a loopback endpoint needs none).
        location: Vertex AI region.
        endpoint: base URL override (default ``$CAMPAIGNLAB_VERTEX_ENDPOINT``, else Google's).
        concurrency: requests in flight at once.
        timeout: seconds per request before it counts as a (retryable) timeout.
        max_retries: retries per request after the first attempt.
        backoff_initial: first backoff ceiling in seconds (doubles per retry, full jitter).
        backoff_max: largest backoff ceiling in seconds.
        model: model name (default text-embedding-005).
        seed: seed of the jitter (deterministic test timing).
    """

    name = "vertex"

    def __init__(
        self,
        *,
        task_type: str | None = None,
        dim: int | None = None,
        project: str | None = None,
        location: str = "us-central1",
        endpoint: str | None = None,
        concurrency: int = 4,
        timeout: float = 60.0,
        max_retries: int = 6,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        model: str = MODEL_NAME,
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.task_type = check_task_type(task_type)
        self.dim = check_dim(dim, range(1, MAX_DIM + 1), MAX_DIM, f"vertex {model}")
        self.endpoint = endpoint or os.environ.get(ENDPOINT_ENV) or None
        if self.endpoint and not urlparse(self.endpoint).scheme.startswith("http"):
            raise ConfigError(f"vertex endpoint: got {self.endpoint!r} -> expected an http(s):// URL")
        local = bool(self.endpoint) and _is_loopback(self.endpoint or "")
        self.project = project or os.environ.get(PROJECT_ENV) or ("campaignlab-local" if local else None)
        if not self.project:
            raise ConfigError(
                f"vertex project: none given -> set --vertex-project or ${PROJECT_ENV} "
                f"(or point ${ENDPOINT_ENV} at a local server)"
            )
        self.location = location
        self.anonymous = local
        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ConfigError("vertex: concurrency >= 1, max_retries >= 0 and timeout > 0 are required")
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._client: Any = None
        self._count_lock = threading.Lock()
        self._abort = threading.Event()
        self._fatal: VertexError | None = None
        self.requests_sent = 0
        self.retries = 0

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "endpoint": self.endpoint or "default (aiplatform.googleapis.com)",
            "location": self.location,
            "concurrency": self.concurrency,
            "requests": self.requests_sent,
            "retries": self.retries,
        }

    def _make_client(self) -> Any:
        from google import genai
        from google.genai import types

        http = types.HttpOptions(
            base_url=self.endpoint,
            timeout=int(self.timeout * 1000),  # milliseconds
            retry_options=None,  # one attempt per call: our retry policy below is the only one
        )
        kwargs: dict[str, Any] = {}
        if self.anonymous:
            # A static, never-expiring bearer token: the SDK insists on a token, but a local server
            # needs none (AnonymousCredentials fail: the SDK tries to refresh them).
            from google.oauth2.credentials import Credentials

            kwargs["credentials"] = Credentials(token="campaignlab-local-fake-token")
        return genai.Client(
            vertexai=True, project=self.project, location=self.location, http_options=http, **kwargs
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_initial * (2**attempt))
        with self._rng_lock:
            return self._rng.uniform(0, ceiling)

    def _embed_request(self, texts: list[str]) -> np.ndarray:
        """One request with retries -> (len(texts), dim) float32."""
        import httpx
        from google.genai import errors, types

        config = types.EmbedContentConfig(
            task_type=self.task_type, output_dimensionality=self.dim, auto_truncate=True
        )
        last = ""
        for attempt in range(self.max_retries + 1):
            if self._abort.is_set():
                raise VertexError("cancelled: another request of this batch failed")
            with self._count_lock:
                self.requests_sent += 1
            try:
                resp = self._client.models.embed_content(model=self.model, contents=texts, config=config)
            except errors.APIError as err:
                if err.code not in RETRY_STATUS and not (500 <= err.code < 600):
                    raise self._fail(
                        VertexError(
                            f"Vertex AI rejected the request (HTTP {err.code} {err.status or ''}): "
                            f"{err.message or err.details}; not retried "
                            f"(model {self.model}, {len(texts)} texts, task {self.task_type}, dim {self.dim})"
                        )
                    ) from None
                last = f"HTTP {err.code} {err.status or ''}: {err.message or ''}".strip()
            except (httpx.TimeoutException, httpx.TransportError) as err:
                last = f"{type(err).__name__}: {err}"
            else:
                return self._parse(resp, len(texts))
            if attempt < self.max_retries:
                with self._count_lock:
                    self.retries += 1
                # Event.wait instead of sleep: a failure elsewhere ends the backoff at once.
                if self._abort.wait(self._backoff(attempt)):
                    raise VertexError("cancelled: another request of this batch failed")
        raise self._fail(
            VertexError(f"Vertex AI request failed after {self.max_retries + 1} attempts; last error: {last}")
        )

    def _fail(self, err: VertexError) -> VertexError:
        """Record the batch's first fatal error and stop its other requests (queued ones never start)."""
        with self._count_lock:
            if self._fatal is None:
                self._fatal = err
        self._abort.set()
        return err

    def _parse(self, resp: Any, n: int) -> np.ndarray:
        embs = resp.embeddings or []
        if len(embs) != n:
            raise VertexError(f"Vertex AI returned {len(embs)} embeddings for {n} texts")
        vals = [e.values or [] for e in embs]
        bad = [len(v) for v in vals if len(v) != self.dim]
        if bad:
            raise VertexError(f"Vertex AI returned {bad[0]}-d vectors, expected {self.dim}")
        out = np.asarray(vals, dtype=np.float32)
        if not np.isfinite(out).all():
            raise VertexError("Vertex AI returned non-finite values")
        return out

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        if self._client is None:
            self._client = self._make_client()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        plan = plan_requests(texts)
        self._abort.clear()
        self._fatal = None
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="vertex") as pool:
            futures: dict[Future[np.ndarray], tuple[int, int]] = {
                pool.submit(self._embed_request, texts[a:b]): (a, b) for a, b in plan
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for f in done:
                    err = f.exception()
                    if err is not None:
                        # Stop the rest: queued requests are dropped, running ones end after their
                        # current attempt instead of retrying (the pool then shuts down quickly).
                        self._abort.set()
                        for p in pending:
                            p.cancel()
                        # The error that started it, not a request that was cancelled because of it.
                        raise self._fatal or err
                    a, b = futures[f]
                    out[a:b] = f.result()
                    if progress is not None:
                        progress(b - a)
        return out
