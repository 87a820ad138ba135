"""A fake of the BigQuery REST API (v2) on 127.0.0.1, for the real google-cloud-bigquery client.

It holds tables in memory and answers what the client needs to read one without a query job:
``datasets.get``, ``tables.get`` (schema, row count) and ``tabledata.list`` (paged with ``pageToken``,
``maxResults`` and ``startIndex``), encoding values the way the service does (every scalar as a string,
``REPEATED`` fields as ``{"v": [{"v": ...}]}``, NULL as ``{"v": null}``, ``TIMESTAMP`` as integer
microseconds when ``formatOptions.useInt64Timestamp`` is set). Requests are recorded and errors injected
per operation (see :mod:`tests.fakes.server`).

Usage::

    with BigQueryFake() as bq:
        bq.add_table("proj", "marketing", "campaigns", rows)     # schema inferred from Python values
        client = bigquery.Client(project="proj", credentials=AnonymousCredentials(),
                                 client_options={"api_endpoint": bq.url})
        bq.fail("list_rows", 403, "Access Denied: Table proj:marketing.campaigns")

Run by hand: ``python -m tests.fakes.bigquery_server --port 8767``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from tests.fakes.server import REASONS, ApiError, FakeServer, Request, route, run_by_hand

_D = r"/bigquery/v2/projects/(?P<project>[^/]+)/datasets/(?P<dataset>[^/]+)"
EPOCH_MS = 1767582000000  # 2026-01-05T03:00:00Z


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
            items = [x for v in values for x in v or ()]
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


class BigQueryFake(FakeServer):
    """The fake server; use as a context manager. ``url`` is its base URL (the client's api_endpoint)."""

    routes = (
        route("GET", _D, "get_dataset"),
        route("GET", rf"{_D}/tables/(?P<table>[^/]+)", "get_table"),
        route("GET", rf"{_D}/tables/(?P<table>[^/]+)/data", "list_rows"),
    )
    reasons: ClassVar[dict[int, str]] = {
        **REASONS,
        403: "accessDenied",
    }  # BigQuery's own reason for a denied read

    def __init__(self, page_size: int = 500) -> None:
        super().__init__()
        self.page_size = page_size
        self.tables: dict[tuple[str, str, str], Table] = {}

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

    def _get_dataset(self, req: Request) -> Any:
        g = req.params
        if not any(k[:2] == (g["project"], g["dataset"]) for k in self.tables):
            raise ApiError(404, f"Not found: Dataset {g['project']}:{g['dataset']}")
        ref = {"projectId": g["project"], "datasetId": g["dataset"]}
        return {"kind": "bigquery#dataset", "id": f"{g['project']}:{g['dataset']}",
                "datasetReference": ref, "location": "US"}  # fmt: skip

    def _table(self, req: Request) -> Table:
        g = req.params
        t = self.tables.get((g["project"], g["dataset"], g["table"]))
        if t is None:
            raise ApiError(404, f"Not found: Table {g['project']}:{g['dataset']}.{g['table']}")
        return t

    def _get_table(self, req: Request) -> Any:
        t, g = self._table(req), req.params
        return {
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

    def _list_rows(self, req: Request) -> Any:
        t = self._table(req)
        start = int(req.arg("pageToken", req.arg("startIndex", "0")))
        size = min(int(req.arg("maxResults", str(self.page_size))), self.page_size)
        int64_ts = req.arg("formatOptions.useInt64Timestamp", "false") == "true"
        rows = []
        for r in t.rows[start : start + size]:
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
        return out


if __name__ == "__main__":  # pragma: no cover
    run_by_hand(BigQueryFake(), default_port=8767)
