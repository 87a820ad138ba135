"""The HTTP scaffold every fake Google Cloud API in ``tests/fakes`` is built on.

A threaded HTTP server on a free port of 127.0.0.1, a route table, Google's error JSON, a record of every
request, and injected faults. A fake subclasses :class:`FakeServer`, lists its ``routes`` and answers
each operation with a method ``_<operation>(request)``; its file holds only its API's routes and state.
The real Google clients talk to it over HTTP, so the tests check what they really send and parse.

Usage::

    class TablesFake(FakeServer):
        routes = [route("GET", r"/v1/tables/(?P<table>[^/]+)", "get_table")]

        def _get_table(self, req: Request) -> Any:
            if req.params["table"] not in self.tables:
                raise ApiError(404, "no such table")      # Google's error JSON, status 404
            return self.tables[req.params["table"]]       # JSON, status 200 (or return a Reply)

    with TablesFake() as fake:                             # listening on 127.0.0.1:<free port>
        client = make_client(api_endpoint=fake.url)
        fake.fail("get_table", 403, "caller lacks tables.get")   # every later get_table: this error
        fake.script = [503, ("sleep", 2.0), "ok"]                # the next requests, one action each
        fake.calls("get_table")                                   # the requests it received
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, NamedTuple, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

NO_ROUTE = "no_route"
"""The operation recorded for a request no route matches (answered 404)."""

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
REASONS = {
    400: "invalid",
    401: "authError",
    403: "forbidden",
    404: "notFound",
    409: "conflict",
    412: "conditionNotMet",
    429: "rateLimitExceeded",
    500: "backendError",
    503: "backendError",
}
"""``errors[].reason`` of Google's JSON APIs (clients such as BigQuery's decide retries by it)."""

Action = str | int | tuple[str, float]
"""A scripted action: ``"ok"``, an HTTP error status, or ``("sleep", seconds)`` before answering."""

F = TypeVar("F", bound="FakeServer")


class Route(NamedTuple):
    method: str
    pattern: re.Pattern[str]
    operation: str
    query: dict[str, str]
    """Query parameters the request must carry with these values (e.g. ``alt=media``)."""


def route(method: str, path: str, operation: str, **query: str) -> Route:
    """A route: ``path`` is a regular expression of the whole path; its named groups become
    ``Request.params`` (percent-decoded)."""
    return Route(method, re.compile(f"^{path}$"), operation, query)


@dataclass
class Request:
    """One request as the fake received it."""

    method: str
    path: str
    """As sent, still percent-encoded, without the query string."""
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Names in lower case."""
    raw: bytes
    operation: str = NO_ROUTE
    params: dict[str, str] = field(default_factory=dict)
    action: Action = "ok"
    time: float = 0.0
    """``time.monotonic()`` on arrival."""

    @cached_property
    def body(self) -> Any:
        """The body as JSON; as text if it is not JSON; None if empty."""
        if not self.raw:
            return None
        try:
            return json.loads(self.raw)
        except ValueError:
            return self.raw.decode(errors="replace")

    def arg(self, name: str, default: str = "") -> str:
        """The first value of a query parameter."""
        return self.query.get(name, [default])[0]


@dataclass
class Reply:
    """A response: ``payload`` is sent as JSON (None: no body) unless ``data`` gives the bytes."""

    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None


class ApiError(Exception):
    """Raised by a route handler; answered with Google's error JSON."""

    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")


class FakeServer:
    """The base of every fake: use it as a context manager; ``url`` is the client's API endpoint.

    Attributes:
        requests: every request received (matched or not), in arrival order.
        script: actions for the next requests, one per request (see :data:`Action`); empty: all "ok".
    """

    routes: ClassVar[Sequence[Route]] = ()
    """(method, path, operation, query) in match order; answered by ``_<operation>(request)``."""
    reasons: ClassVar[dict[int, str]] = REASONS

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.script: list[Action] = []
        self.lock = threading.RLock()
        self._failures: dict[str, tuple[int, str, str | None]] = {}
        self._server: ThreadingHTTPServer | None = None

    # --- life cycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self: F, port: int = 0) -> F:
        """Listen on 127.0.0.1 (``port`` 0: a free one) and serve in a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self: F) -> F:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- for tests -------------------------------------------------------------------------------

    def fail(self, operation: str, code: int, message: str, status: str | None = None) -> None:
        """Answer every later ``operation`` request with this error."""
        self._failures[operation] = (code, message, status)

    def clear_failures(self) -> None:
        self._failures.clear()

    def calls(self, operation: str) -> list[Request]:
        """The requests of one operation, in arrival order."""
        return [r for r in self.requests if r.operation == operation]

    # --- serving ---------------------------------------------------------------------------------

    def error_body(self, error: ApiError) -> dict[str, Any]:
        """Google's error JSON, as its JSON and REST APIs send it."""
        reason = self.reasons.get(error.code, "backendError")
        detail = [{"message": error.message, "domain": "global", "reason": reason}]
        return {"error": {"code": error.code, "message": error.message, "status": error.status,
                          "errors": detail}}  # fmt: skip

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Record the request, apply the script and injected failures, then call its operation."""
        parts = urlsplit(target)
        req = Request(method, parts.path, parse_qs(parts.query), headers, raw, time=time.monotonic())
        for r in self.routes:
            match = r.pattern.match(req.path)
            if r.method == method and match and all(req.arg(k) == v for k, v in r.query.items()):
                req.operation = r.operation
                req.params = {k: unquote(v) for k, v in match.groupdict().items()}
                break
        with self.lock:
            req.action = self.script.pop(0) if self.script else "ok"
            self.requests.append(req)
        try:
            if isinstance(req.action, tuple):
                time.sleep(float(req.action[1]))  # outside the lock: concurrent requests overlap
            elif isinstance(req.action, int):
                raise ApiError(req.action, f"scripted error {req.action}")
            if req.operation == NO_ROUTE:
                raise ApiError(404, f"no route {method} {req.path}")
            with self.lock:
                if req.operation in self._failures:
                    raise ApiError(*self._failures[req.operation])
                out = getattr(self, f"_{req.operation}")(req)
        except ApiError as e:
            return Reply(e.code, self.error_body(e))
        return out if isinstance(out, Reply) else Reply(200, out)


def _handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = fake.handle(self.command, self.path, headers, raw)
            data, extra = reply.data, reply.headers
            if data is None:
                data = b"" if reply.payload is None else json.dumps(reply.payload).encode()
                extra = {"Content-Type": "application/json; charset=UTF-8", **extra}
            self.send_response(reply.status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    return Handler


def run_by_hand(fake: FakeServer, default_port: int) -> None:  # pragma: no cover - manual use
    """Serve ``fake`` on ``--port`` until Ctrl-C (``python -m tests.fakes.<module> --port N``)."""
    ap = argparse.ArgumentParser(description=f"{type(fake).__name__} on 127.0.0.1")
    ap.add_argument("--port", type=int, default=default_port)
    args = ap.parse_args()
    fake.start(args.port)
    print(f"{type(fake).__name__} on {fake.url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
