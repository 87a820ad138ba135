"""The fake Vertex AI server with the Model Registry: ``models:upload`` (new models and new versions of a
``parentModel``), ``models.get`` by ``ID``, ``ID@VERSION`` or ``ID@ALIAS``, ``models.list``,
``listVersions`` and ``mergeVersionAliases``, for the real google-cloud-aiplatform client
(``aiplatform.Model.upload`` with ``parent_model`` and ``version_aliases``, ``ModelRegistry``). It extends
:class:`VertexFake` (pipelines, schedules, operations, Cloud Storage), so one server answers a whole
Vertex session.

Semantics as the service documents them: version ids count from 1 per model; an alias names one version
of a model at a time (adding it to a version takes it from the one holding it); ``default`` follows the
newest version uploaded with ``is_default_version``; an alias cannot be removed from the default version
if it is ``default``. A model with a custom container can be deployed on dedicated machines.

Usage::

    with VertexModelsFake() as fake:
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url}
        fake.models["projects/p/locations/l/models/campaign-outcome"]  # the versions, oldest first
"""

from __future__ import annotations

import copy
import re
from typing import Any

from tests.fakes.server import ApiError, Request, Route, route
from tests.fakes.vertex_pipelines_server import LOC, NOW, TYPES, VertexFake, location

_M = rf"{LOC}/models/(?P<id>[^/:]+)"
MODEL_ROUTES: tuple[Route, ...] = (
    route("POST", rf"{LOC}/models:upload", "upload_model"),
    route("GET", rf"{LOC}/models", "list_models"),
    route("GET", rf"{_M}:listVersions", "list_model_versions"),
    route("POST", rf"{_M}:mergeVersionAliases", "merge_version_aliases"),
    route("GET", _M, "get_model"),
)


class VertexModelsFake(VertexFake):
    """:class:`VertexFake` plus the Model Registry routes. ``models``: name -> its versions."""

    routes = MODEL_ROUTES + VertexFake.routes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.models: dict[str, list[dict[str, Any]]] = {}

    # --- helpers ---------------------------------------------------------------------------------

    def _ref(self, req: Request) -> tuple[str, str | None]:
        """The model name and the version or alias (``ID@REF``) of a request's path."""
        base, _, ref = req.params["id"].partition("@")
        return f"{location(req)}/models/{base}", ref or None

    def _version(self, req: Request) -> dict[str, Any]:
        """The version a request names (its default version without ``@REF``); 404 if there is none."""
        name, ref = self._ref(req)
        for v in self.models.get(name, []):
            if v["versionId"] == (ref or "default") or (ref or "default") in v["versionAliases"]:
                return v
        raise ApiError(404, f"Model {name}{'@' + ref if ref else ''} not found")

    def _take_alias(self, name: str, alias: str) -> None:
        for v in self.models.get(name, []):
            if alias in v["versionAliases"]:
                v["versionAliases"].remove(alias)

    # --- routes ----------------------------------------------------------------------------------

    def _upload_model(self, req: Request) -> Any:
        body = req.body
        model = copy.deepcopy(body.get("model", {}))
        name = body.get("parentModel")
        if name:
            if name not in self.models:
                raise ApiError(404, f"parent model {name} not found")
        else:
            name = f"{location(req)}/models/{body.get('modelId') or len(self.models) + 1000}"
            if name in self.models:
                raise ApiError(409, f"Model {name} already exists")
            self.models[name] = []
        versions = self.models[name]
        version_id = str(len(versions) + 1)
        aliases = list(model.get("versionAliases", []))
        for a in aliases:
            self._take_alias(name, a)
        if not versions and "default" not in aliases:
            aliases.append("default")  # the first version is always the default
        if "containerSpec" in model:
            model["supportedDeploymentResourcesTypes"] = ["DEDICATED_RESOURCES"]
        versions.append({**model, "name": name, "versionId": version_id, "versionAliases": aliases,
                         "createTime": NOW, "updateTime": NOW, "versionCreateTime": NOW,
                         "versionUpdateTime": NOW, "etag": f"etag-{version_id}"})  # fmt: skip
        response = {"@type": f"{TYPES}UploadModelResponse", "model": name, "modelVersionId": version_id}
        return self._operation(location(req), "UploadModel", response)

    def _get_model(self, req: Request) -> Any:
        return self._version(req)

    def _list_models(self, req: Request) -> Any:
        prefix = f"{location(req)}/models/"
        items = [v for n, vs in self.models.items() if n.startswith(prefix)
                 for v in vs if "default" in v["versionAliases"]]  # fmt: skip
        m = re.search(r'display_name="([^"]*)"', req.arg("filter"))
        if m:
            items = [i for i in items if i.get("displayName") == m.group(1)]
        return {"models": items} if items else {}

    def _list_model_versions(self, req: Request) -> Any:
        name, _ = self._ref(req)
        if name not in self.models:
            raise ApiError(404, f"Model {name} not found")
        return {"models": list(self.models[name])}

    def _merge_version_aliases(self, req: Request) -> Any:
        v = self._version(req)
        name, _ = self._ref(req)
        for a in req.body.get("versionAliases", []):
            if a.startswith("-"):
                if a[1:] == "default":
                    raise ApiError(400, "The default alias cannot be removed")
                if a[1:] in v["versionAliases"]:
                    v["versionAliases"].remove(a[1:])
            else:
                self._take_alias(name, a)
                v["versionAliases"].append(a)
        return v
