"""A fake Vertex AI text-embedding endpoint on 127.0.0.1, for the real google-genai SDK.

It answers ``POST /{version}/projects/{p}/locations/{l}/publishers/google/models/{model}:predict`` in
Vertex's format: ``{"instances": [{"content", "task_type"}], "parameters": {"outputDimensionality",
"autoTruncate"}}`` -> ``{"predictions": [{"embeddings": {"values": [...], "statistics": {...}}}]}``.

Vectors are deterministic: the unit vector seeded by (text, task type), cut to the requested
dimensionality, so the same text always gets the same vector and different task types differ.

Behaviour is scripted per request: push ``"ok"``, an HTTP status (429, 500, 400, ...) or
``("sleep", seconds)`` onto ``server.script``; when the script is empty every request succeeds.
Like the real service it rejects requests above 250 texts or 20,000 (estimated) tokens with a 400.
Every request is recorded in ``server.requests`` (see :mod:`tests.fakes.server`).

Run by hand: ``python -m tests.fakes.vertex_embed_server --port 8765``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from tests.fakes.server import ApiError, FakeServer, Request, route, run_by_hand

KNOWN_MODELS = {"text-embedding-005": 768, "text-embedding-004": 768, "text-multilingual-embedding-002": 768}


def fake_vector(text: str, task_type: str | None, dim: int) -> list[float]:
    """Deterministic unit vector for (text, task type), cut to ``dim``."""
    seed = int.from_bytes(hashlib.sha256(f"{task_type}\x00{text}".encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(768)[:dim]
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


class FakeVertexEmbedServer(FakeServer):
    """The fake endpoint; use as a context manager. ``url`` is its base URL."""

    routes = (
        route(
            "POST",
            r"/(?P<ver>[^/]+)/projects/(?P<project>[^/]+)/locations/(?P<loc>[^/]+)"
            r"/publishers/google/models/(?P<model>[^/:]+):predict",
            "predict",
        ),
    )

    def texts_received(self) -> list[str]:
        """Every text of every successful request, in arrival order."""
        out: list[str] = []
        for r in self.requests:
            if r.action == "ok" and isinstance(r.body, dict):
                out += [i["content"] for i in r.body.get("instances", [])]
        return out

    def _predict(self, req: Request) -> Any:
        model, body = req.params["model"], req.body
        if model not in KNOWN_MODELS:
            raise ApiError(404, f"Publisher Model {model} not found")
        if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
            raise ApiError(400, "request must hold an 'instances' list")
        instances = body["instances"]
        dim = int((body.get("parameters") or {}).get("outputDimensionality") or KNOWN_MODELS[model])
        if not 1 <= dim <= KNOWN_MODELS[model]:
            raise ApiError(400, f"outputDimensionality {dim} is out of range [1, 768]")
        if len(instances) > 250:
            raise ApiError(400, f"{len(instances)} instances; the maximum is 250")
        tokens = sum(min(2048, len(str(i.get("content", "")).encode()) // 4 + 1) for i in instances)
        if tokens > 20_000:
            raise ApiError(400, f"{tokens} input tokens; the maximum is 20000")
        preds = []
        for inst in instances:
            text = str(inst.get("content", ""))
            values = fake_vector(text, inst.get("task_type"), dim)
            stats = {"token_count": len(text.encode()) // 4 + 1, "truncated": False}
            preds.append({"embeddings": {"values": values, "statistics": stats}})
        return {"predictions": preds, "metadata": {"billableCharacterCount": 1}}


if __name__ == "__main__":  # pragma: no cover
    run_by_hand(FakeVertexEmbedServer(), default_port=8765)
