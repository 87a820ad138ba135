"""A fake of the Vertex AI Pipelines REST API (v1) and of the Cloud Storage bucket calls it makes.

It runs on 127.0.0.1 in a thread and answers exactly the routes that google-cloud-aiplatform's REST
transport uses for ``PipelineJob.submit/wait`` and ``PipelineJobSchedule.create/list/get/delete``,
plus the bucket checks the client makes on the pipeline root (``storage/v1/b``). Every request is
recorded (method, path, query, JSON body) for assertions. Errors are injected per operation with
Google's error JSON (``{"error": {"code", "message", "status"}}``), as the real service sends them.

Usage::

    with VertexFake() as fake:
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": fake.url}
        fake.fail("create_pipeline_job", 403, "caller lacks aiplatform.pipelineJobs.create")
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_LOC = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
ROUTES = [
    ("POST", re.compile(_LOC + r"/pipelineJobs$"), "create_pipeline_job"),
    ("GET", re.compile(_LOC + r"/pipelineJobs/(?P<id>[^/:]+)$"), "get_pipeline_job"),
    ("POST", re.compile(_LOC + r"/schedules$"), "create_schedule"),
    ("GET", re.compile(_LOC + r"/schedules$"), "list_schedules"),
    ("GET", re.compile(_LOC + r"/schedules/(?P<id>[^/:]+)$"), "get_schedule"),
    ("DELETE", re.compile(_LOC + r"/schedules/(?P<id>[^/:]+)$"), "delete_schedule"),
    ("GET", re.compile(r"/storage/v1/b/(?P<bucket>[^/]+)$"), "get_bucket"),
    ("POST", re.compile(r"/storage/v1/b$"), "create_bucket"),
    ("GET", re.compile(r"/storage/v1/b/(?P<bucket>[^/]+)/iam$"), "get_bucket_iam"),
    ("PUT", re.compile(r"/storage/v1/b/(?P<bucket>[^/]+)/iam$"), "set_bucket_iam"),
]
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
}
NOW = "2026-01-05T03:00:00Z"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    operation: str


class VertexFake:
    """The fake server. ``states`` is the sequence of states a job reports on successive GETs."""

    routes = ROUTES
    """(method, path pattern, operation) answered by ``_<operation>``; subclasses add their own."""

    def __init__(self, states: tuple[str, ...] = ("PIPELINE_STATE_SUCCEEDED",)) -> None:
        self.states = states
        self.requests: list[Request] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_polls: dict[str, int] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.buckets: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, tuple[int, str, str]] = {}
        self.job_error: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> VertexFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, operation: str, code: int, message: str, status: str | None = None) -> None:
        """Answer every later ``operation`` request with this error."""
        self.errors[operation] = (code, status or STATUS_NAMES.get(code, "UNKNOWN"), message)

    def calls(self, operation: str) -> list[Request]:
        return [r for r in self.requests if r.operation == operation]

    # --- the routes ------------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        for m, pattern, operation in self.routes:
            match = pattern.match(path)
            if m == method and match:
                with self._lock:
                    self.requests.append(Request(method, path, query, body, operation))
                    if operation in self.errors:
                        code, status, message = self.errors[operation]
                        return code, {"error": {"code": code, "message": message, "status": status}}
                    return getattr(self, f"_{operation}")(match.groupdict(), query, body)
        return 404, {"error": {"code": 404, "message": f"no route {method} {path}", "status": "NOT_FOUND"}}

    def _create_pipeline_job(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        job_id = q.get("pipelineJobId", [f"job-{next(self._ids)}"])[0]
        name = f"projects/{g['project']}/locations/{g['location']}/pipelineJobs/{job_id}"
        if name in self.jobs:
            return 409, {"error": {"code": 409, "message": f"{name} exists", "status": "ALREADY_EXISTS"}}
        job = {**copy.deepcopy(body), "name": name, "state": "PIPELINE_STATE_PENDING", "createTime": NOW}
        self.jobs[name] = job
        self.job_polls[name] = 0
        return 200, job

    def _get_pipeline_job(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name = f"projects/{g['project']}/locations/{g['location']}/pipelineJobs/{g['id']}"
        if name not in self.jobs:
            return 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}}
        job = self.jobs[name]
        i = self.job_polls[name]
        job["state"] = self.states[min(i, len(self.states) - 1)]
        self.job_polls[name] = i + 1
        if job["state"] == "PIPELINE_STATE_FAILED" and self.job_error:
            job["error"] = self.job_error
        return 200, job

    def _create_schedule(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        sid = str(next(self._ids))
        name = f"projects/{g['project']}/locations/{g['location']}/schedules/{sid}"
        sched = {
            **copy.deepcopy(body),
            "name": name,
            "state": "ACTIVE",
            "createTime": NOW,
            "nextRunTime": NOW,
        }
        self.schedules[name] = sched
        return 200, sched

    def _list_schedules(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        prefix = f"projects/{g['project']}/locations/{g['location']}/schedules/"
        items = [s for n, s in self.schedules.items() if n.startswith(prefix)]
        return 200, {"schedules": items} if items else {}

    def _get_schedule(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name = f"projects/{g['project']}/locations/{g['location']}/schedules/{g['id']}"
        if name not in self.schedules:
            return 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}}
        return 200, self.schedules[name]

    def _delete_schedule(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name = f"projects/{g['project']}/locations/{g['location']}/schedules/{g['id']}"
        if self.schedules.pop(name, None) is None:
            return 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}}
        op = f"projects/{g['project']}/locations/{g['location']}/operations/{next(self._ids)}"
        return 200, {
            "name": op,
            "done": True,
            "metadata": {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata"},
            "response": {"@type": "type.googleapis.com/google.protobuf.Empty"},
        }

    def _get_bucket(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if g["bucket"] not in self.buckets:
            return 404, {
                "error": {
                    "code": 404,
                    "message": "The specified bucket does not exist.",
                    "status": "NOT_FOUND",
                }
            }
        return 200, self.buckets[g["bucket"]]

    def _create_bucket(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        bucket = {**(body or {}), "kind": "storage#bucket", "projectNumber": "123456789", "id": body["name"]}
        self.buckets[body["name"]] = bucket
        return 200, bucket

    def _get_bucket_iam(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        resource = f"projects/_/buckets/{g['bucket']}"
        return 200, {
            "kind": "storage#policy",
            "resourceId": resource,
            "version": 1,
            "etag": "CAE=",
            "bindings": [],
        }

    def _set_bucket_iam(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        return 200, {**(body or {}), "etag": "CAI="}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                code, payload = fake._dispatch(self.command, parts.path, parse_qs(parts.query), body)
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        return Handler
