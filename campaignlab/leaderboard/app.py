"""FastAPI application factory and ``serve``.

API (JSON unless said otherwise; every ``/api`` call needs ``Authorization: Bearer <token>``):

* ``GET  /api/versions``, ``GET /api/versions/{name}``: registered versions (public facts only).
* ``GET  /api/versions/{name}/splits/{train|test}?kind=raw|features``: the split as Parquet; the test
  split comes without ``label`` (and without anything that gives it back).
* ``POST /api/versions/{name}/submissions?model=NAME``: body = predictions file (Parquet, or CSV with
  ``sample_id,label``), at most ``max_upload_mb``; answers 201 with the scores.
* ``GET  /api/submissions/{id}``: one submission's scores (any researcher).
* ``GET  /api/submissions/{id}/predictions``: its predictions as Parquet (only the submitter).
* ``GET  /api/versions/{name}/ranking``: every submission, best macro F1 first.
* ``GET  /api/me``: who the token belongs to.
* ``GET  /``, ``GET /versions/{name}``: HTML pages with aggregate scores only (no token needed).
* ``GET  /healthz``: liveness and schema revision.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from campaignlab.errors import CampaignlabError, DataError
from campaignlab.leaderboard import page
from campaignlab.leaderboard.scoring import PredictionsError, check_and_score, read_predictions
from campaignlab.leaderboard.store import NotFoundError, Researcher, Store, Version
from campaignlab.leaderboard.versions import split_file

log = logging.getLogger("campaignlab.leaderboard")
PARQUET = "application/vnd.apache.parquet"


async def read_body_limited(request: Request, limit: int) -> bytes:
    """Read the request body, refusing with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload of {int(declared)} bytes exceeds the limit of {limit} bytes")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise HTTPException(413, f"upload exceeds the limit of {limit} bytes")
    return bytes(buf)


def create_app(
    store: Store, data_dir: Path, *, max_upload_bytes: int = 20 * 2**20, migrate: bool = True
) -> FastAPI:
    """Build the service over ``store`` (split files under ``data_dir``).

    Args:
        store: database access; its schema is upgraded on startup when ``migrate`` is true.
        data_dir: the data folder that ``add-version`` wrote the split files into.
        max_upload_bytes: largest accepted predictions upload.
        migrate: run the Alembic migrations on startup.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await run_in_threadpool(store.migrate)
        yield
        store.dispose()

    app = FastAPI(
        title="campaignlab leaderboard",
        summary="Versioned splits and blind, server-side scoring of campaign-outcome predictions.",
        lifespan=lifespan,
        # The interactive docs load their scripts from a CDN; the schema stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    bearer = HTTPBearer(auto_error=False)

    def researcher(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Researcher:
        if creds is None:
            raise HTTPException(
                401,
                "authentication required: send 'Authorization: Bearer <token>'",
                {"WWW-Authenticate": "Bearer"},
            )
        who = store.authenticate(creds.credentials)
        if who is None:
            raise HTTPException(401, "invalid or revoked token", {"WWW-Authenticate": "Bearer"})
        return who

    @app.exception_handler(PredictionsError)
    async def _predictions_error(_r: Request, err: PredictionsError) -> JSONResponse:
        return JSONResponse({"detail": err.summary, "problems": err.problems}, status_code=err.status)

    @app.exception_handler(NotFoundError)
    async def _not_found(_r: Request, err: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=404)

    @app.exception_handler(DataError)
    async def _data_error(_r: Request, err: DataError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=404)

    @app.exception_handler(CampaignlabError)
    async def _bad_request(_r: Request, err: CampaignlabError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=400)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "revision": store.revision()}

    @app.get("/api/me")
    def me(who: Researcher = Depends(researcher)) -> dict[str, Any]:
        return {"researcher": who.name}

    @app.get("/api/versions")
    def list_versions(_who: Researcher = Depends(researcher)) -> list[dict[str, Any]]:
        return [v.public() for v in store.list_versions()]

    @app.get("/api/versions/{name}")
    def get_version(name: str, _who: Researcher = Depends(researcher)) -> dict[str, Any]:
        return store.get_version(name).public()

    @app.get("/api/versions/{name}/splits/{split}", response_class=FileResponse)
    def download(
        name: str,
        split: str,
        kind: str = Query("raw", pattern="^(raw|features)$"),
        _who: Researcher = Depends(researcher),
    ) -> FileResponse:
        if split not in ("train", "test"):
            raise HTTPException(404, f"split: got {split!r} -> expected 'train' or 'test'")
        version = store.get_version(name)
        path = split_file(data_dir, version, split, kind)
        suffix = "" if kind == "raw" else "_features"
        return FileResponse(path, media_type=PARQUET, filename=f"{name}_{split}{suffix}.parquet")

    def _score_and_store(
        version: Version, who: Researcher, model: str, data: bytes, ctype: str
    ) -> dict[str, Any]:
        table = read_predictions(data)
        scored = check_and_score(table, store.answer_key(version))
        blob = np.asarray(scored.predictions["label"], dtype=np.int8).tobytes()  # in answer-key order
        return store.add_submission(
            version=version,
            researcher=who,
            model=model,
            scores=scored.scores,
            n_rows=scored.n_rows,
            predictions=blob,
        )

    @app.post("/api/versions/{name}/submissions", status_code=201)
    async def submit(
        name: str,
        request: Request,
        model: str = Query("", max_length=120, description="free-text model name shown in the ranking"),
        who: Researcher = Depends(researcher),
    ) -> dict[str, Any]:
        version = await run_in_threadpool(store.get_version, name)
        data = await read_body_limited(request, max_upload_bytes)
        ctype = request.headers.get("content-type", "")
        try:
            record = await run_in_threadpool(_score_and_store, version, who, model, data, ctype)
        except PredictionsError as err:
            # The summary names the problem kind only: no sample ids, no labels in the log.
            log.info("rejected submission: version=%s researcher=%s: %s", name, who.name, err.summary)
            raise
        s = record["scores"]
        log.info(
            "submission %d: version=%s researcher=%s model=%r rows=%d macro_f1=%.4f weighted_f1=%.4f",
            record["id"], name, who.name, model, record["n_rows"], s["macro_f1"], s["weighted_f1"],
        )  # fmt: skip
        return record

    @app.get("/api/submissions/{submission_id}")
    def get_submission(submission_id: int, _who: Researcher = Depends(researcher)) -> dict[str, Any]:
        return store.get_submission(submission_id)

    @app.get("/api/submissions/{submission_id}/predictions")
    def get_predictions(submission_id: int, who: Researcher = Depends(researcher)) -> Response:
        owner, table = store.submission_predictions(submission_id)
        if owner != who.id:
            raise HTTPException(403, "only the researcher who submitted may read a submission's predictions")
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return Response(buf.getvalue(), media_type=PARQUET)

    @app.get("/api/versions/{name}/ranking")
    def ranking(name: str, _who: Researcher = Depends(researcher)) -> dict[str, Any]:
        version = store.get_version(name)
        return {"version": version.name, "ranked_by": "macro_f1", "submissions": store.ranking(version)}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page.index_page(store.list_versions())

    @app.get("/versions/{name}", response_class=HTMLResponse)
    def version_html(name: str) -> HTMLResponse:
        version = store.find_version(name)
        if version is None:
            return HTMLResponse(page.index_page(store.list_versions()), status_code=404)
        return HTMLResponse(page.version_page(version, store.ranking(version)))

    return app


def serve(cfg: Any) -> None:
    """Migrate the database, then run the service with uvicorn until interrupted (``ServeConfig``)."""
    import uvicorn

    from campaignlab.leaderboard.config import default_data_dir, redact_url

    logging.basicConfig(level=cfg.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    store = Store(cfg.db)
    revision = store.migrate()
    data_dir = default_data_dir(cfg.db, cfg.data_dir)
    log.info("database %s at revision %s; data folder %s", redact_url(cfg.db), revision, data_dir)
    app = create_app(store, data_dir, max_upload_bytes=int(cfg.max_upload_mb * 2**20), migrate=False)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level, timeout_graceful_shutdown=10)
