"""The prediction service: a FastAPI app with Vertex AI's custom-container contract.

Vertex AI starts the container with ``AIP_HTTP_PORT`` (where to listen), ``AIP_HEALTH_ROUTE`` and
``AIP_PREDICT_ROUTE`` (the two routes it calls) and, for a model uploaded with artifacts,
``AIP_STORAGE_URI``. The predict route takes ``{"instances": [campaign, ...], "parameters": {...}}``
and answers ``{"predictions": [prediction, ...]}``, one prediction per instance in order. Without
those variables the routes are ``/health`` and ``/predict`` on port 8080.

Routes:

* ``GET  <health>``: 200 ``{"status": "ok", ...}`` once the model is loaded (it is loaded before the
  server starts listening, so a 200 means ready).
* ``POST <predict>``: a campaign is the raw-campaign contract's fields (``campaign_id`` optional,
  ``audience``, ``brand``, ``creative``, ``platform``, ``geo``; ``label`` ignored, ``date``/``owner``
  checked as ``campaignlab ingest`` checks them), validated by the same rules as ``ingest`` and the batch
  path (:mod:`campaignlab.serving.campaigns`); ``parameters.explain`` (default true) adds per-modality
  attributions. A bad instance fails the request with 400, a message naming its index and field, and
  ``errors`` (index, field, reason, message of each bad instance); more than ``max_instances``
  instances or a body over ``max_body_bytes`` gets 413.
* ``POST /recommend``: ``{"brand", "audience", "top", "objective", "candidates"?}`` -> the best
  combinations of platform, creative and geo set (see :mod:`campaignlab.serving.recommend`).
* ``GET /model``: the model, its embedding recipe and platforms.
* ``GET /``: a page to type or paste a campaign and see its tier, probabilities, attribution chart and
  recommendations.

The model is loaded once per process; requests are scored one at a time (the model already uses
every core), in a worker thread so the event loop keeps answering health checks.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request) at runtime.
import json
import os
from typing import Any

from pydantic import Field

from campaignlab.config import StrictModel

HEALTH_ENV, PREDICT_ENV, PORT_ENV = "AIP_HEALTH_ROUTE", "AIP_PREDICT_ROUTE", "AIP_HTTP_PORT"
RECOMMEND_ROUTE = "/recommend"


class ServeSettings(StrictModel):
    """Settings of the service (``campaignlab serve`` flags; routes and port from Vertex's variables).

    Attributes:
        host: interface to listen on.
        port: TCP port (``AIP_HTTP_PORT``, default 8080).
        health_route: ``AIP_HEALTH_ROUTE`` (default ``/health``).
        predict_route: ``AIP_PREDICT_ROUTE`` (default ``/predict``).
        max_instances: most instances in one predict request.
        max_body_bytes: largest request body.
        explain_by_default: attributions unless a request sets ``parameters.explain`` false.
        recommend_max_combinations: largest grid ``/recommend`` scores.
        recommend_max_top: most recommendations one request may ask for.
    """

    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)
    health_route: str = Field("/health", pattern=r"^/")
    predict_route: str = Field("/predict", pattern=r"^/")
    max_instances: int = Field(256, ge=1, le=100_000)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    explain_by_default: bool = True
    recommend_max_combinations: int = Field(50_000, ge=1)
    recommend_max_top: int = Field(50, ge=1)

    @classmethod
    def from_environment(cls, **flags: Any) -> "ServeSettings":
        """Vertex's variables, then the flags given (None: not given) on top."""
        data: dict[str, Any] = {}
        if os.environ.get(PORT_ENV):
            data["port"] = os.environ[PORT_ENV]
        if os.environ.get(HEALTH_ENV):
            data["health_route"] = os.environ[HEALTH_ENV]
        if os.environ.get(PREDICT_ENV):
            data["predict_route"] = os.environ[PREDICT_ENV]
        data.update({k: v for k, v in flags.items() if v is not None})
        from campaignlab.config import validate

        return validate(cls, data, "serve options")


class _RequestError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


async def _read_json(request: Any, limit: int) -> Any:
    """The request body as JSON, refusing bodies over ``limit`` bytes before reading them whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _RequestError(413, f"body: got {int(declared)} bytes -> expected at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _RequestError(413, f"body: got more than {limit} bytes -> expected at most {limit}")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks) or b"null")
    except (ValueError, UnicodeDecodeError) as err:
        raise _RequestError(400, f"body: not valid JSON ({err})") from None


def create_app(predictor: Any, settings: ServeSettings | None = None) -> Any:
    """The FastAPI app around a loaded :class:`campaignlab.serving.predictor.Predictor`."""
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.concurrency import run_in_threadpool

    from campaignlab.serving import page
    from campaignlab.serving.campaigns import describe, validate_instances
    from campaignlab.serving.recommend import (
        OBJECTIVES,
        Candidates,
        candidates_for,
        candidates_from_data,
        recommend,
        training_candidates,
    )

    settings = settings or ServeSettings()
    app = FastAPI(title="campaignlab prediction service", docs_url="/docs", redoc_url=None)
    info = predictor.info()
    counters = {"requests": 0, "instances": 0, "errors": 0}

    @app.exception_handler(_RequestError)
    async def _request_error(request: Request, exc: _RequestError) -> JSONResponse:
        counters["errors"] += 1
        return JSONResponse(exc.body, status_code=exc.status)

    @app.get(settings.health_route)
    def health() -> dict[str, Any]:
        return {"status": "ok", "model_type": info["model_type"], "recipe": info["recipe_summary"]}

    @app.get("/model")
    def model_info() -> dict[str, Any]:
        routes = {
            "health": settings.health_route,
            "predict": settings.predict_route,
            "recommend": RECOMMEND_ROUTE,
        }
        limits = {"max_instances": settings.max_instances, "max_body_bytes": settings.max_body_bytes}
        return {**info, "routes": routes, "limits": limits, "counters": dict(counters)}

    @app.post(settings.predict_route)
    async def predict(request: Request) -> JSONResponse:
        body = await _read_json(request, settings.max_body_bytes)
        if not isinstance(body, dict) or not isinstance(body.get("instances"), list):
            raise _RequestError(400, 'body: expected {"instances": [campaign, ...]}')
        unknown = sorted(set(body) - {"instances", "parameters"})
        if unknown:
            raise _RequestError(400, f"body.{unknown[0]}: unknown key -> expected instances and parameters")
        instances = body["instances"]
        if not instances:
            raise _RequestError(400, "instances: got an empty list -> expected at least one campaign")
        if len(instances) > settings.max_instances:
            raise _RequestError(
                413,
                f"instances: got {len(instances)} -> expected at most {settings.max_instances} per request",
            )
        params = body.get("parameters") or {}
        if (
            not isinstance(params, dict)
            or set(params) - {"explain"}
            or not isinstance(params.get("explain", True), bool)
        ):
            raise _RequestError(400, 'parameters: expected {"explain": true|false}')
        explain_ = params.get("explain", settings.explain_by_default)
        campaigns, rejected = validate_instances(instances)
        if len(rejected):
            errors = rejected.head(50).to_dict("records")
            listed = [
                {"index": int(e["row"]), "field": e["field"], "reason": e["reason"], "message": describe(e)}
                for e in errors
            ]
            raise _RequestError(400, describe(errors[0]), errors=listed)
        scores = await run_in_threadpool(predictor.predict, campaigns, explain_=explain_)
        counters["requests"] += 1
        counters["instances"] += len(campaigns)
        return JSONResponse({"predictions": scores.records(campaigns.campaign_id, campaigns.platform)})

    @app.post(RECOMMEND_ROUTE)
    async def recommend_route(request: Request) -> JSONResponse:
        body = await _read_json(request, settings.max_body_bytes)
        if not isinstance(body, dict):
            raise _RequestError(400, 'body: expected {"brand": ..., "audience": ...}')
        unknown = sorted(set(body) - {"brand", "audience", "top", "objective", "candidates", "explain"})
        if unknown:
            raise _RequestError(400, f"body.{unknown[0]}: unknown key -> expected brand, audience, top, "
                                     "objective, candidates, explain")  # fmt: skip
        for key in ("brand", "audience"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise _RequestError(400, f"{key}: got {body.get(key)!r} -> expected a non-empty text")
        top = body.get("top", 5)
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= settings.recommend_max_top:
            raise _RequestError(
                400, f"top: got {top!r} -> expected an integer 1..{settings.recommend_max_top}"
            )
        objective = body.get("objective", "positive")
        if objective not in OBJECTIVES:
            raise _RequestError(400, f"objective: got {objective!r} -> expected one of {list(OBJECTIVES)}")
        from campaignlab.errors import CampaignlabError

        try:
            cands: Candidates = (
                candidates_from_data(
                    body["candidates"], "candidates", training_candidates(predictor.model_dir)
                )
                if body.get("candidates") is not None
                else candidates_for(predictor, None)
            )
            result = await run_in_threadpool(
                recommend, predictor, body["brand"], body["audience"], cands, top=top, objective=objective,
                explain_=bool(body.get("explain", True)),
                max_combinations=settings.recommend_max_combinations,
            )  # fmt: skip
        except CampaignlabError as err:
            raise _RequestError(400, str(err)) from None
        return JSONResponse(result)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page.render(info, settings.predict_route, RECOMMEND_ROUTE)

    return app
