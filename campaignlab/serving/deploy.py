"""Deploy a model to a Vertex AI endpoint with the ``serve`` image (``campaignlab deploy``).

Three steps with the real Google clients (google-cloud-storage, google-cloud-aiplatform over REST):

1. copy the model folder to ``artifact_uri`` (Cloud Storage);
2. ``aiplatform.Model.upload``: register it in the Vertex AI Model Registry with the serve image as its
   serving container (``campaignlab serve``; health ``/health``, predict ``/predict``, port 8080; Vertex
   sets ``AIP_STORAGE_URI`` to the artifact folder, which the container loads);
3. ``Model.deploy`` to an endpoint (``endpoint``, or a new one named ``display_name``).

Endpoints can be overridden (``api_endpoint``/``storage_endpoint``, or ``CAMPAIGNLAB_VERTEX_ENDPOINT`` /
``CAMPAIGNLAB_STORAGE_ENDPOINT``); a plain ``http://`` endpoint is called without credentials (a test
fake), anything else with Application Default Credentials.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import Field

from campaignlab.config import StrictModel
from campaignlab.errors import CampaignlabError, ConfigError

SERVE_COMMAND = ["campaignlab", "serve"]
HEALTH_ROUTE, PREDICT_ROUTE, PORT = "/health", "/predict", 8080


class DeployError(CampaignlabError):
    """Vertex AI or Cloud Storage refused or failed a request."""


class DeployConfig(StrictModel):
    """Config of ``campaignlab deploy`` (see the module docstring)."""

    project: str = Field(min_length=1)
    region: str = Field(pattern=r"^[a-z]+-[a-z]+\d+$")
    artifact_uri: str = Field(pattern=r"^gs://[^/]+(/.*)?$")
    image: str = Field(min_length=1)
    display_name: str = Field("campaignlab", min_length=1, max_length=128)
    endpoint: str | None = None
    machine_type: str = "n1-standard-2"
    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(1, ge=1)
    service_account: str | None = None
    api_endpoint: str | None = None
    storage_endpoint: str | None = None


def _anonymous(endpoint: str | None) -> Any:
    if endpoint and endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    return None


def upload_folder(folder: Path, uri: str, endpoint: str | None, project: str) -> list[str]:
    """Copy every file of ``folder`` under ``gs://BUCKET/PREFIX``; returns the object names."""
    from google.cloud import storage

    m = re.match(r"^gs://([^/]+)/?(.*)$", uri)
    assert m is not None
    bucket_name, prefix = m.group(1), m.group(2).strip("/")
    creds = _anonymous(endpoint)
    client = storage.Client(
        project=project, credentials=creds, client_options={"api_endpoint": endpoint} if endpoint else None
    )
    bucket = client.bucket(bucket_name)
    names = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = "/".join(x for x in (prefix, path.relative_to(folder).as_posix()) if x)
        bucket.blob(name).upload_from_filename(str(path))
        names.append(name)
    return names


def _progress_to_stderr() -> None:
    """aiplatform logs its progress to stdout: send it to stderr, so stdout is the command's (--json)."""
    import logging
    import sys

    for name in list(logging.Logger.manager.loggerDict):
        if name.startswith("google.cloud.aiplatform"):
            for h in getattr(logging.getLogger(name), "handlers", []):
                if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.stdout:
                    h.setStream(sys.stderr)


def deploy(cfg: DeployConfig, model_dir: Path) -> dict[str, Any]:
    """Upload, register and deploy ``model_dir``; return the model and endpoint resource names."""
    from google.api_core import exceptions as gexc
    from google.cloud import aiplatform

    from campaignlab.features.recipe import read_recipe
    from campaignlab.models.base import read_model_json

    if cfg.max_replicas < cfg.min_replicas:
        raise ConfigError(
            f"max_replicas: got {cfg.max_replicas} -> expected >= min_replicas {cfg.min_replicas}"
        )
    meta = read_model_json(model_dir)
    read_recipe(model_dir)  # a model the service cannot re-embed for is refused before any upload
    api = cfg.api_endpoint or os.environ.get("CAMPAIGNLAB_VERTEX_ENDPOINT") or None
    storage_ep = cfg.storage_endpoint or os.environ.get("CAMPAIGNLAB_STORAGE_ENDPOINT") or None
    _progress_to_stderr()
    try:
        files = upload_folder(model_dir, cfg.artifact_uri, storage_ep, cfg.project)
        aiplatform.init(project=cfg.project, location=cfg.region, api_endpoint=api, api_transport="rest",
                        credentials=_anonymous(api))  # fmt: skip
        model = aiplatform.Model.upload(
            display_name=cfg.display_name,
            artifact_uri=cfg.artifact_uri,
            serving_container_image_uri=cfg.image,
            serving_container_command=SERVE_COMMAND,
            serving_container_predict_route=PREDICT_ROUTE,
            serving_container_health_route=HEALTH_ROUTE,
            serving_container_ports=[PORT],
            labels={"campaignlab-model-type": str(meta["type"]).replace("_", "-")},
            sync=True,
        )
        if cfg.endpoint:
            endpoint = aiplatform.Endpoint(cfg.endpoint)
        else:
            endpoint = aiplatform.Endpoint.create(display_name=cfg.display_name, sync=True)
        model.deploy(
            endpoint=endpoint,
            deployed_model_display_name=cfg.display_name,
            machine_type=cfg.machine_type,
            min_replica_count=cfg.min_replicas,
            max_replica_count=cfg.max_replicas,
            traffic_percentage=100,
            service_account=cfg.service_account,
            sync=True,
        )
        endpoint = aiplatform.Endpoint(endpoint.resource_name)  # re-read: the deployed model's id
        deployed = [d.id for d in endpoint.list_models()]
    except gexc.GoogleAPICallError as err:
        msg = re.sub(r"^[A-Z]+ https?://\S+: ", "", err.message or str(err))
        raise DeployError(f"Vertex AI refused the deployment ({cfg.project}/{cfg.region}): {msg}") from None
    return {
        "model": model.resource_name,
        "model_version": getattr(model, "version_id", None) or "1",
        "endpoint": endpoint.resource_name,
        "deployed_model_id": deployed[-1] if deployed else None,
        "artifact_uri": cfg.artifact_uri,
        "files": files,
        "image": cfg.image,
    }
