"""The fake Vertex AI server with endpoints, for what `campaignlab deploy` does.

It extends :class:`tests.fakes.vertex_models_server.VertexModelsFake` (the Model Registry, operations and
Cloud Storage at the same endpoint) with the routes google-cloud-aiplatform's REST transport calls for
``Endpoint.create``, ``Model.deploy`` and ``Endpoint.list_models``. Long-running operations finish at
once (``done: true``) with the response type the client unpacks.

Usage::

    with VertexEndpointsFake() as fake:
        fake.create_bucket("bucket")
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": fake.url}
        ...
        fake.get("bucket", "models/arch2/model.json")   # the uploaded bytes
        fake.endpoints[name]["deployedModels"]           # what was deployed
"""

from __future__ import annotations

import copy
from typing import Any

from tests.fakes.server import ApiError, Request, Route, route
from tests.fakes.vertex_models_server import VertexModelsFake
from tests.fakes.vertex_pipelines_server import LOC, NOW, TYPES, location

_E = rf"{LOC}/endpoints/(?P<id>[^/:]+)"
ENDPOINT_ROUTES: tuple[Route, ...] = (
    route("POST", rf"{LOC}/endpoints", "create_endpoint"),
    route("GET", _E, "get_endpoint"),
    route("POST", rf"{_E}:deployModel", "deploy_model"),
)


class VertexEndpointsFake(VertexModelsFake):
    """:class:`VertexModelsFake` plus endpoints and deployments. ``endpoints``: name -> endpoint."""

    routes = ENDPOINT_ROUTES + VertexModelsFake.routes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoints: dict[str, dict[str, Any]] = {}

    def _endpoint(self, req: Request) -> dict[str, Any]:
        name = f"{location(req)}/endpoints/{req.params['id']}"
        if name not in self.endpoints:
            raise ApiError(404, f"{name} not found")
        return self.endpoints[name]

    def _create_endpoint(self, req: Request) -> Any:
        name = f"{location(req)}/endpoints/{next(self._ids)}"
        endpoint = {**copy.deepcopy(req.body or {}), "name": name, "createTime": NOW, "deployedModels": []}
        self.endpoints[name] = endpoint
        return self._operation(name, "CreateEndpoint", {"@type": f"{TYPES}Endpoint", **endpoint})

    def _get_endpoint(self, req: Request) -> Any:
        return self._endpoint(req)

    def _deploy_model(self, req: Request) -> Any:
        endpoint = self._endpoint(req)
        deployed = {**copy.deepcopy(req.body["deployedModel"]), "id": str(next(self._ids)), "createTime": NOW}
        endpoint["deployedModels"].append(deployed)
        endpoint["trafficSplit"] = {deployed["id"]: 100}
        response = {"@type": f"{TYPES}DeployModelResponse", "deployedModel": deployed}
        return self._operation(endpoint["name"], "DeployModel", response)
