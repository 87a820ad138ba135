"""A minimal fake of the Cloud Storage JSON API's bucket and object-write calls, on 127.0.0.1.

Enough for the real google-cloud-storage client as ``pipeline submit --check`` uses it (bucket get,
object upload and delete) and for google-cloud-aiplatform's own pipeline-root bucket calls (bucket get
and create, bucket IAM). Buckets and objects live in memory; every request is recorded; errors are
injected per operation with Google's error JSON.

(A fuller fake of the same API, with listing, downloads and resumable uploads, is being written for
the own-data issue as ``tests/fakes/gcs_server.py``; this one is kept apart and small on purpose.)

Usage::

    with BucketFake() as gcs:
        gcs.add_bucket("runs-bucket")
        gcs.fail("upload_object", 403, "runner lacks storage.objects.create")
        env = {"CAMPAIGNLAB_STORAGE_ENDPOINT": gcs.url}
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_B = r"/storage/v1/b/(?P<bucket>[^/]+)"
ROUTES = [
    ("POST", re.compile(r"^/storage/v1/b$"), "create_bucket"),
    ("GET", re.compile(rf"^{_B}$"), "get_bucket"),
    ("GET", re.compile(rf"^{_B}/iam$"), "get_bucket_iam"),
    ("PUT", re.compile(rf"^{_B}/iam$"), "set_bucket_iam"),
    ("GET", re.compile(rf"^{_B}/o/(?P<object>.+)$"), "get_object"),
    ("DELETE", re.compile(rf"^{_B}/o/(?P<object>.+)$"), "delete_object"),
    ("POST", re.compile(r"^/upload/storage/v1/b/(?P<bucket>[^/]+)/o$"), "upload_object"),
]
STATUS_NAMES = {403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    operation: str


class BucketFake:
    """The fake server: ``buckets`` maps a bucket name to its objects (name -> bytes)."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, bytes]] = {}
        self.requests: list[Request] = []
        self.errors: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> BucketFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_bucket(self, name: str) -> None:
        self.buckets.setdefault(name, {})

    def fail(self, operation: str, code: int, message: str) -> None:
        """Answer every later ``operation`` request with this error."""
        self.errors[operation] = (code, message)

    def calls(self, operation: str) -> list[Request]:
        return [r for r in self.requests if r.operation == operation]

    def _error(self, code: int, message: str) -> tuple[int, Any]:
        status = STATUS_NAMES.get(code, "UNKNOWN")
        return code, {"error": {"code": code, "message": message, "status": status,
                                "errors": [{"message": message, "reason": status.lower()}]}}  # fmt: skip

    def _bucket_json(self, name: str) -> dict[str, Any]:
        return {"kind": "storage#bucket", "id": name, "name": name, "location": "US-CENTRAL1",
                "storageClass": "STANDARD", "projectNumber": "123456789"}  # fmt: skip

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], headers: Any, raw: bytes) -> Any:
        for m, pattern, operation in ROUTES:
            match = pattern.match(path)
            if m != method or not match:
                continue
            g = {k: unquote(v) for k, v in match.groupdict().items()}
            with self._lock:
                self.requests.append(Request(method, path, query, operation))
                if operation in self.errors:
                    return self._error(*self.errors[operation])
                if operation == "create_bucket":
                    name = json.loads(raw)["name"]
                    self.buckets.setdefault(name, {})
                    return 200, self._bucket_json(name)
                if g["bucket"] not in self.buckets:
                    return self._error(404, "The specified bucket does not exist.")
                objects = self.buckets[g["bucket"]]
                if operation == "get_bucket":
                    return 200, self._bucket_json(g["bucket"])
                if operation == "get_bucket_iam":
                    return 200, {"kind": "storage#policy", "version": 1, "etag": "CAE=", "bindings": [],
                                 "resourceId": f"projects/_/buckets/{g['bucket']}"}  # fmt: skip
                if operation == "set_bucket_iam":
                    return 200, {**json.loads(raw or b"{}"), "etag": "CAI="}
                if operation == "upload_object":
                    name, data = self._upload(query, headers, raw)
                    objects[name] = data
                    return 200, {"kind": "storage#object", "bucket": g["bucket"], "name": name,
                                 "size": str(len(data)), "generation": "1"}  # fmt: skip
                if g["object"] not in objects:
                    return self._error(404, f"No such object: {g['bucket']}/{g['object']}")
                if operation == "get_object":
                    return 200, {"kind": "storage#object", "bucket": g["bucket"], "name": g["object"],
                                 "size": str(len(objects[g["object"]]))}  # fmt: skip
                del objects[g["object"]]  # delete_object
                return 204, None
        return self._error(404, f"no route {method} {path}")

    @staticmethod
    def _upload(query: dict[str, list[str]], headers: Any, raw: bytes) -> tuple[str, bytes]:
        """uploadType=media (name in the query) or multipart (JSON metadata, then the data)."""
        if query.get("uploadType", [""])[0] == "media":
            return query["name"][0], raw
        head = f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + raw)
        parts = [p.get_payload(decode=True) for p in message.iter_parts()]
        meta = json.loads(parts[0])
        return meta["name"], parts[1] or b""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                query = parse_qs(parts.query)
                code, payload = fake._dispatch(self.command, parts.path, query, self.headers, raw)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        return Handler
