"""One text-encoder interface, two implementations: ``local`` (offline MiniLM) and ``vertex``.

An encoder turns a list of texts into an ``(n, dim)`` float32 matrix. It knows nothing about caching
or deduplication: :func:`encode_texts` wraps any encoder with both, so each distinct text is embedded
at most once per namespace (encoder, model, task type, dimensionality).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from campaignlab.errors import ConfigError
from campaignlab.features.cache import EmbeddingCache

ENCODERS = ("local", "vertex")

Progress = Callable[[int], None]
"""progress(number of texts newly done)."""


class TextEncoder(abc.ABC):
    """Interface of a text encoder.

    Attributes:
        name: ``local`` or ``vertex``.
        model: model name recorded in manifests and cache keys.
        task_type: task type the vectors are made for, or None when the model has none.
        dim: length of every vector.
    """

    name: str
    model: str
    task_type: str | None
    dim: int

    def cache_namespace(self) -> dict[str, object]:
        """Everything besides the text that determines a vector (the cache namespace)."""
        return {"encoder": self.name, "model": self.model, "task_type": self.task_type, "dim": self.dim}

    @abc.abstractmethod
    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Embed ``texts`` -> (len(texts), dim) float32, in input order."""

    def describe(self) -> dict[str, object]:
        """Settings recorded in the manifest."""
        return self.cache_namespace()


def make_encoder(
    encoder: str,
    *,
    task_type: str | None = None,
    dim: int | None = None,
    **options: object,
) -> TextEncoder:
    """Build an encoder by name, validating the task type and dimensionality it can give.

    Args:
        encoder: ``local`` or ``vertex``.
        task_type: Vertex task type (e.g. CLASSIFICATION); ``local`` has none and rejects one.
        dim: output dimensionality; None takes the model default (local 384, vertex 768).
        **options: implementation settings (``backend``/``batch_size`` for local; ``project``,
            ``location``, ``endpoint``, ``concurrency``, ``timeout``, ``max_retries`` for vertex).

    Raises:
        ConfigError: unknown encoder, task type or an impossible dimensionality.
    """
    if encoder == "local":
        from campaignlab.features.local import LocalEncoder

        return LocalEncoder(task_type=task_type, dim=dim, **options)  # type: ignore[arg-type]
    if encoder == "vertex":
        from campaignlab.features.vertex import VertexEncoder

        return VertexEncoder(task_type=task_type, dim=dim, **options)  # type: ignore[arg-type]
    raise ConfigError(f"encoder: got {encoder!r} -> expected one of {', '.join(ENCODERS)}")


@dataclass
class EncodeStats:
    """What :func:`encode_texts` did: unique texts, cache hits, texts embedded now, seconds."""

    texts: int = 0
    unique: int = 0
    cache_hits: int = 0
    embedded: int = 0
    seconds: float = 0.0


def encode_texts(
    encoder: TextEncoder,
    texts: list[str],
    cache: EmbeddingCache | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = 2048,
) -> tuple[np.ndarray, EncodeStats]:
    """Embed ``texts`` with deduplication and a cache; returns (len(texts), dim) float32 and stats.

    Distinct texts are embedded once; texts already in ``cache`` are not embedded at all. The rest are
    sorted by length (so batches hold texts of similar length and little padding) and sent in chunks of
    ``chunk``; each chunk goes to the cache as soon as it is done, so an interrupted run keeps its work.

    Args:
        encoder: any :class:`TextEncoder`.
        texts: texts in output order (duplicates allowed).
        cache: optional cache with the encoder's namespace.
        progress: ``progress(done, total)`` over the distinct texts.
        chunk: texts per encoder call and cache block.
    """
    t0 = time.perf_counter()
    uniq, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    uniq_list = [str(t) for t in uniq]
    stats = EncodeStats(texts=len(texts), unique=len(uniq_list))
    out = np.zeros((len(uniq_list), encoder.dim), dtype=np.float32)
    todo = np.arange(len(uniq_list))
    digests: list[bytes] = []
    if cache is not None:
        cache.refresh()
        digests = [cache.digest(t) for t in uniq_list]
        found, vecs = cache.lookup(digests)
        if vecs is not None:
            if vecs.shape[1] != encoder.dim:
                raise ConfigError(
                    f"cache {cache.folder} holds {vecs.shape[1]}-d vectors, expected {encoder.dim}"
                )
            out[found] = vecs
        todo = np.flatnonzero(~found)
        stats.cache_hits = int(found.sum())
    total = len(uniq_list)
    done = stats.cache_hits
    if progress is not None:
        progress(done, total)
    # Longest first: the slowest batches run while the progress bar is fresh and memory peaks early.
    order = sorted(todo.tolist(), key=lambda i: -len(uniq_list[i]))
    for start in range(0, len(order), chunk):
        idx = order[start : start + chunk]
        batch = [uniq_list[i] for i in idx]

        def step(n: int, base: int = done) -> None:
            if progress is not None:
                progress(min(base + n, total), total)

        counter = _Counter(step)
        vecs = encoder.encode(batch, progress=counter)
        if vecs.shape != (len(batch), encoder.dim) or not np.isfinite(vecs).all():
            raise RuntimeError(f"{encoder.name} encoder returned shape {vecs.shape} or non-finite values")
        out[idx] = vecs
        if cache is not None:
            cache.put([digests[i] for i in idx], vecs)
        done += len(batch)
        stats.embedded += len(batch)
        if progress is not None:
            progress(done, total)
    stats.seconds = time.perf_counter() - t0
    return out[inverse.reshape(-1)], stats


class _Counter:
    """Accumulates per-batch increments into a running count for a progress callback."""

    def __init__(self, cb: Callable[[int], None]) -> None:
        self.n = 0
        self.cb = cb

    def __call__(self, k: int) -> None:
        self.n += k
        self.cb(self.n)


def check_dim(dim: int | None, allowed: range | tuple[int, ...], default: int, what: str) -> int:
    """Return ``dim`` (or the default) if the model can give it, else raise a ConfigError."""
    if dim is None:
        return default
    if dim not in allowed:
        span = (
            f"1 to {allowed.stop - 1}"
            if isinstance(allowed, range)
            else "only " + " or ".join(str(a) for a in allowed)
        )
        raise ConfigError(f"dim: got {dim} -> {what} gives {span} dimensions")
    return dim
