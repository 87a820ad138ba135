"""``pipeline submit --check``: the real google-cloud-storage and google-cloud-aiplatform clients against
fakes of Cloud Storage and Vertex AI on 127.0.0.1. Each misconfiguration that would fail a run only
after it queued is named with its fix, all of them at once, exit 2, and nothing is submitted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaignlab.cli import build_app
from tests.fakes.gcs_server import GcsFake
from tests.fakes.vertex_pipelines_server import VertexFake

app = build_app()
runner = CliRunner()
REGISTRY = "europe-west4-docker.pkg.dev/proj-1/campaignlab"
SA = "runner@proj-1.iam.gserviceaccount.com"
TARGET = ["--project", "proj-1", "--region", "europe-west4"]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The training pipeline compiled twice: with local image tags (what `make images` builds, or the
    default names) and with pushed ones."""
    out = tmp_path_factory.mktemp("tpl")
    paths = {"local": out / "local.yaml", "pushed": out / "pushed.yaml"}
    res = runner.invoke(app, ["pipeline", "compile", "training", "--out", str(paths["local"])])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["pipeline", "compile", "training", "--out", str(paths["pushed"]),
                              "--registry", REGISTRY, "--image-tag", "0.1.0-0123456789ab"])  # fmt: skip
    assert res.exit_code == 0, res.output
    return paths


@pytest.fixture
def fakes() -> Iterator[tuple[VertexFake, GcsFake]]:
    with VertexFake() as vertex, GcsFake() as gcs:
        yield vertex, gcs


def submit(fakes: tuple[VertexFake, GcsFake], *args: str):
    vertex, gcs = fakes
    env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": vertex.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": gcs.url}
    return runner.invoke(app, ["pipeline", "submit", *args, *TARGET, "--check"], env=env)


def test_every_problem_is_reported_at_once_and_nothing_is_submitted(fakes, templates) -> None:
    vertex, gcs = fakes
    res = submit(fakes, str(templates["local"]), "--pipeline-root", "gs://missing-bucket/runs",
                 "--param", "scael=0.1")  # fmt: skip
    assert res.exit_code == 2, res.output
    out = res.output
    assert "problem(s), nothing was submitted" in out and "Traceback" not in out
    # 1. the bucket, with the command that creates it
    assert "bucket 'missing-bucket' does not exist" in out
    assert "gcloud storage buckets create gs://missing-bucket --project proj-1 --location europe-west4" in out
    # 2. each local image, with the steps using it and how to push
    for image in ("campaignlab-core:", "campaignlab-torch:", "campaignlab-embed:"):
        assert f"image '{image}" in out
    assert "local tag Vertex AI cannot pull" in out and "--registry REGION-docker.pkg.dev/PROJECT/REPO" in out
    assert "train-robust-modality" in out
    # 3. the service account and 4. the run parameter
    assert "service account: not set" in out and "--service-account" in out
    assert "scael" in out
    assert vertex.calls("create_pipeline_job") == []
    assert gcs.calls("upload_object") == []  # no bucket, no write probe


def test_an_unwritable_bucket_and_a_malformed_service_account(fakes, templates) -> None:
    vertex, gcs = fakes
    gcs.create_bucket("runs-bucket")
    gcs.fail("upload_object", 403, "runner lacks storage.objects.create access to runs-bucket")
    res = submit(fakes, str(templates["pushed"]), "--pipeline-root", "gs://runs-bucket/root",
                 "--service-account", "runner@example.com")  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "cannot write to gs://runs-bucket" in res.output and "storage.objects.create" in res.output
    assert "roles/storage.objectAdmin" in res.output
    assert "service account: got 'runner@example.com'" in res.output
    assert "image" not in res.output  # the pushed images are fine
    assert vertex.calls("create_pipeline_job") == []


def test_a_sound_submission_is_checked_then_submitted(fakes, templates) -> None:
    vertex, gcs = fakes
    gcs.create_bucket("runs-bucket")
    res = submit(fakes, str(templates["pushed"]), "--pipeline-root", "gs://runs-bucket/root",
                 "--service-account", SA)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "submit --check: ok" in res.output
    (probe,) = gcs.calls("upload_object")
    assert probe.query.get("name", [""])[0] in ("", "root/.campaignlab-submit-check")
    assert [c.path for c in gcs.calls("delete_object")] == [
        "/storage/v1/b/runs-bucket/o/root%2F.campaignlab-submit-check"
    ]
    assert gcs.names("runs-bucket") == []  # the probe object is gone
    (create,) = vertex.calls("create_pipeline_job")
    assert create.body["serviceAccount"] == SA
    images = {
        e["container"]["image"]
        for e in create.body["pipelineSpec"]["deploymentSpec"]["executors"].values()
        if "container" in e  # importers have no container
    }
    assert images and all(i.startswith(REGISTRY + "/campaignlab-") for i in images)
