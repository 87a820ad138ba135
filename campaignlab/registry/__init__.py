"""The model registry: model versions with their evaluation, data manifest and lineage, and aliases.

Backends: a local folder (default) and the Vertex AI Model Registry (``vertex://PROJECT/REGION/MODEL``;
the files go to Cloud Storage, the versions and aliases to Vertex). Both give the same API::

    from campaignlab.registry import Registry

    reg = Registry("registry")                           # or "vertex://my-proj/us-central1/campaign-outcome"
    v = reg.register("runs/model", evaluation="runs/eval", dataset="data/mine", features="feats/mine",
                     run="manual-2025-06", aliases=["challenger"])
    champion = reg.resolve("champion")                   # a ModelVersion with a local copy of its files
    champion.model_dir, champion.metrics["macro_f1"], champion.lineage["data_snapshot"]
    reg.promote("challenger")                            # the champion alias moves to the challenger
    reg.list()

References: a version number ("3"), an alias ("champion", "challenger") or "latest".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from campaignlab.registry.base import ALIASES, ModelVersion, RegistryError
from campaignlab.registry.local import LocalRegistry

REGISTRY_ENV = "CAMPAIGNLAB_REGISTRY"
DEFAULT_REGISTRY = "registry"


def default_registry_uri() -> str:
    """``$CAMPAIGNLAB_REGISTRY`` or the folder ``registry`` (relative to the working directory)."""
    return os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY


def Registry(uri: str | Path | None = None, **options: Any) -> Any:
    """Open the registry at ``uri``: a local folder, or ``vertex://PROJECT/REGION/MODEL[?artifacts=gs://...]``.

    Args:
        uri: where the registry lives (default :func:`default_registry_uri`).
        **options: backend options (Vertex: ``artifacts`` gs:// prefix for the files, ``serving_image``,
            ``api_endpoint``, ``cache_dir``).
    """
    text = str(uri or default_registry_uri())
    if text.startswith("vertex://"):
        from campaignlab.registry.vertex import VertexRegistry

        return VertexRegistry.from_uri(text, **options)
    if "://" in text:
        raise RegistryError(
            f"registry: got {text!r} -> expected a local folder or vertex://PROJECT/REGION/MODEL"
        )
    return LocalRegistry(text, **options)


__all__ = ["ALIASES", "LocalRegistry", "ModelVersion", "Registry", "RegistryError", "default_registry_uri"]
