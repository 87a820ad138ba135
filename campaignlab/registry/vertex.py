"""The registry on Vertex AI: versions in the Vertex AI Model Registry, files in Cloud Storage.

``vertex://PROJECT/REGION/MODEL_ID?artifacts=gs://BUCKET/PREFIX`` names one registered model. Registering
stages the version's files exactly as the local registry does (``model/``, ``evaluation/``,
``data_manifest.json``, ``reference/``, ``version.json``), copies them to
``gs://BUCKET/PREFIX/MODEL_ID/<uuid>/`` and calls ``aiplatform.Model.upload`` with ``artifact_uri`` the
``model/`` folder, ``parent_model`` the registered model (after the first version) and
``version_aliases``; the alias moves (``champion``, ``challenger``) are ``mergeVersionAliases`` calls. The
model's family, run and macro F1 also go to the version's labels and description, so the Vertex console
shows them; the rest is read from ``version.json`` next to the model files.

The client talks REST; ``CAMPAIGNLAB_VERTEX_ENDPOINT`` (and ``CAMPAIGNLAB_STORAGE_ENDPOINT`` for the
files) point it at an emulator or a test fake, called without credentials when plain ``http://``.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from campaignlab import __version__
from campaignlab.errors import ConfigError
from campaignlab.io import write_json
from campaignlab.registry.base import (
    MODEL_DIR,
    VERSION_JSON,
    ModelVersion,
    RegistryError,
    check_alias,
    lineage_from,
    metrics_summary,
    now,
    stage_version,
)

VERTEX_ENDPOINT_ENV = "CAMPAIGNLAB_VERTEX_ENDPOINT"
DEFAULT_SERVING_IMAGE = f"campaignlab-serve:{__version__}"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _label(value: Any) -> str:
    """A Vertex label value: lower-case letters, digits, ``_`` and ``-``, at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "_", str(value).lower())[:63]


class VertexRegistry:
    """One registered model in the Vertex AI Model Registry (see the module docstring)."""

    def __init__(
        self,
        project: str,
        region: str,
        model_id: str,
        *,
        artifacts: str | None = None,
        serving_image: str | None = None,
        api_endpoint: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if not _ID_RE.match(model_id):
            raise ConfigError(
                f"registry model id: got {model_id!r} -> lower-case letters, digits, '-' and '_' (<= 63)"
            )
        if artifacts is not None and not artifacts.startswith("gs://"):
            raise ConfigError(f"artifacts: got {artifacts!r} -> expected gs://BUCKET/PREFIX")
        self.project, self.region, self.model_id = project, region, model_id
        self.artifacts = artifacts.rstrip("/") if artifacts else None
        self.serving_image = serving_image or DEFAULT_SERVING_IMAGE
        self.api_endpoint = api_endpoint or os.environ.get(VERTEX_ENDPOINT_ENV) or None
        self.cache_dir = (
            Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "campaignlab-registry"
        )

    @classmethod
    def from_uri(cls, uri: str, **options: Any) -> VertexRegistry:
        """``vertex://PROJECT/REGION/MODEL_ID[?artifacts=gs://...&serving_image=...]``."""
        parts = urlsplit(uri)
        path = [p for p in parts.path.split("/") if p]
        if parts.scheme != "vertex" or not parts.netloc or len(path) != 2:
            raise ConfigError(f"registry: got {uri!r} -> expected vertex://PROJECT/REGION/MODEL_ID")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - {"artifacts", "serving_image"})
        if unknown:
            raise ConfigError(f"registry: unknown option(s) {unknown} in {uri!r} (artifacts, serving_image)")
        return cls(parts.netloc, path[0], path[1], **{**query, **options})

    @property
    def uri(self) -> str:
        return f"vertex://{self.project}/{self.region}/{self.model_id}"

    @property
    def name(self) -> str:
        return self.model_id

    @property
    def resource(self) -> str:
        return f"projects/{self.project}/locations/{self.region}/models/{self.model_id}"

    @contextlib.contextmanager
    def _session(self) -> Iterator[Any]:
        from google.api_core import exceptions as gexc
        from google.cloud import aiplatform

        # The SDK logs every call at INFO on stdout ("Creating Model", "Getting versions"): keep the
        # command's own output readable (and parseable, e.g. `models list --json`).
        # Its module loggers set their own level, so each is quietened (they exist once imported).
        for name in list(logging.root.manager.loggerDict):
            if name.startswith("google.cloud.aiplatform"):
                logging.getLogger(name).setLevel(logging.WARNING)
        creds = None
        if self.api_endpoint and self.api_endpoint.startswith("http://"):
            from google.auth.credentials import AnonymousCredentials

            creds = AnonymousCredentials()
        aiplatform.init(
            project=self.project,
            location=self.region,
            api_endpoint=self.api_endpoint,
            api_transport="rest",
            credentials=creds,
        )
        try:
            yield aiplatform
        except gexc.Forbidden as err:
            raise RegistryError(
                f"permission denied by the Vertex AI Model Registry ({self.uri}): {err.message}; the caller "
                "needs roles/aiplatform.user"
            ) from None
        except gexc.GoogleAPICallError as err:
            raise RegistryError(f"Vertex AI Model Registry ({self.uri}): {err.message}") from None

    def _model(self, aiplatform: Any, ref: str | None = None) -> Any:
        from google.api_core import exceptions as gexc

        name = self.resource + (f"@{ref}" if ref else "")
        try:
            return aiplatform.Model(model_name=name)
        except gexc.NotFound:
            return None

    def _to_version(self, model: Any) -> ModelVersion:
        r = model.gca_resource
        base = r.artifact_uri.rstrip("/")
        base = base[: -len(MODEL_DIR)].rstrip("/") if base.endswith("/" + MODEL_DIR) else base
        meta = self._read_version_json(base)
        v = ModelVersion.from_json({**meta, "name": self.model_id, "version": r.version_id})
        v.aliases = sorted(a for a in r.version_aliases if a != "default")
        v.uri = base
        v.resource_name = f"{self.resource}@{r.version_id}"
        return v

    def _read_version_json(self, base: str) -> dict[str, Any]:
        from campaignlab.ingest.cloud import split_gs_uri, storage_client, translate_errors

        bucket, path = split_gs_uri(f"{base}/{VERSION_JSON}")
        import json

        with translate_errors(f"{base}/{VERSION_JSON}"):
            blob = storage_client(self.project).bucket(bucket).get_blob(path)
            return json.loads(blob.download_as_bytes()) if blob is not None else {}

    # --- reading --------------------------------------------------------------------------------

    def list(self) -> builtins.list[ModelVersion]:
        """Every version, oldest first, with its current aliases."""
        with self._session() as aiplatform:
            if self._model(aiplatform) is None:
                return []
            registry = aiplatform.models.ModelRegistry(self.resource)
            infos = sorted(registry.list_versions(), key=lambda i: int(i.version_id))
            return [self._to_version(self._model(aiplatform, i.version_id)) for i in infos]

    def get(self, ref: str = "champion") -> ModelVersion:
        """A version by number, alias or ``latest`` (files not downloaded)."""
        with self._session() as aiplatform:
            ref = str(ref)
            if ref == "latest":
                versions = self.list()
                if not versions:
                    raise RegistryError(f"registry {self.uri} has no model versions")
                ref = versions[-1].version
            model = self._model(aiplatform, ref)
            if model is None:
                raise RegistryError(f"registry {self.uri} has no version or alias {ref!r}")
            return self._to_version(model)

    def resolve(self, ref: str = "champion") -> ModelVersion:
        """:meth:`get`, and a local copy of the version's files (cached by version)."""
        from campaignlab.ingest.cloud import download_folder

        v = self.get(ref)
        local = self.cache_dir / self.project / self.region / self.model_id / v.version
        if not (local / VERSION_JSON).is_file():
            tmp = Path(tempfile.mkdtemp(prefix=".dl-", dir=self._mkdir(local.parent)))
            try:
                download_folder(v.uri, str(tmp))
                if local.exists():
                    shutil.rmtree(local)
                os.rename(tmp, local)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        v.local_dir = local
        return v

    @staticmethod
    def _mkdir(p: Path) -> Path:
        p.mkdir(parents=True, exist_ok=True)
        return p

    def history(self) -> builtins.list[dict[str, Any]]:
        return []  # Vertex keeps no alias history we can read back; see the versions' update times

    # --- changing -------------------------------------------------------------------------------

    def _move_alias(self, aiplatform: Any, alias: str, version: str) -> None:
        registry = aiplatform.models.ModelRegistry(self.resource)
        holder = self._model(aiplatform, alias)
        if holder is not None and holder.gca_resource.version_id != version:
            registry.remove_version_aliases([alias], holder.gca_resource.version_id)
        registry.add_version_aliases([alias], version)

    def register(
        self,
        model_dir: str | Path,
        *,
        evaluation: str | Path | None = None,
        dataset: str | Path | None = None,
        features: str | Path | None = None,
        run: str | None = None,
        lineage: dict[str, Any] | None = None,
        aliases: Sequence[str] = (),
        description: str = "",
    ) -> ModelVersion:
        """Upload the files to Cloud Storage and a new version to the Model Registry (see the module doc)."""
        from campaignlab.ingest.cloud import upload_folder

        if self.artifacts is None:
            raise ConfigError(
                f"artifacts: registering on {self.uri} needs a gs:// prefix for the files "
                "(vertex://...?artifacts=gs://BUCKET/PREFIX or --artifacts)"
            )
        for a in aliases:
            check_alias(a)
        paths = {k: Path(v) if v is not None else None for k, v in
                 {"evaluation": evaluation, "dataset": dataset, "features": features}.items()}  # fmt: skip
        base = f"{self.artifacts}/{self.model_id}/{uuid.uuid4().hex[:16]}"
        with tempfile.TemporaryDirectory(prefix="campaignlab-register-") as tmpdir:
            tmp = Path(tmpdir)
            family = stage_version(tmp, Path(model_dir), **paths)
            v = ModelVersion(
                name=self.model_id,
                version="",
                family=family,
                metrics=metrics_summary(paths["evaluation"]),
                lineage=lineage_from(paths["dataset"], paths["features"], run, lineage),
                created=now(),
                description=description,
                uri=base,
            )
            write_json(tmp / VERSION_JSON, v.to_json())
            upload_folder(str(tmp), base)
            f1 = v.metrics.get("macro_f1")
            with self._session() as aiplatform:
                parent = self._model(aiplatform)
                for a in aliases:  # an alias names one version: take it from its holder first
                    holder = self._model(aiplatform, a) if parent is not None else None
                    if holder is not None:
                        aiplatform.models.ModelRegistry(self.resource).remove_version_aliases(
                            [a], holder.gca_resource.version_id
                        )
                labels = {"family": _label(family), "campaignlab": _label(__version__)}
                if run:
                    labels["run"] = _label(run)
                model = aiplatform.Model.upload(
                    display_name=self.model_id,
                    model_id=None if parent is not None else self.model_id,
                    parent_model=self.resource if parent is not None else None,
                    artifact_uri=f"{base}/{MODEL_DIR}",
                    serving_container_image_uri=self.serving_image,
                    version_aliases=list(aliases),
                    is_default_version=True,
                    version_description=(description or family)
                    + (f" (macro F1 {f1:.4f})" if isinstance(f1, float) else ""),
                    description=f"campaignlab campaign-outcome model ({self.model_id})",
                    labels=labels,
                    sync=True,
                )
            v.version = str(model.version_id)
            v.resource_name = f"{self.resource}@{v.version}"
            write_json(tmp / VERSION_JSON, v.to_json())  # now with its version id
            self._upload_file(tmp / VERSION_JSON, f"{base}/{VERSION_JSON}")
        return self.get(v.version)

    def _upload_file(self, path: Path, uri: str) -> None:
        from campaignlab.ingest.cloud import split_gs_uri, storage_client, translate_errors

        bucket, name = split_gs_uri(uri)
        with translate_errors(uri):
            storage_client(self.project).bucket(bucket).blob(name).upload_from_filename(str(path))

    def set_alias(self, alias: str, ref: str, *, reason: str = "") -> ModelVersion:
        """Point ``alias`` at version ``ref`` (taking it from the version holding it)."""
        check_alias(alias)
        target = self.get(ref)
        with self._session() as aiplatform:
            self._move_alias(aiplatform, alias, target.version)
        return self.get(target.version)

    def remove_alias(self, alias: str) -> None:
        with self._session() as aiplatform:
            holder = self._model(aiplatform, alias)
            if holder is None:
                raise ConfigError(f"alias: {alias!r} is not set in {self.uri}")
            aiplatform.models.ModelRegistry(self.resource).remove_version_aliases(
                [alias], holder.gca_resource.version_id
            )

    def promote(self, ref: str = "challenger", *, alias: str = "champion", reason: str = "") -> ModelVersion:
        """Make version ``ref`` the champion (the alias moves; the old champion stays registered)."""
        return self.set_alias(alias, ref, reason=reason)
