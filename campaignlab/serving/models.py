"""Which model to use: a model folder (``--model``), a registry entry (``--registry R[:alias]``) or, in a
Vertex AI container, the artifacts Vertex names in ``AIP_STORAGE_URI``.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaignlab.errors import ConfigError, DataError

DEFAULT_ALIAS = "champion"
STORAGE_URI_ENV = "AIP_STORAGE_URI"
_ALIAS_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class ResolvedModel:
    """A model folder on this machine and where it came from."""

    path: Path
    source: dict[str, Any] = field(default_factory=dict)


def parse_registry_ref(ref: str) -> tuple[str, str]:
    """``R[:alias]`` -> ``(R, alias)``; the alias defaults to ``champion`` (``R:3`` names version 3).

    A colon belongs to the alias only when what follows it has no ``/`` (``gs://b/reg`` has no alias).
    """
    head, sep, tail = ref.rpartition(":")
    if sep and head and "/" not in tail and _ALIAS_RE.match(tail) and not ref.endswith("://"):
        return head, tail
    return ref, DEFAULT_ALIAS


def resolve_model(model: str | Path | None, registry: str | None) -> ResolvedModel:
    """The model folder to load, from exactly one of ``model`` and ``registry``.

    Raises:
        ConfigError: neither or both given, or a registry reference that cannot be resolved.
    """
    if (model is None) == (registry is None):
        given = "both --model and --registry" if model else "neither --model nor --registry"
        raise ConfigError(f"model: got {given} -> expected exactly one")
    if model is not None:
        path = Path(model)
        if str(model).startswith("gs://"):
            path = download_gcs_folder(str(model))
        if not (path / "model.json").is_file():
            raise DataError(f"--model {str(model)!r} is not a model folder (no model.json)")
        return ResolvedModel(path, {"model": str(model)})
    assert registry is not None
    return _from_registry(registry)


def _from_registry(ref: str) -> ResolvedModel:
    """Resolve ``R[:alias]`` with the model registry (:mod:`campaignlab.registry`)."""
    reg, alias = parse_registry_ref(ref)
    try:
        from campaignlab.registry import Registry  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise ConfigError(
            f"--registry {ref!r}: the model registry is not installed in this version; use --model FOLDER"
        ) from None
    version = Registry(reg).resolve(alias)
    source = {"registry": reg, "alias": alias, "version": str(getattr(version, "version", ""))}
    return ResolvedModel(Path(version.model_dir), source)


def model_from_environment() -> str | None:
    """``AIP_STORAGE_URI`` (set by Vertex AI for a model deployed with artifacts), if any."""
    return os.environ.get(STORAGE_URI_ENV) or None


def download_gcs_folder(uri: str, dest: str | Path | None = None) -> Path:
    """Copy every object under ``gs://BUCKET/PREFIX`` into a local folder (Vertex's model artifacts).

    The storage endpoint honours ``CAMPAIGNLAB_STORAGE_ENDPOINT`` (a fake server in the tests); a plain
    ``http://`` endpoint is used without credentials.
    """
    from google.cloud import storage

    m = re.match(r"^gs://([^/]+)/?(.*)$", uri)
    if not m:
        raise ConfigError(f"model: got {uri!r} -> expected gs://BUCKET/PATH")
    bucket_name, prefix = m.group(1), m.group(2).strip("/")
    endpoint = os.environ.get("CAMPAIGNLAB_STORAGE_ENDPOINT") or None
    creds = None
    if endpoint and endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        creds = AnonymousCredentials()
    client = storage.Client(
        project=os.environ.get("GOOGLE_CLOUD_PROJECT") or ("campaignlab-local" if creds else None),
        credentials=creds,
        client_options={"api_endpoint": endpoint} if endpoint else None,
    )
    out = Path(dest) if dest else Path(tempfile.mkdtemp(prefix="campaignlab-model-"))
    n = 0
    for blob in client.list_blobs(bucket_name, prefix=f"{prefix}/" if prefix else None):
        rel = blob.name[len(prefix) :].lstrip("/") if prefix else blob.name
        if not rel or rel.endswith("/"):
            continue
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(target))
        n += 1
    if n == 0:
        raise DataError(f"model {uri!r}: no object under that prefix")
    return out
