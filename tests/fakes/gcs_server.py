"""A fake of the Cloud Storage JSON API on 127.0.0.1, for the real google-cloud-storage client.

It keeps buckets and objects in memory and answers the routes the client uses for buckets (list, get,
create, delete, IAM policy, ``testIamPermissions``) and objects (list with prefix/delimiter/paging,
metadata, media download with ``Range``, media/multipart/resumable upload, delete). Downloads carry the
``x-goog-hash`` header (crc32c and md5), so the client verifies checksums as it does against Google.
Requests are recorded and errors injected per operation (see :mod:`tests.fakes.server`).

It serves the ingest and registry tests (objects, listing, uploads, downloads), ``pipeline submit
--check`` (bucket existence, IAM, a write probe) and, through :class:`VertexFake`, the bucket calls
google-cloud-aiplatform makes on a pipeline root.

Usage::

    with GcsFake() as gcs:
        gcs.create_bucket("runs-bucket")                        # an empty bucket
        gcs.put("bucket", "exports/campaigns.csv", data)        # seed objects (creates the bucket)
        env = {"CAMPAIGNLAB_STORAGE_ENDPOINT": gcs.url}         # or client_options={"api_endpoint": gcs.url}
        gcs.fail("download_object", 403, "caller lacks storage.objects.get")
        gcs.deny_permissions("bucket", {"storage.objects.create"})  # testIamPermissions leaves these out

Run by hand: ``python -m tests.fakes.gcs_server --port 8766``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, cast
from urllib.parse import quote

from tests.fakes.server import ApiError, FakeServer, Reply, Request, Route, route, run_by_hand

NOW = "2026-01-05T03:00:00.000Z"
_B = r"/storage/v1/b/(?P<bucket>[^/]+)"
_O = rf"{_B}/o/(?P<object>.+)"
STORAGE_ROUTES: tuple[Route, ...] = (
    route("GET", r"/storage/v1/b", "list_buckets"),
    route("POST", r"/storage/v1/b", "create_bucket"),
    route("GET", _B, "get_bucket"),
    route("DELETE", _B, "delete_bucket"),
    route("GET", rf"{_B}/iam", "get_bucket_iam"),
    route("PUT", rf"{_B}/iam", "set_bucket_iam"),
    route("GET", rf"{_B}/iam/testPermissions", "test_iam_permissions"),
    route("GET", rf"{_B}/o", "list_objects"),
    route("GET", _O, "download_object", alt="media"),
    route("GET", _O, "get_object"),
    route("GET", rf"/download{_O}", "download_object"),
    route("DELETE", _O, "delete_object"),
    route("POST", rf"/upload{_B}/o", "upload_object"),
    route("PUT", rf"/upload{_B}/o", "upload_chunk"),
)


@dataclass
class StoredObject:
    data: bytes
    meta: dict[str, Any]


def _crc32c_b64(data: bytes) -> str:
    import google_crc32c

    return base64.b64encode(google_crc32c.Checksum(data).digest()).decode()


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # GCS's own checksum


class GcsFake(FakeServer):
    """The fake Cloud Storage server; ``url`` is its base URL (the client's api_endpoint).

    Attributes:
        buckets: bucket name -> its metadata.
        objects: bucket name -> object name -> its bytes and metadata.
    """

    routes = STORAGE_ROUTES

    def __init__(self, page_size: int = 1000) -> None:
        super().__init__()
        self.page_size = page_size
        self.buckets: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, dict[str, StoredObject]] = {}
        self.denied: dict[str, set[str]] = {}
        self._uploads: dict[str, dict[str, Any]] = {}
        self._gen = itertools.count(1_700_000_000_000_001)

    # --- test helpers ----------------------------------------------------------------------------

    def create_bucket(self, name: str, **meta: Any) -> dict[str, Any]:
        """Create a bucket directly (as if it existed before the test)."""
        with self.lock:
            return self._new_bucket(name, meta)

    def put(
        self, bucket: str, name: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        """Store an object directly (creating its bucket if needed)."""
        with self.lock:
            if bucket not in self.buckets:
                self._new_bucket(bucket, {})
            self._store(bucket, name, data, {"contentType": content_type})

    def get(self, bucket: str, name: str) -> bytes:
        """An object's bytes (KeyError if absent)."""
        return self.objects[bucket][name].data

    def names(self, bucket: str) -> list[str]:
        """The names of a bucket's objects, sorted."""
        return sorted(self.objects.get(bucket, {}))

    def deny_permissions(self, bucket: str, permissions: set[str]) -> None:
        """``testIamPermissions`` on ``bucket`` will not grant these."""
        self.denied[bucket] = set(permissions)

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

    def _objects(self, req: Request) -> dict[str, StoredObject]:
        """The objects of the request's bucket (404 if it does not exist)."""
        if req.params["bucket"] not in self.buckets:
            raise ApiError(404, "The specified bucket does not exist.")
        return self.objects[req.params["bucket"]]

    def _object(self, req: Request) -> StoredObject:
        obj = self._objects(req).get(req.params["object"])
        if obj is None:
            raise ApiError(404, f"No such object: {req.params['bucket']}/{req.params['object']}")
        return obj

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

    # --- buckets ---------------------------------------------------------------------------------

    def _list_buckets(self, req: Request) -> Any:
        items = list(self.buckets.values())
        return {"kind": "storage#buckets", **({"items": items} if items else {})}

    def _create_bucket(self, req: Request) -> Any:
        meta = dict(req.body or {})
        name = meta.pop("name", "")
        if name in self.buckets:
            raise ApiError(
                409, "Your previous request to create the named bucket succeeded and you already own it."
            )
        return self._new_bucket(name, meta)

    def _get_bucket(self, req: Request) -> Any:
        self._objects(req)
        return self.buckets[req.params["bucket"]]

    def _delete_bucket(self, req: Request) -> Any:
        if self._objects(req):
            raise ApiError(409, "The bucket you tried to delete is not empty.")
        del self.buckets[req.params["bucket"]], self.objects[req.params["bucket"]]
        return Reply(204)

    def _get_bucket_iam(self, req: Request) -> Any:
        self._objects(req)
        return self.buckets[req.params["bucket"]].get("_iam") or {
            "kind": "storage#policy",
            "resourceId": f"projects/_/buckets/{req.params['bucket']}",
            "version": 1,
            "etag": "CAE=",
            "bindings": [],
        }

    def _set_bucket_iam(self, req: Request) -> Any:
        self._objects(req)
        policy = {**(req.body or {}), "etag": "CAI="}
        self.buckets[req.params["bucket"]]["_iam"] = policy
        return policy

    def _test_iam_permissions(self, req: Request) -> Any:
        self._objects(req)
        denied = self.denied.get(req.params["bucket"], set())
        granted = [p for p in req.query.get("permissions", []) if p not in denied]
        return {"kind": "storage#testIamPermissionsResponse", **({"permissions": granted} if granted else {})}

    # --- objects ---------------------------------------------------------------------------------

    def _list_objects(self, req: Request) -> Any:
        objects = self._objects(req)
        prefix, delimiter, start = req.arg("prefix"), req.arg("delimiter"), req.arg("pageToken")
        size = min(int(req.arg("maxResults", str(self.page_size))), self.page_size)
        items, prefixes = [], []
        for n in sorted(n for n in objects if n.startswith(prefix) and n > start):
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
            out["items"] = [objects[n].meta for n in page]
        if prefixes:
            out["prefixes"] = prefixes
        if more:
            out["nextPageToken"] = page[-1]
        return out

    def _get_object(self, req: Request) -> Any:
        return self._object(req).meta

    def _download_object(self, req: Request) -> Any:
        obj = self._object(req)
        data = obj.data
        headers = {
            "Content-Type": obj.meta["contentType"],
            "x-goog-hash": f"crc32c={obj.meta['crc32c']},md5={obj.meta['md5Hash']}",
            "x-goog-generation": obj.meta["generation"],
            "x-goog-stored-content-length": str(len(data)),
        }
        m = re.match(r"bytes=(\d+)-(\d*)", req.headers.get("range", ""))
        if m:
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) else len(data) - 1
            part = data[lo : hi + 1]
            headers["Content-Range"] = f"bytes {lo}-{lo + len(part) - 1}/{len(data)}"
            return Reply(206, headers=headers, data=part)
        return Reply(200, headers=headers, data=data)

    def _delete_object(self, req: Request) -> Any:
        self._object(req)
        del self.objects[req.params["bucket"]][req.params["object"]]
        return Reply(204)

    def _upload_object(self, req: Request) -> Any:
        bucket = req.params["bucket"]
        self._objects(req)
        kind = req.arg("uploadType", "media")
        if kind == "media":
            return self._store(
                bucket, req.arg("name"), req.raw, {"contentType": req.headers.get("content-type")}
            )
        if kind == "multipart":
            meta, data = _parse_multipart(req.headers.get("content-type", ""), req.raw)
            return self._store(bucket, meta.get("name") or req.arg("name"), data, meta)
        if kind == "resumable":
            meta = dict(req.body or {})
            meta.setdefault("name", req.arg("name"))
            upload_id = f"up{next(self._gen)}"
            self._uploads[upload_id] = {"bucket": bucket, "meta": meta, "data": b""}
            loc = f"{self.url}/upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={upload_id}"
            return Reply(200, {}, {"Location": loc})
        raise ApiError(400, f"uploadType {kind!r} is not supported")

    def _upload_chunk(self, req: Request) -> Any:
        up = self._uploads.get(req.arg("upload_id"))
        if up is None:
            raise ApiError(404, "No such upload session")
        m = re.match(r"bytes (\*|(\d+)-(\d+))/(\*|\d+)", req.headers.get("content-range", "bytes */*"))
        if m and m.group(2) is not None:
            if int(m.group(2)) != len(up["data"]):
                raise ApiError(400, "Invalid request: chunk does not start at the persisted offset")
            up["data"] += req.raw
        total = m.group(4) if m else "*"
        if total != "*" and len(up["data"]) >= int(total):
            self._uploads.pop(req.arg("upload_id"))
            return self._store(up["bucket"], up["meta"]["name"], up["data"], up["meta"])
        headers = {"Range": f"bytes=0-{len(up['data']) - 1}"} if up["data"] else {}
        return Reply(308, headers=headers, data=b"")


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    """A multipart/related upload body -> (object metadata, media bytes)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    if not message.is_multipart():
        raise ApiError(400, f"multipart upload without a boundary: {content_type!r}")
    parts = [cast(bytes, p.get_payload(decode=True)) for p in message.iter_parts()]
    meta = json.loads(parts[0] or b"{}")
    return meta, parts[1] if len(parts) > 1 else b""


if __name__ == "__main__":  # pragma: no cover
    run_by_hand(GcsFake(), default_port=8766)
