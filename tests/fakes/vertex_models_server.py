"""The fake Vertex AI server with the Model Registry: ``models:upload`` (new models and new versions of a
``parentModel``), ``models.get`` by ``ID``, ``ID@VERSION`` or ``ID@ALIAS``, ``listVersions`` and
``mergeVersionAliases``, for the real google-cloud-aiplatform client (``aiplatform.Model.upload`` with
``parent_model`` and ``version_aliases``, ``ModelRegistry``). It extends :class:`VertexFake` (pipelines,
schedules, bucket checks), so one server answers a whole Vertex session.

Semantics as the service documents them: version ids count from 1 per model; an alias names one version
of a model at a time (adding it to a version takes it from the one holding it); ``default`` follows the
newest version uploaded with ``is_default_version``; an alias cannot be removed from the default version
if it is ``default``.

Usage::

    with VertexModelsFake() as fake:
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url}
        fake.models["projects/p/locations/l/models/campaign-outcome"]  # the versions, newest last
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import unquote

from tests.fakes.vertex_pipelines_server import _LOC, NOW, ROUTES, VertexFake

MODEL_ROUTES = [
    ("POST", re.compile(_LOC + r"/models:upload$"), "upload_model"),
    ("GET", re.compile(_LOC + r"/models$"), "list_models"),
    ("GET", re.compile(_LOC + r"/models/(?P<id>[^/:]+):listVersions$"), "list_model_versions"),
    ("POST", re.compile(_LOC + r"/models/(?P<id>[^/:]+):mergeVersionAliases$"), "merge_version_aliases"),
    ("GET", re.compile(_LOC + r"/models/(?P<id>[^/:]+)$"), "get_model"),
    ("GET", re.compile(_LOC + r"/operations/(?P<op>[^/:]+)$"), "get_operation"),
]


class VertexModelsFake(VertexFake):
    """:class:`VertexFake` plus the Model Registry routes."""

    routes = ROUTES + MODEL_ROUTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.models: dict[str, list[dict[str, Any]]] = {}
        self.operations: dict[str, dict[str, Any]] = {}

    # --- helpers ---------------------------------------------------------------------------------

    def _not_found(self, what: str) -> tuple[int, Any]:
        return 404, {"error": {"code": 404, "message": f"{what} not found", "status": "NOT_FOUND"}}

    def _split_ref(self, g: dict[str, str]) -> tuple[str, str | None]:
        ident = unquote(g["id"])
        base, _, ref = ident.partition("@")
        return f"projects/{g['project']}/locations/{g['location']}/models/{base}", ref or None

    def _find(self, name: str, ref: str | None) -> dict[str, Any] | None:
        versions = self.models.get(name)
        if not versions:
            return None
        if ref is None:
            ref = "default"
        for v in versions:
            if v["versionId"] == ref or ref in v["versionAliases"]:
                return v
        return None

    def _take_alias(self, name: str, alias: str) -> None:
        for v in self.models.get(name, []):
            if alias in v["versionAliases"]:
                v["versionAliases"].remove(alias)

    # --- routes ----------------------------------------------------------------------------------

    def _upload_model(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        model = copy.deepcopy(body.get("model", {}))
        parent = body.get("parentModel")
        loc = f"projects/{g['project']}/locations/{g['location']}"
        if parent:
            name = parent
            if name not in self.models:
                return self._not_found(f"parent model {name}")
        else:
            model_id = body.get("modelId") or f"{len(self.models) + 1000}"
            name = f"{loc}/models/{model_id}"
            if name in self.models:
                return 409, {"error": {"code": 409, "message": f"Model {name} already exists",
                                       "status": "ALREADY_EXISTS"}}  # fmt: skip
            self.models[name] = []
        versions = self.models[name]
        version_id = str(len(versions) + 1)
        aliases = list(model.get("versionAliases", []))
        for a in aliases:
            self._take_alias(name, a)
        if not versions and "default" not in aliases:
            aliases.append("default")  # the first version is always the default
        record = {
            **model,
            "name": name,
            "versionId": version_id,
            "versionAliases": aliases,
            "createTime": NOW,
            "updateTime": NOW,
            "versionCreateTime": NOW,
            "versionUpdateTime": NOW,
            "etag": f"etag-{version_id}",
        }
        versions.append(record)
        op = f"{loc}/operations/{len(self.operations) + 1}"
        self.operations[op] = {
            "name": op,
            "done": True,
            "metadata": {
                "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelOperationMetadata",
                "genericMetadata": {"createTime": NOW, "updateTime": NOW},
            },
            "response": {
                "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
                "model": name,
                "modelVersionId": version_id,
            },
        }
        return 200, self.operations[op]

    def _get_operation(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name = f"projects/{g['project']}/locations/{g['location']}/operations/{g['op']}"
        if name not in self.operations:
            return self._not_found(name)
        return 200, self.operations[name]

    def _get_model(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name, ref = self._split_ref(g)
        v = self._find(name, ref)
        if v is None:
            return self._not_found(f"Model {name}{'@' + ref if ref else ''}")
        return 200, v

    def _list_models(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        prefix = f"projects/{g['project']}/locations/{g['location']}/models/"
        items = [self._find(n, None) for n in self.models if n.startswith(prefix)]
        flt = (q.get("filter") or [""])[0]
        m = re.search(r'display_name="([^"]*)"', flt)
        if m:
            items = [i for i in items if i and i.get("displayName") == m.group(1)]
        return 200, {"models": items} if items else {}

    def _list_model_versions(self, g: dict[str, str], q: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        name, _ = self._split_ref(g)
        if name not in self.models:
            return self._not_found(f"Model {name}")
        return 200, {"models": list(self.models[name])}

    def _merge_version_aliases(
        self, g: dict[str, str], q: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        name, ref = self._split_ref(g)
        v = self._find(name, ref)
        if v is None:
            return self._not_found(f"Model {name}@{ref}")
        for a in body.get("versionAliases", []):
            if a.startswith("-"):
                if a[1:] == "default":
                    return 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                           "message": "The default alias cannot be removed"}}  # fmt: skip
                if a[1:] in v["versionAliases"]:
                    v["versionAliases"].remove(a[1:])
            else:
                self._take_alias(name, a)
                v["versionAliases"].append(a)
        return 200, v
