"""A fake of the BigQuery REST API (v2) on 127.0.0.1, for the real google-cloud-bigquery client.

It holds tables in memory and answers what the client needs to read one without a query job:
``datasets.get``, ``tables.get`` (schema, row count) and ``tabledata.list`` (paged with ``pageToken``,
``maxResults`` and ``startIndex``), encoding values the way the service does (every scalar as a string,
``REPEATED`` fields as ``{"v": [{"v": ...}]}``, NULL as ``{"v": null}``, ``TIMESTAMP`` as integer
microseconds when ``formatOptions.useInt64Timestamp`` is set). Requests are recorded and errors injected
per operation with Google's error JSON.

Usage::

    with BigQueryFake() as bq:
        bq.add_table("proj", "marketing", "campaigns", rows)     # schema inferred from Python values
        client = bigquery.Client(project="proj", credentials=AnonymousCredentials(),
                                 client_options={"api_endpoint": bq.url})
        bq.fail("list_rows", 403, "Access Denied: Table proj:marketing.campaigns")

Run by hand: ``python -m tests.fakes.bigquery_server --port 8767``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 500: "INTERNAL"}
_P = r"^/bigquery/v2/projects/(?P<project>[^/]+)"
ROUTES = [
    ("GET", re.compile(_P + r"/datasets/(?P<dataset>[^/]+)$"), "get_dataset"),
    ("GET", re.compile(_P + r"/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)$"), "get_table"),
    ("GET", re.compile(_P + r"/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)/data$"), "list_rows"),
]
EPOCH_MS = 1767582000000  # 2026-01-05T03:00:00Z


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    operation: str


@dataclass
class Table:
    schema: list[dict[str, Any]]
    rows: list[dict[str, Any]]


def infer_schema(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BigQuery fields from Python values: str STRING, int INTEGER, float FLOAT, bool BOOLEAN, date DATE,
    datetime TIMESTAMP, list REPEATED (of its items' type); a column that is always None is STRING."""
    names: dict[str, None] = {}
    for r in rows:
        for k in r:
            names.setdefault(k, None)

    def kind(v: Any) -> str:
        if isinstance(v, bool):
            return "BOOLEAN"
        if isinstance(v, int):
            return "INTEGER"
        if isinstance(v, float):
            return "FLOAT"
        if isinstance(v, dt.datetime):
            return "TIMESTAMP"
        if isinstance(v, dt.date):
            return "DATE"
        return "STRING"

    fields = []
    for n in names:
        values = [r.get(n) for r in rows if r.get(n) is not None]
        if values and isinstance(values[0], list):
            items = [x for v in values for x in v]
            fields.append({"name": n, "type": kind(items[0]) if items else "STRING", "mode": "REPEATED"})
        else:
            fields.append({"name": n, "type": kind(values[0]) if values else "STRING", "mode": "NULLABLE"})
    return fields


def _cell(value: Any, field_type: str, int64_ts: bool) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if field_type == "TIMESTAMP" and isinstance(value, dt.datetime):
        ts = value.replace(tzinfo=value.tzinfo or dt.timezone.utc).timestamp()
        return str(round(ts * 1_000_000)) if int64_ts else f"{ts:.6f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class BigQueryFake:
    """The fake server; use as a context manager. ``url`` is its base URL (the client's api_endpoint)."""

    def __init__(self, page_size: int = 500) -> None:
        self.page_size = page_size
        self.tables: dict[tuple[str, str, str], Table] = {}
        self.requests: list[Request] = []
        self.errors: dict[str, tuple[int, str, str]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> BigQueryFake:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_table(
        self,
        project: str,
        dataset: str,
        table: str,
        rows: list[dict[str, Any]],
        schema: list[dict[str, Any]] | None = None,
    ) -> None:
        """Store a table; the schema is inferred from the rows unless given (``name``/``type``/``mode``)."""
        self.tables[(project, dataset, table)] = Table(schema or infer_schema(rows), list(rows))

    def fail(self, operation: str, code: int, message: str, status: str | None = None) -> None:
        """Answer every later ``operation`` request with this error."""
        self.errors[operation] = (code, status or STATUS_NAMES.get(code, "UNKNOWN"), message)

    def calls(self, operation: str) -> list[Request]:
        return [r for r in self.requests if r.operation == operation]

    @staticmethod
    def _error(code: int, message: str) -> tuple[int, Any]:
        status = STATUS_NAMES.get(code, "UNKNOWN")
        reason = {404: "notFound", 403: "accessDenied", 400: "invalid"}.get(code, "backendError")
        detail = [{"message": message, "domain": "global", "reason": reason}]
        return code, {"error": {"code": code, "message": message, "status": status, "errors": detail}}

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        for m, pattern, operation in ROUTES:
            match = pattern.match(path)
            if m == method and match:
                with self._lock:
                    self.requests.append(Request(method, path, query, operation))
                    if operation in self.errors:
                        code, status, message = self.errors[operation]
                        return code, {"error": {"code": code, "message": message, "status": status}}
                    result: tuple[int, Any] = getattr(self, f"_{operation}")(match.groupdict(), query)
                    return result
        return self._error(404, f"no route {method} {path}")

    def _get_dataset(self, g: dict[str, str], q: dict[str, list[str]]) -> tuple[int, Any]:
        if not any(k[:2] == (g["project"], g["dataset"]) for k in self.tables):
            return self._error(404, f"Not found: Dataset {g['project']}:{g['dataset']}")
        ref = {"projectId": g["project"], "datasetId": g["dataset"]}
        return 200, {"kind": "bigquery#dataset", "id": f"{g['project']}:{g['dataset']}",
                     "datasetReference": ref, "location": "US"}  # fmt: skip

    def _table(self, g: dict[str, str]) -> Table | None:
        return self.tables.get((g["project"], g["dataset"], g["table"]))

    def _get_table(self, g: dict[str, str], q: dict[str, list[str]]) -> tuple[int, Any]:
        t = self._table(g)
        if t is None:
            return self._error(404, f"Not found: Table {g['project']}:{g['dataset']}.{g['table']}")
        return 200, {
            "kind": "bigquery#table",
            "id": f"{g['project']}:{g['dataset']}.{g['table']}",
            "etag": f"etag-{len(t.rows)}",
            "tableReference": {"projectId": g["project"], "datasetId": g["dataset"], "tableId": g["table"]},
            "schema": {"fields": t.schema},
            "numRows": str(len(t.rows)),
            "numBytes": str(len(json.dumps(t.rows, default=str))),
            "creationTime": str(EPOCH_MS),
            "lastModifiedTime": str(EPOCH_MS),
            "type": "TABLE",
            "location": "US",
        }

    def _list_rows(self, g: dict[str, str], q: dict[str, list[str]]) -> tuple[int, Any]:
        t = self._table(g)
        if t is None:
            return self._error(404, f"Not found: Table {g['project']}:{g['dataset']}.{g['table']}")
        start = int(q.get("pageToken", q.get("startIndex", ["0"]))[0])
        size = min(int(q.get("maxResults", [self.page_size])[0]), self.page_size)
        int64_ts = q.get("formatOptions.useInt64Timestamp", ["false"])[0] == "true"
        page = t.rows[start : start + size]
        rows = []
        for r in page:
            cells = []
            for f in t.schema:
                v = r.get(f["name"])
                if f.get("mode") == "REPEATED":
                    cells.append({"v": [{"v": _cell(x, f["type"], int64_ts)} for x in (v or [])]})
                else:
                    cells.append({"v": _cell(v, f["type"], int64_ts)})
            rows.append({"f": cells})
        out: dict[str, Any] = {"kind": "bigquery#tableDataList", "etag": "e", "totalRows": str(len(t.rows))}
        if rows:
            out["rows"] = rows
        if start + size < len(t.rows):
            out["pageToken"] = str(start + size)
        return 200, out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                code, payload = fake._dispatch(self.command, parts.path, parse_qs(parts.query))
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


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual use
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8767)
    args = ap.parse_args(argv)
    fake = BigQueryFake()
    fake._server.server_close()
    fake._server = ThreadingHTTPServer(("127.0.0.1", args.port), fake._handler())
    print(f"fake BigQuery on {fake.url} (Ctrl-C to stop)")
    fake._server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
