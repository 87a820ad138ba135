"""`campaignlab deploy` with the real google-cloud-aiplatform and google-cloud-storage clients against a
fake Vertex AI server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.fakes.vertex_endpoints_server import VertexEndpointsFake

IMAGE = "us-central1-docker.pkg.dev/proj/repo/campaignlab-serve:0.1.0-abc"


def test_deploy_uploads_registers_with_the_serve_image_and_deploys(models: dict[str, Path]) -> None:
    model = models["hierarchical_lgbm"]
    with VertexEndpointsFake() as fake:
        fake.create_bucket("bucket")
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": fake.url}
        proc = run_cli(
            "deploy", "--model", model, "--project", "proj", "--region", "us-central1",
            "--artifact-uri", "gs://bucket/models/lgbm", "--image", IMAGE,
            "--display-name", "campaign-outcome",
            "--json", env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        # 1. Every file of the model folder went to Cloud Storage.
        uploaded = set(fake.names("bucket"))
        assert uploaded == {f"models/lgbm/{p.name}" for p in model.iterdir()}
        assert json.loads(fake.get("bucket", "models/lgbm/recipe.json"))["encoder"] == "local"
        # 2. The model is registered with the serve image and Vertex's routes.
        (versions,) = fake.models.values()
        (registered,) = versions
        assert registered["displayName"] == "campaign-outcome"
        assert registered["artifactUri"] == "gs://bucket/models/lgbm"
        spec = registered["containerSpec"]
        assert spec["imageUri"] == IMAGE and spec["command"] == ["campaignlab", "serve"]
        assert spec["predictRoute"] == "/predict" and spec["healthRoute"] == "/health"
        assert spec["ports"] == [{"containerPort": 8080}]
        # 3. Deployed to a new endpoint with all the traffic.
        (endpoint,) = fake.endpoints.values()
        (deployed,) = endpoint["deployedModels"]
        assert deployed["model"] == registered["name"] + "@1"  # the version uploaded
        assert deployed["dedicatedResources"]["machineSpec"]["machineType"] == "n1-standard-2"
        assert out["endpoint"] == endpoint["name"] and out["deployed_model_id"] == deployed["id"]


def test_deploy_errors_are_reported_and_exit_2(models: dict[str, Path], tmp_path: Path) -> None:
    with VertexEndpointsFake() as fake:
        fake.create_bucket("b")
        fake.fail("upload_model", 403, "caller lacks aiplatform.models.upload")
        env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": fake.url}
        args = [
            "--project",
            "proj",
            "--region",
            "us-central1",
            "--artifact-uri",
            "gs://b/m",
            "--image",
            IMAGE,
        ]
        proc = run_cli("deploy", "--model", models["shared_latent"], *args, env=env)
        assert proc.returncode == 2 and "aiplatform.models.upload" in proc.stderr
        assert fake.calls("create_endpoint") == []
        # A folder that is not a model with a recipe is refused before anything is uploaded.
        (tmp_path / "model.json").write_text(json.dumps({"type": "shared_latent"}))
        before = len(fake.requests)
        proc = run_cli("deploy", "--model", tmp_path, *args, env=env)
        assert proc.returncode == 2 and "recipe.json" in proc.stderr and len(fake.requests) == before
