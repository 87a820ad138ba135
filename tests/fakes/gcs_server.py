"""A fake of the Cloud Storage JSON API on 127.0.0.1, for the real google-cloud-storage client.

It keeps buckets and objects in memory and answers the routes the client uses for buckets (get, create,
delete, IAM policy, ``testIamPermissions``) and objects (list with prefix/delimiter/paging, metadata,
media download with ``Range``, simple/multipart/resumable upload, delete). Downloads carry the
``x-goog-hash`` header (crc32c and md5), so the client verifies checksums as it does against Google.
Every request is recorded (method, path, query, operation) for assertions, and errors are injected per
operation with Google's error JSON, as the real service sends them.

Usage::

    with GcsFake() as gcs:
        gcs.put("bucket", "exports/campaigns.csv", data)      # seed objects
        env = {"CAMPAIGNLAB_STORAGE_ENDPOINT": gcs.url}         # or client_options={"api_endpoint": gcs.url}
        gcs.fail("download_object", 403, "caller lacks storage.objects.get")
        gcs.deny_permissions("bucket", {"storage.objects.create"})  # testIamPermissions leaves these out

Run by hand: ``python -m tests.fakes.gcs_server --port 8766``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

NOW = "2026-01-05T03:00:00.000Z"
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_B = r"/storage/v1/b/(?P<bucket>[^/]+)"
ROUTES = [
    ("GET", re.compile(r"^/storage/v1/b$"), "list_buckets"),
    ("POST", re.compile(r"^/storage/v1/b$"), "create_bucket"),
    ("GET", re.compile(rf"^{_B}$"), "get_bucket"),
    ("DELETE", re.compile(rf"^{_B}$"), "delete_bucket"),
    ("GET", re.compile(rf"^{_B}/iam$"), "get_bucket_iam"),
    ("PUT", re.compile(rf"^{_B}/iam$"), "set_bucket_iam"),
    ("GET", re.compile(rf"^{_B}/iam/testPermissions$"), "test_iam_permissions"),
    ("GET", re.compile(rf"^{_B}/o$"), "list_objects"),
    ("GET", re.compile(rf"^{_B}/o/(?P<object>.+)$"), "get_object"),
    ("GET", re.compile(rf"^/download{_B}/o/(?P<object>.+)$"), "download_object"),
    ("DELETE", re.compile(rf"^{_B}/o/(?P<object>.+)$"), "delete_object"),
    ("POST", re.compile(rf"^/upload{_B}/o$"), "upload_object"),
    ("PUT", re.compile(rf"^/upload{_B}/o$"), "upload_chunk"),
]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    operation: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class StoredObject:
    data: bytes
    meta: dict[str, Any]


def _crc32c_b64(data: bytes) -> str:
    import google_crc32c

    return base64.b64encode(google_crc32c.Checksum(data).digest()).decode()


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # GCS's own checksum


class GcsFake:
    """The fake server; use as a context manager. ``url`` is its base URL (the client's api_endpoint)."""

    def __init__(self, page_size: int = 1000) -> None:
        self.page_size = page_size
        self.requests: list[Request] = []
        self.buckets: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, dict[str, StoredObject]] = {}
        self.errors: dict[str, tuple[int, str, str]] = {}
        self.denied: dict[str, set[str]] = {}
        self._uploads: dict[str, dict[str, Any]] = {}
        self._gen = itertools.count(1_700_000_000_000_001)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> GcsFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- test helpers ----------------------------------------------------------------------------

    def create_bucket(self, name: str, **meta: Any) -> dict[str, Any]:
        """Create a bucket directly (as if it existed before the test)."""
        with self._lock:
            return self._new_bucket(name, meta)

    def put(
        self, bucket: str, name: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        """Store an object directly (creating its bucket if needed)."""
        with self._lock:
            if bucket not in self.buckets:
                self._new_bucket(bucket, {})
            self._store(bucket, name, data, {"contentType": content_type})

    def get(self, bucket: str, name: str) -> bytes:
        """An object's bytes (KeyError if absent)."""
        return self.objects[bucket][name].data

    def names(self, bucket: str) -> list[str]:
        return sorted(self.objects.get(bucket, {}))

    def fail(self, operation: str, code: int, message: str, status: str | None = None) -> None:
        """Answer every later ``operation`` request with this error."""
        self.errors[operation] = (code, status or STATUS_NAMES.get(code, "UNKNOWN"), message)

    def clear_failures(self) -> None:
        self.errors.clear()

    def deny_permissions(self, bucket: str, permissions: set[str]) -> None:
        """``testIamPermissions`` on ``bucket`` will not grant these."""
        self.denied[bucket] = set(permissions)

    def calls(self, operation: str) -> list[Request]:
        return [r for r in self.requests if r.operation == operation]

    # --- state -----------------------------------------------------------------------------------

    def _new_bucket(self, name: str, meta: dict[str, Any]) -> dict[str, Any]:
        bucket = {
            "kind": "storage#bucket",
            "id": name,
            "name": name,
            "projectNumber": "123456789",
            "metageneration": "1",
            "location": "US",
            "storageClass": "STANDARD",
            "timeCreated": NOW,
            "updated": NOW,
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}},
            **meta,
        }
        self.buckets[name] = bucket
        self.objects.setdefault(name, {})
        return bucket

    def _store(self, bucket: str, name: str, data: bytes, meta: dict[str, Any]) -> dict[str, Any]:
        gen = str(next(self._gen))
        resource = {
            "kind": "storage#object",
            "id": f"{bucket}/{name}/{gen}",
            "selfLink": f"{self.url}/storage/v1/b/{bucket}/o/{quote(name, safe='')}",
            "mediaLink": f"{self.url}/download/storage/v1/b/{bucket}/o/{quote(name, safe='')}"
            f"?generation={gen}&alt=media",
            "name": name,
            "bucket": bucket,
            "generation": gen,
            "metageneration": "1",
            "contentType": meta.get("contentType") or "application/octet-stream",
            "storageClass": "STANDARD",
            "size": str(len(data)),
            "md5Hash": _md5_b64(data),
            "crc32c": _crc32c_b64(data),
            "etag": "CAE=",
            "timeCreated": NOW,
            "updated": NOW,
            **{k: v for k, v in meta.items() if k in ("metadata", "cacheControl", "contentEncoding")},
        }
        self.objects[bucket][name] = StoredObject(data, resource)
        return resource

    # --- routes ----------------------------------------------------------------------------------

    @staticmethod
    def _error(code: int, message: str) -> tuple[int, Any, dict[str, str], bytes | None]:
        status = STATUS_NAMES.get(code, "UNKNOWN")
        detail = [{"message": message, "domain": "global", "reason": status.lower()}]
        body = {"error": {"code": code, "message": message, "status": status, "errors": detail}}
        return code, body, {}, None

    def _dispatch(
        self, method: str, raw_path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str], bytes | None]:
        for m, pattern, operation in ROUTES:
            match = pattern.match(raw_path)
            if m != method or not match:
                continue
            if operation == "get_object" and query.get("alt", [""])[0] == "media":
                operation = "download_object"
            with self._lock:
                self.requests.append(Request(method, raw_path, query, operation, headers))
                if operation in self.errors:
                    code, status, message = self.errors[operation]
                    return code, {"error": {"code": code, "message": message, "status": status}}, {}, None
                groups = {k: unquote(v) for k, v in match.groupdict().items()}
                unknown_bucket = "bucket" in groups and groups["bucket"] not in self.buckets
                if unknown_bucket and operation not in ("create_bucket", "list_buckets"):
                    return self._error(404, "The specified bucket does not exist.")
                result: tuple[int, Any, dict[str, str], bytes | None] = getattr(self, f"_{operation}")(
                    groups, query, headers, body
                )
                return result
        return self._error(404, f"no route {method} {raw_path}")

    def _list_buckets(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        items = list(self.buckets.values())
        return 200, {"kind": "storage#buckets", **({"items": items} if items else {})}, {}, None

    def _create_bucket(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        meta = json.loads(body or b"{}")
        name = meta.get("name", "")
        if name in self.buckets:
            return self._error(
                409, "Your previous request to create the named bucket succeeded and you already own it."
            )
        return 200, self._new_bucket(name, {k: v for k, v in meta.items() if k != "name"}), {}, None

    def _get_bucket(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        return 200, self.buckets[g["bucket"]], {}, None

    def _delete_bucket(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        if self.objects.get(g["bucket"]):
            return self._error(409, "The bucket you tried to delete is not empty.")
        del self.buckets[g["bucket"]]
        return 204, None, {}, b""

    def _get_bucket_iam(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        policy = self.buckets[g["bucket"]].get("_iam") or {
            "kind": "storage#policy",
            "resourceId": f"projects/_/buckets/{g['bucket']}",
            "version": 1,
            "etag": "CAE=",
            "bindings": [],
        }
        return 200, policy, {}, None

    def _set_bucket_iam(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        policy = {**json.loads(body or b"{}"), "etag": "CAI="}
        self.buckets[g["bucket"]]["_iam"] = policy
        return 200, policy, {}, None

    def _test_iam_permissions(
        self, g: dict, q: dict, h: dict, body: bytes
    ) -> tuple[int, Any, dict, bytes | None]:
        granted = [p for p in q.get("permissions", []) if p not in self.denied.get(g["bucket"], set())]
        return (
            200,
            {"kind": "storage#testIamPermissionsResponse", **({"permissions": granted} if granted else {})},
            {},
            None,
        )

    def _list_objects(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        prefix = q.get("prefix", [""])[0]
        delimiter = q.get("delimiter", [""])[0]
        size = min(int(q.get("maxResults", [self.page_size])[0]), self.page_size)
        start = q.get("pageToken", [""])[0]
        names = sorted(n for n in self.objects[g["bucket"]] if n.startswith(prefix) and n > start)
        items, prefixes = [], []
        for n in names:
            rest = n[len(prefix) :]
            if delimiter and delimiter in rest:
                p = prefix + rest.split(delimiter)[0] + delimiter
                if p not in prefixes:
                    prefixes.append(p)
                continue
            items.append(n)
        page, more = items[:size], items[size:]
        out: dict[str, Any] = {"kind": "storage#objects"}
        if page:
            out["items"] = [self.objects[g["bucket"]][n].meta for n in page]
        if prefixes:
            out["prefixes"] = prefixes
        if more:
            out["nextPageToken"] = page[-1]
        return 200, out, {}, None

    def _get_object(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        obj = self.objects[g["bucket"]].get(g["object"])
        if obj is None:
            return self._error(404, f"No such object: {g['bucket']}/{g['object']}")
        return 200, obj.meta, {}, None

    def _download_object(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        obj = self.objects[g["bucket"]].get(g["object"])
        if obj is None:
            return self._error(404, f"No such object: {g['bucket']}/{g['object']}")
        data = obj.data
        headers = {
            "Content-Type": obj.meta["contentType"],
            "x-goog-hash": f"crc32c={obj.meta['crc32c']},md5={obj.meta['md5Hash']}",
            "x-goog-generation": obj.meta["generation"],
            "x-goog-stored-content-length": str(len(data)),
        }
        rng = h.get("range", "")
        m = re.match(r"bytes=(\d+)-(\d*)", rng)
        if m:
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) else len(data) - 1
            part = data[lo : hi + 1]
            headers["Content-Range"] = f"bytes {lo}-{lo + len(part) - 1}/{len(data)}"
            return 206, None, headers, part
        return 200, None, headers, data

    def _delete_object(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        if self.objects[g["bucket"]].pop(g["object"], None) is None:
            return self._error(404, f"No such object: {g['bucket']}/{g['object']}")
        return 204, None, {}, b""

    def _upload_object(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        kind = q.get("uploadType", ["media"])[0]
        if kind == "media":
            name = q.get("name", [""])[0]
            return 200, self._store(g["bucket"], name, body, {"contentType": h.get("content-type")}), {}, None
        if kind == "multipart":
            meta, data = _parse_multipart(h.get("content-type", ""), body)
            name = meta.get("name") or q.get("name", [""])[0]
            return 200, self._store(g["bucket"], name, data, meta), {}, None
        if kind == "resumable":
            meta = json.loads(body or b"{}")
            meta.setdefault("name", q.get("name", [""])[0])
            upload_id = f"up{next(self._gen)}"
            self._uploads[upload_id] = {"bucket": g["bucket"], "meta": meta, "data": b""}
            loc = f"{self.url}/upload/storage/v1/b/{g['bucket']}/o?uploadType=resumable&upload_id={upload_id}"
            return 200, {}, {"Location": loc}, None
        return self._error(400, f"uploadType {kind!r} is not supported")

    def _upload_chunk(self, g: dict, q: dict, h: dict, body: bytes) -> tuple[int, Any, dict, bytes | None]:
        up = self._uploads.get(q.get("upload_id", [""])[0])
        if up is None:
            return self._error(404, "No such upload session")
        m = re.match(r"bytes (\*|(\d+)-(\d+))/(\*|\d+)", h.get("content-range", "bytes */*"))
        if m and m.group(2) is not None:
            if int(m.group(2)) != len(up["data"]):
                return self._error(400, "Invalid request: chunk does not start at the persisted offset")
            up["data"] += body
        total = m.group(4) if m else "*"
        if total != "*" and len(up["data"]) >= int(total):
            self._uploads.pop(q["upload_id"][0])
            return 200, self._store(up["bucket"], up["meta"]["name"], up["data"], up["meta"]), {}, None
        headers = {"Range": f"bytes=0-{len(up['data']) - 1}"} if up["data"] else {}
        return 308, None, headers, b""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                code, payload, extra, data = fake._dispatch(
                    self.command, parts.path, parse_qs(parts.query), headers, raw
                )
                if data is None:
                    data = json.dumps(payload).encode() if payload is not None else b""
                    extra = {"Content-Type": "application/json; charset=UTF-8", **extra}
                self.send_response(code)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        return Handler


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    """A multipart/related upload body -> (object metadata, media bytes)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ValueError(f"multipart upload without a boundary: {content_type!r}")
    boundary = b"--" + m.group(1).encode()
    parts = [p for p in body.split(boundary) if p.strip() not in (b"", b"--")]
    sections = []
    for p in parts:
        head, _, content = p.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        sections.append((head, content))
    meta = json.loads(sections[0][1] or b"{}")
    return meta, sections[1][1] if len(sections) > 1 else b""


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual use
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8766)
    args = ap.parse_args(argv)
    fake = GcsFake()
    fake._server.server_close()
    fake._server = ThreadingHTTPServer(("127.0.0.1", args.port), fake._handler())
    print(f"fake Cloud Storage on {fake.url} (Ctrl-C to stop)")
    fake._server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
