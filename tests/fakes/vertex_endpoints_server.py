"""A fake of the Vertex AI routes `campaignlab deploy` uses, and of the Cloud Storage upload it makes.

It extends :class:`tests.fakes.vertex_pipelines_server.VertexFake` (same recording, same error injection,
same Google error JSON) with the routes google-cloud-aiplatform's REST transport calls for
``Model.upload``, ``Endpoint.create``, ``Model.deploy`` and ``Endpoint.list_models``, plus
google-cloud-storage's multipart object upload. Long-running operations finish at once (``done: true``)
with the response type the client unpacks.

Usage::

    with VertexEndpointsFake() as fake:
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": fake.url}
        ...
        fake.objects["bucket"]["models/arch2/model.json"]   # the uploaded bytes
        fake.endpoints[name]["deployedModels"]                # what was deployed
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from typing import Any
from urllib.parse import unquote

from tests.fakes.vertex_pipelines_server import _LOC, NOW, ROUTES, Request, VertexFake

_T = "type.googleapis.com/google.cloud.aiplatform.v1."
ENDPOINT_ROUTES = [
    ("POST", re.compile(_LOC + r"/models:upload$"), "upload_model"),
    ("GET", re.compile(_LOC + r"/models/(?P<id>[^/:]+)$"), "get_model"),
    ("POST", re.compile(_LOC + r"/endpoints$"), "create_endpoint"),
    ("GET", re.compile(_LOC + r"/endpoints/(?P<id>[^/:]+)$"), "get_endpoint"),
    ("POST", re.compile(_LOC + r"/endpoints/(?P<id>[^/:]+):deployModel$"), "deploy_model"),
    ("GET", re.compile(r"/v1/(?P<op>projects/.+/operations/[^/:]+)$"), "get_operation"),
    ("POST", re.compile(r"/upload/storage/v1/b/(?P<bucket>[^/]+)/o$"), "upload_object"),
]


class VertexEndpointsFake(VertexFake):
    """:class:`VertexFake` plus models, endpoints, deployments and object uploads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.models: dict[str, dict[str, Any]] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, dict[str, bytes]] = {}
        self._numbers = itertools.count(1000)

    def _dispatch(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        for m, pattern, operation in ENDPOINT_ROUTES + ROUTES:
            match = pattern.match(path)
            if m == method and match:
                with self._lock:
                    self.requests.append(Request(method, path, query, body, operation))
                    if operation in self.errors:
                        code, status, message = self.errors[operation]
                        return code, {"error": {"code": code, "message": message, "status": status}}
                    return getattr(self, f"_{operation}")(match.groupdict(), query, body)
        return 404, {"error": {"code": 404, "message": f"no route {method} {path}", "status": "NOT_FOUND"}}

    def _operation(self, parent: str, kind: str, response: dict[str, Any]) -> tuple[int, Any]:
        name = f"{parent}/operations/{next(self._numbers)}"
        op = {
            "name": name,
            "done": True,
            "metadata": {"@type": _T + f"{kind}OperationMetadata", "genericMetadata": {"createTime": NOW}},
            "response": response,
        }
        self.operations[name] = op
        return 200, op

    def _get_operation(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        op = self.operations.get(g["op"])
        return (
            (200, op)
            if op
            else (404, {"error": {"code": 404, "message": "no operation", "status": "NOT_FOUND"}})
        )

    def _upload_model(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        loc = f"projects/{g['project']}/locations/{g['location']}"
        name = f"{loc}/models/{next(self._numbers)}"
        # A custom-container model: Vertex lets it be deployed on dedicated machines.
        model = {**copy.deepcopy(body["model"]), "name": name, "versionId": "1", "createTime": NOW,
                 "versionAliases": ["default"],
                 "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"]}  # fmt: skip
        self.models[name] = model
        return self._operation(name, "UploadModel", {"@type": _T + "UploadModelResponse", "model": name,
                                                     "modelVersionId": "1"})  # fmt: skip

    def _get_model(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name = f"projects/{g['project']}/locations/{g['location']}/models/{unquote(g['id']).split('@')[0]}"
        if name not in self.models:
            return 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}}
        return 200, self.models[name]

    def _create_endpoint(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        loc = f"projects/{g['project']}/locations/{g['location']}"
        name = f"{loc}/endpoints/{next(self._numbers)}"
        self.endpoints[name] = {
            **copy.deepcopy(body or {}),
            "name": name,
            "createTime": NOW,
            "deployedModels": [],
        }
        return self._operation(name, "CreateEndpoint", {"@type": _T + "Endpoint", **self.endpoints[name]})

    def _get_endpoint(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name = f"projects/{g['project']}/locations/{g['location']}/endpoints/{g['id']}"
        if name not in self.endpoints:
            return 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}}
        return 200, self.endpoints[name]

    def _deploy_model(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name = f"projects/{g['project']}/locations/{g['location']}/endpoints/{g['id']}"
        if name not in self.endpoints:
            return 404, {"error": {"code": 404, "message": f"{name} not found", "status": "NOT_FOUND"}}
        deployed = {**copy.deepcopy(body["deployedModel"]), "id": str(next(self._numbers)), "createTime": NOW}
        ep = self.endpoints[name]
        ep["deployedModels"].append(deployed)
        ep["trafficSplit"] = {deployed["id"]: 100}
        return self._operation(
            name, "DeployModel", {"@type": _T + "DeployModelResponse", "deployedModel": deployed}
        )

    def _upload_object(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        # Multipart upload: the metadata JSON part names the object; the last part is its bytes.
        raw = body if isinstance(body, str) else json.dumps(body)
        name = q.get("name", [None])[0]
        parts = raw.split("\r\n\r\n")
        if name is None:
            meta = json.loads(parts[1].split("\r\n--")[0])
            name = meta["name"]
        data = parts[-1].rsplit("\r\n--", 1)[0]
        self.objects.setdefault(g["bucket"], {})[name] = data.encode("latin-1", errors="replace")
        return 200, {"kind": "storage#object", "bucket": g["bucket"], "name": name, "size": str(len(data))}
