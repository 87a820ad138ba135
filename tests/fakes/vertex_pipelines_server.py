"""A fake of the Vertex AI Pipelines REST API (v1), with Cloud Storage at the same endpoint.

It answers the routes google-cloud-aiplatform's REST transport uses for ``PipelineJob.submit/wait``,
``PipelineJobSchedule.create/list/get/delete`` and long-running operations; it is also a whole
:class:`GcsFake`, because the client checks (and creates) the pipeline-root bucket through the Storage
API and the tests point both endpoints at one server. Requests are recorded (``request.body`` is the
JSON sent) and errors injected per operation (see :mod:`tests.fakes.server`).

Usage::

    with VertexFake() as fake:
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": fake.url}
        fake.fail("create_pipeline_job", 403, "caller lacks aiplatform.pipelineJobs.create")
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from tests.fakes.gcs_server import STORAGE_ROUTES, GcsFake
from tests.fakes.server import ApiError, Request, Route, route

NOW = "2026-01-05T03:00:00Z"
LOC = r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
TYPES = "type.googleapis.com/google.cloud.aiplatform.v1."
PIPELINE_ROUTES: tuple[Route, ...] = (
    route("POST", rf"{LOC}/pipelineJobs", "create_pipeline_job"),
    route("GET", rf"{LOC}/pipelineJobs/(?P<id>[^/:]+)", "get_pipeline_job"),
    route("POST", rf"{LOC}/schedules", "create_schedule"),
    route("GET", rf"{LOC}/schedules", "list_schedules"),
    route("GET", rf"{LOC}/schedules/(?P<id>[^/:]+)", "get_schedule"),
    route("DELETE", rf"{LOC}/schedules/(?P<id>[^/:]+)", "delete_schedule"),
    route("GET", r"/v1/(?P<op>projects/[^:]+/operations/[^/:]+)", "get_operation"),
)


def location(req: Request) -> str:
    """``projects/P/locations/L`` of a request."""
    return f"projects/{req.params['project']}/locations/{req.params['location']}"


class VertexFake(GcsFake):
    """The fake server. ``states`` is the sequence of states a job reports on successive GETs."""

    routes = PIPELINE_ROUTES + STORAGE_ROUTES

    def __init__(self, states: tuple[str, ...] = ("PIPELINE_STATE_SUCCEEDED",)) -> None:
        super().__init__()
        self.states = states
        self.job_error: dict[str, Any] | None = None
        self.jobs: dict[str, dict[str, Any]] = {}
        self.job_polls: dict[str, int] = {}
        self.schedules: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def _operation(self, parent: str, kind: str, response: dict[str, Any]) -> dict[str, Any]:
        """A long-running operation under ``parent`` that is already done with ``response``."""
        name = f"{parent}/operations/{next(self._ids)}"
        self.operations[name] = {
            "name": name,
            "done": True,
            "metadata": {
                "@type": f"{TYPES}{kind}OperationMetadata",
                "genericMetadata": {"createTime": NOW, "updateTime": NOW},
            },
            "response": response,
        }
        return self.operations[name]

    def _get_operation(self, req: Request) -> Any:
        if req.params["op"] not in self.operations:
            raise ApiError(404, f"{req.params['op']} not found")
        return self.operations[req.params["op"]]

    def _create_pipeline_job(self, req: Request) -> Any:
        name = f"{location(req)}/pipelineJobs/{req.arg('pipelineJobId', f'job-{next(self._ids)}')}"
        if name in self.jobs:
            raise ApiError(409, f"{name} exists")
        self.jobs[name] = {**copy.deepcopy(req.body), "name": name, "state": "PIPELINE_STATE_PENDING",
                           "createTime": NOW}  # fmt: skip
        self.job_polls[name] = 0
        return self.jobs[name]

    def _get_pipeline_job(self, req: Request) -> Any:
        name = f"{location(req)}/pipelineJobs/{req.params['id']}"
        if name not in self.jobs:
            raise ApiError(404, f"{name} not found")
        job, i = self.jobs[name], self.job_polls[name]
        job["state"] = self.states[min(i, len(self.states) - 1)]
        self.job_polls[name] = i + 1
        if job["state"] == "PIPELINE_STATE_FAILED" and self.job_error:
            job["error"] = self.job_error
        return job

    def _create_schedule(self, req: Request) -> Any:
        name = f"{location(req)}/schedules/{next(self._ids)}"
        self.schedules[name] = {**copy.deepcopy(req.body), "name": name, "state": "ACTIVE",
                                "createTime": NOW, "nextRunTime": NOW}  # fmt: skip
        return self.schedules[name]

    def _list_schedules(self, req: Request) -> Any:
        items = [s for n, s in self.schedules.items() if n.startswith(f"{location(req)}/schedules/")]
        return {"schedules": items} if items else {}

    def _schedule_name(self, req: Request) -> str:
        name = f"{location(req)}/schedules/{req.params['id']}"
        if name not in self.schedules:
            raise ApiError(404, f"{name} not found")
        return name

    def _get_schedule(self, req: Request) -> Any:
        return self.schedules[self._schedule_name(req)]

    def _delete_schedule(self, req: Request) -> Any:
        del self.schedules[self._schedule_name(req)]
        return self._operation(
            location(req), "Delete", {"@type": "type.googleapis.com/google.protobuf.Empty"}
        )
