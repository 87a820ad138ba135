"""A fake Vertex AI text-embedding endpoint on 127.0.0.1, for the real google-genai SDK.

It answers ``POST /{version}/projects/{p}/locations/{l}/publishers/google/models/{model}:predict`` in
Vertex's format: ``{"instances": [{"content", "task_type"}], "parameters": {"outputDimensionality",
"autoTruncate"}}`` -> ``{"predictions": [{"embeddings": {"values": [...], "statistics": {...}}}]}``.

Vectors are deterministic: the unit vector seeded by (text, task type), cut to the requested
dimensionality, so the same text always gets the same vector and different task types differ.

Behaviour is scripted per request: push ``"ok"``, an HTTP status (429, 500, 400, ...) or
``("sleep", seconds)`` onto ``server.script``; when the script is empty every request succeeds.
Like the real service it rejects requests above 250 texts or 20,000 (estimated) tokens with a 400.
Every request is recorded in ``server.requests``.

Run by hand: ``python -m tests.fakes.vertex_embed_server --port 8765``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

PATH_RE = re.compile(
    r"^/(?P<ver>[^/]+)/projects/(?P<project>[^/]+)/locations/(?P<loc>[^/]+)/publishers/google/models/(?P<model>[^/:]+):predict$"
)
KNOWN_MODELS = {"text-embedding-005": 768, "text-embedding-004": 768, "text-multilingual-embedding-002": 768}
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def fake_vector(text: str, task_type: str | None, dim: int) -> list[float]:
    """Deterministic unit vector for (text, task type), cut to ``dim``."""
    seed = int.from_bytes(hashlib.sha256(f"{task_type}\x00{text}".encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(768)[:dim]
    return (v / np.linalg.norm(v)).astype(np.float32).tolist()


class FakeVertexEmbedServer:
    """Threaded HTTP server; use as a context manager. ``url`` is its base URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, code: int, message: str) -> None:
                status = STATUS_NAMES.get(code, "UNKNOWN")
                self._send(code, {"error": {"code": code, "message": message, "status": status}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = None
                with outer.lock:
                    action = outer.script.pop(0) if outer.script else "ok"
                    outer.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "action": action,
                            "headers": dict(self.headers),
                            "time": time.monotonic(),
                        }
                    )
                if isinstance(action, tuple) and action[0] == "sleep":
                    time.sleep(float(action[1]))
                elif isinstance(action, int):
                    self._error(action, f"scripted error {action}")
                    return
                m = PATH_RE.match(self.path.split("?")[0])
                if not m:
                    self._error(404, f"no such method: {self.path}")
                    return
                if m["model"] not in KNOWN_MODELS:
                    self._error(404, f"Publisher Model {m['model']} not found")
                    return
                if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
                    self._error(400, "request must hold an 'instances' list")
                    return
                instances = body["instances"]
                params = body.get("parameters") or {}
                dim = int(params.get("outputDimensionality") or KNOWN_MODELS[m["model"]])
                if not 1 <= dim <= KNOWN_MODELS[m["model"]]:
                    self._error(400, f"outputDimensionality {dim} is out of range [1, 768]")
                    return
                if len(instances) > 250:
                    self._error(400, f"{len(instances)} instances; the maximum is 250")
                    return
                tokens = sum(min(2048, len(str(i.get("content", "")).encode()) // 4 + 1) for i in instances)
                if tokens > 20_000:
                    self._error(400, f"{tokens} input tokens; the maximum is 20000")
                    return
                preds = []
                for inst in instances:
                    text = str(inst.get("content", ""))
                    values = fake_vector(text, inst.get("task_type"), dim)
                    stats = {"token_count": len(text.encode()) // 4 + 1, "truncated": False}
                    preds.append({"embeddings": {"values": values, "statistics": stats}})
                self._send(200, {"predictions": preds, "metadata": {"billableCharacterCount": 1}})

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FakeVertexEmbedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeVertexEmbedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def texts_received(self) -> list[str]:
        """Every text of every successful request, in arrival order."""
        out: list[str] = []
        for r in self.requests:
            if r["action"] == "ok" and isinstance(r["body"], dict):
                out += [i["content"] for i in r["body"].get("instances", [])]
        return out


def main() -> None:  # pragma: no cover - manual use
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    server = FakeVertexEmbedServer(port=args.port)
    print(f"fake Vertex embeddings at {server.url}", flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
