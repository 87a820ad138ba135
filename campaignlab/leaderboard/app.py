"""FastAPI application factory and ``serve``.

API (JSON unless said otherwise; every ``/api`` call needs ``Authorization: Bearer <token>``; every error
is ``{"detail": ..., "problems": [...]}`` and every status is documented in ``/openapi.json``):

* ``GET  /api/versions``, ``GET /api/versions/{name}``: registered versions (public facts only).
* ``GET  /api/versions/{name}/splits/{train|test}?kind=raw|features``: the split as Parquet; the test
  split comes without ``label`` (and without anything that gives it back).
* ``POST /api/versions/{name}/submissions?model=NAME``: body = predictions file (Parquet, or CSV with
  ``sample_id,label``), at most ``max_upload_mb``; optional ``Idempotency-Key`` header; answers 201 with
  the (rounded) public scores. 429 past the daily quota, 409 after the competition's end.
* ``GET  /api/submissions/{id}``: one submission's scores (any researcher).
* ``GET  /api/submissions/{id}/predictions``: its predictions as Parquet (only the submitter).
* ``GET  /api/versions/{name}/ranking``: every submission, best macro F1 on the ranked part first.
* ``GET  /api/me``: who the token belongs to.
* ``GET  /``, ``GET /versions/{name}``: HTML pages with aggregate scores only (no token needed).
* ``GET  /healthz``: liveness and schema revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Annotated, Any

import pyarrow.parquet as pq
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from campaignlab.errors import CampaignlabError, DataError
from campaignlab.leaderboard import page
from campaignlab.leaderboard.config import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_DAILY_QUOTA,
    DEFAULT_SCORE_DECIMALS,
    VERSION_NAME_RE,
    check_model_name,
    model_name_pattern,
)
from campaignlab.leaderboard.http import SecurityHeaders, csp, read_body_limited
from campaignlab.leaderboard.public import (
    Health,
    Me,
    Problem,
    Ranking,
    Submission,
    VersionInfo,
    ranking_view,
    submission_view,
    version_view,
)
from campaignlab.leaderboard.scoring import PredictionsError, check_and_score, read_predictions
from campaignlab.leaderboard.store import (
    CompetitionEndedError,
    IdempotencyConflictError,
    NotFoundError,
    QuotaExceededError,
    Researcher,
    Store,
    Version,
)
from campaignlab.leaderboard.versions import split_file

log = logging.getLogger("campaignlab.leaderboard")
PARQUET = "application/vnd.apache.parquet"
MAX_ID = 2**63 - 1  # database integer range
MAX_CONCURRENT_UPLOADS = 4  # uploads read and scored at once; the others wait (bounds memory)


@dataclass(frozen=True)
class Limits:
    """What the service allows a researcher (``campaignlab leaderboard serve`` flags)."""

    max_upload_bytes: int = 20 * 2**20
    daily_quota: int = DEFAULT_DAILY_QUOTA
    score_decimals: int = DEFAULT_SCORE_DECIMALS
    body_timeout: float = DEFAULT_BODY_TIMEOUT


def _doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries (all with the :class:`Problem` body) for the given error codes."""
    what = {
        400: "unreadable input",
        401: "missing, invalid or revoked token",
        403: "not the submitter",
        404: "no such version, split or submission",
        408: "the upload did not arrive within the body read timeout",
        409: "the version's competition has ended",
        413: "upload or its decoded content too large",
        422: "invalid parameters or predictions (the problems are listed)",
        429: "daily submission quota used up (see Retry-After)",
    }
    return {c: {"model": Problem, "description": what[c]} for c in codes}


_PARQUET_BODY = {"content": {PARQUET: {"schema": {"type": "string", "format": "binary"}}}}
_SUBMISSION_BODY = {
    "required": True,
    "description": "the predictions file: Parquet with sample_id (string) and label (integer 0/1/2), "
    "or CSV with a sample_id,label header; one row per test sample_id",
    "content": {
        PARQUET: {"schema": {"type": "string", "format": "binary"}},
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
    },
}

_CREATED = (
    "scored and stored; for a repeated Idempotency-Key, the earlier submission with the header "
    "Idempotent-Replayed: true"
)
_CREATED = (
    "scored and stored; for a repeated Idempotency-Key, the earlier submission with the header "
    "Idempotent-Replayed: true"
)
VersionName = Annotated[str, Path(pattern=VERSION_NAME_RE.pattern, description="version name, e.g. v25")]
SubmissionId = Annotated[int, Path(ge=1, le=MAX_ID, description="submission id")]


def _problem_lines(err: RequestValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        where = ".".join(str(p) for p in e.get("loc", ()))
        value = repr(e.get("input"))
        value = value if len(value) <= 60 else value[:59] + "…"
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{where}: got {value} -> {msg}")
    return lines


def create_app(
    store: Store,
    data_dir: FsPath,
    *,
    limits: Limits | None = None,
    migrate: bool = True,
) -> FastAPI:
    """Build the service over ``store`` (split files under ``data_dir``).

    Args:
        store: database access; its schema is upgraded on startup when ``migrate`` is true.
        data_dir: the data folder that ``add-version`` wrote the split files into.
        limits: upload size, daily quota, score precision and body timeout.
        migrate: run the Alembic migrations on startup.
    """
    lim = limits or Limits()
    uploads = asyncio.Semaphore(MAX_CONCURRENT_UPLOADS)

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
    app.add_middleware(SecurityHeaders, policy=csp(page.INLINE_STYLES))
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

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, err: RequestValidationError) -> JSONResponse:
        lines = _problem_lines(err)
        return JSONResponse({"detail": "invalid request: " + "; ".join(lines), "problems": lines}, 422)

    @app.exception_handler(PredictionsError)
    async def _predictions_error(_r: Request, err: PredictionsError) -> JSONResponse:
        return JSONResponse({"detail": err.summary, "problems": err.problems}, status_code=err.status)

    # Error class -> status (most specific first: Starlette picks the handler by the class's MRO).
    statuses: list[tuple[type[CampaignlabError], int]] = [
        (QuotaExceededError, 429),
        (IdempotencyConflictError, 422),
        (CompetitionEndedError, 409),
        (NotFoundError, 404),
        (DataError, 404),  # e.g. a split file the version does not have
        (CampaignlabError, 400),
    ]

    def _answer(status: int) -> Any:
        async def handler(_r: Request, err: Exception) -> JSONResponse:
            retry = getattr(err, "retry_after", None)
            headers = {"Retry-After": str(retry)} if retry is not None else None
            return JSONResponse({"detail": str(err)}, status, headers=headers)

        return handler

    for cls, status in statuses:
        app.add_exception_handler(cls, _answer(status))

    @app.get("/healthz")
    def healthz() -> Health:
        return Health(status="ok", revision=store.revision())

    @app.get("/api/me", responses=_doc(401))
    def me(who: Researcher = Depends(researcher)) -> Me:
        return Me(researcher=who.name)

    @app.get("/api/versions", responses=_doc(401))
    def list_versions(_who: Researcher = Depends(researcher)) -> list[VersionInfo]:
        return [
            VersionInfo.model_validate(version_view(v, lim.score_decimals, lim.daily_quota))
            for v in store.list_versions()
        ]

    @app.get("/api/versions/{name}", responses=_doc(401, 404, 422))
    def get_version(name: VersionName, _who: Researcher = Depends(researcher)) -> VersionInfo:
        view = version_view(store.get_version(name), lim.score_decimals, lim.daily_quota)
        return VersionInfo.model_validate(view)

    @app.get(
        "/api/versions/{name}/splits/{split}",
        response_class=FileResponse,
        responses={200: {**_PARQUET_BODY, "description": "the split as Parquet"}, **_doc(401, 404, 422)},
    )
    def download(
        name: VersionName,
        split: Annotated[str, Path(description="train (with labels) or test (without)")],
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
        version: Version, who: Researcher, model: str, data: bytes, key: str | None
    ) -> tuple[dict[str, Any], bool]:
        request_sha256 = hashlib.sha256(b"\0".join([version.name.encode(), model.encode(), data])).hexdigest()
        if key is not None:  # a retry: answer from the record, without scoring or counting it again
            earlier = store.replay(who, key, request_sha256)
            if earlier is not None:
                return store.get_submission(earlier["id"]), True
        store.quota_left(version, who, lim.daily_quota)
        answer_key = store.answer_key(version)
        scored = check_and_score(read_predictions(data, len(answer_key.ids)), answer_key)
        return store.add_submission(
            version=version,
            researcher=who,
            model=model,
            scores=scored.scores,
            counts=scored.counts,
            n_rows=scored.n_rows,
            predictions=scored.predictions.tobytes(),  # int8, in answer-key order
            daily_quota=lim.daily_quota,
            idempotency_key=key,
            request_sha256=request_sha256,
        )

    @app.post(
        "/api/versions/{name}/submissions",
        status_code=201,
        responses={201: {"description": _CREATED}, **_doc(400, 401, 404, 408, 409, 413, 422, 429)},
        openapi_extra={"requestBody": _SUBMISSION_BODY},
    )
    async def submit(
        name: VersionName,
        request: Request,
        model: Annotated[
            str,
            Query(
                description="model name shown in the ranking: at most 120 characters of printable text: "
                "no control, format (bidirectional, zero-width, tag U+E0000-U+E007F) or separator "
                "characters other than the plain space",
                # Documented for clients and fuzzers; checked by check_model_name, whose message is
                # readable (pydantic's would quote this 10 KB pattern).
                json_schema_extra={"pattern": model_name_pattern()},
            ),
            AfterValidator(check_model_name),
        ] = "",
        idempotency_key: str | None = Header(
            None,
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="a client-chosen key; a retry with the same key and request returns the first "
            "answer instead of storing the submission twice",
        ),
        who: Researcher = Depends(researcher),
    ) -> JSONResponse:
        version = await run_in_threadpool(store.get_version, name)
        if version.ended():
            raise CompetitionEndedError(
                f"version {name!r}: the competition ended at {version.ends_at}; its "
                "scores are final and it takes no more submissions"
            )
        async with uploads:
            data = await read_body_limited(request, lim.max_upload_bytes, lim.body_timeout)
            try:
                record, replayed = await run_in_threadpool(
                    _score_and_store, version, who, model, data, idempotency_key
                )
            except PredictionsError as err:
                # The summary names the problem kind only: no sample ids, no labels in the log.
                log.info("rejected submission: version=%s researcher=%s: %s", name, who.name, err.summary)
                raise
        view = submission_view(record, version, lim.score_decimals)
        if replayed:
            log.info("submission %d replayed for Idempotency-Key (researcher=%s)", record["id"], who.name)
            return JSONResponse(view, 201, headers={"Idempotent-Replayed": "true"})
        log.info(
            "submission %d: version=%s researcher=%s model=%r rows=%d public macro_f1=%.4f",
            record["id"], name, who.name, model, record["n_rows"], view["scores"]["macro_f1"],
        )  # fmt: skip
        return JSONResponse(view, 201)

    @app.get("/api/submissions/{submission_id}", responses=_doc(401, 404, 422))
    def get_submission(submission_id: SubmissionId, _who: Researcher = Depends(researcher)) -> Submission:
        record = store.get_submission(submission_id)
        view = submission_view(record, store.get_version(record["version"]), lim.score_decimals)
        return Submission.model_validate(view)

    @app.get(
        "/api/submissions/{submission_id}/predictions",
        response_class=Response,
        responses={200: {**_PARQUET_BODY, "description": "sample_id, label"}, **_doc(401, 403, 404, 422)},
    )
    def get_predictions(submission_id: SubmissionId, who: Researcher = Depends(researcher)) -> Response:
        owner, table = store.submission_predictions(submission_id)
        if owner != who.id:
            raise HTTPException(403, "only the researcher who submitted may read a submission's predictions")
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return Response(buf.getvalue(), media_type=PARQUET)

    @app.get("/api/versions/{name}/ranking", responses=_doc(401, 404, 422))
    def ranking(name: VersionName, _who: Researcher = Depends(researcher)) -> Ranking:
        version = store.get_version(name)
        view = ranking_view(version, store.submissions_of(version), lim.score_decimals)
        return Ranking.model_validate(view)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page.index_page(store.list_versions())

    @app.get(
        "/versions/{name}",
        response_class=HTMLResponse,
        responses={404: {"description": "no such version", "content": {"text/html": {}}}},
    )
    def version_html(name: str) -> HTMLResponse:
        version = store.find_version(name) if VERSION_NAME_RE.match(name) else None
        if version is None:
            return HTMLResponse(page.index_page(store.list_versions()), status_code=404)
        view = ranking_view(version, store.submissions_of(version), lim.score_decimals)
        return HTMLResponse(page.version_page(version, view, lim.daily_quota))

    return app


def serve(cfg: Any) -> None:
    """Migrate the database, then run the service with uvicorn until interrupted (``ServeConfig``)."""
    import uvicorn

    from campaignlab.leaderboard.config import default_data_dir, redact_url
    from campaignlab.leaderboard.http import timed_h11_protocol

    logging.basicConfig(level=cfg.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    store = Store(cfg.db)
    revision = store.migrate()
    data_dir = default_data_dir(cfg.db, cfg.data_dir)
    log.info("database %s at revision %s; data folder %s", redact_url(cfg.db), revision, data_dir)
    limits = Limits(
        max_upload_bytes=int(cfg.max_upload_mb * 2**20),
        daily_quota=cfg.daily_quota,
        score_decimals=cfg.score_decimals,
        body_timeout=cfg.body_timeout,
    )
    app = create_app(store, data_dir, limits=limits, migrate=False)
    uvicorn.run(
        app,
        host=cfg.host,
        port=cfg.port,
        log_level=cfg.log_level,
        timeout_graceful_shutdown=10,
        http=timed_h11_protocol(cfg.header_timeout),
    )
