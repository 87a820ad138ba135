"""submit / wait / schedule / list / delete: the real google-cloud-aiplatform client over REST against
our fake Vertex server on 127.0.0.1; the request bodies must carry what the user asked for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaignlab.cli import build_app
from tests.fakes.vertex_pipelines_server import VertexFake

app = build_app()

runner = CliRunner()
TARGET = ["--project", "proj-1", "--region", "europe-west4"]
RUN = [
    *TARGET,
    "--pipeline-root",
    "gs://runs-bucket/root",
    "--service-account",
    "runner@proj-1.iam.gserviceaccount.com",
]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("tpl")
    paths = {}
    for name in ("training", "retraining"):
        paths[name] = out / f"{name}.yaml"
        res = runner.invoke(app, ["pipeline", "compile", name, "--out", str(paths[name])])
        assert res.exit_code == 0, res.output
    return paths


@pytest.fixture
def fake() -> Iterator[VertexFake]:
    with VertexFake() as f:
        yield f


def cli(fake: VertexFake, *args: str):
    # Endpoints come from the environment variables, as a user would set them for an emulator.
    env = {"CAMPAIGNLAB_VERTEX_ENDPOINT": fake.url, "CAMPAIGNLAB_STORAGE_ENDPOINT": fake.url}
    return runner.invoke(app, list(args), env=env)


def test_submit_and_wait_sends_parameters_labels_and_caching(
    fake: VertexFake, templates: dict[str, Path]
) -> None:
    res = cli(fake, "pipeline", "submit", str(templates["training"]), *RUN,
              "--param", "scale=0.05", "--param", "preset=v28", "--label", "team=growth",
              "--no-cache", "--wait")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "PIPELINE_STATE_SUCCEEDED" in res.stdout
    (create,) = fake.calls("create_pipeline_job")
    assert create.path == "/v1/projects/proj-1/locations/europe-west4/pipelineJobs"
    body = create.body
    assert body["runtimeConfig"]["parameterValues"] == {"scale": 0.05, "preset": "v28"}
    assert body["runtimeConfig"]["gcsOutputDirectory"] == "gs://runs-bucket/root"
    assert body["labels"] == {"team": "growth", "campaignlab-pipeline": "campaignlab-training"}
    assert body["serviceAccount"] == "runner@proj-1.iam.gserviceaccount.com"
    tasks = body["pipelineSpec"]["root"]["dag"]["tasks"]
    assert tasks and all(t["cachingOptions"] == {"enableCache": False} for t in tasks.values())
    assert fake.calls("get_pipeline_job")  # --wait polled the job until it ended
    # The client checked the pipeline-root bucket through the Storage API (and created it here).
    assert [c.operation for c in fake.requests if "bucket" in c.operation][:2] == [
        "get_bucket",
        "create_bucket",
    ]
    assert fake.calls("get_bucket")[0].path == "/storage/v1/b/runs-bucket"


def test_submit_without_flags_keeps_compiled_caching_and_sends_no_parameters(
    fake: VertexFake, templates: dict[str, Path]
) -> None:
    res = cli(fake, "pipeline", "submit", str(templates["training"]), *RUN)
    assert res.exit_code == 0, res.output
    body = fake.calls("create_pipeline_job")[0].body
    assert body["runtimeConfig"].get("parameterValues", {}) == {}
    tasks = body["pipelineSpec"]["root"]["dag"]["tasks"]
    # (condition groups carry no caching options of their own)
    assert all(t.get("cachingOptions", {}).get("enableCache", True) for t in tasks.values())
    assert fake.calls("get_pipeline_job") == []  # not waiting: no polling
    assert "PIPELINE_STATE_PENDING" in res.stdout


def test_failed_run_is_reported_with_vertex_message(fake: VertexFake, templates: dict[str, Path]) -> None:
    fake.states = ("PIPELINE_STATE_FAILED",)
    fake.job_error = {"code": 9, "message": "The DAG failed because some tasks failed: train-shared-latent."}
    res = cli(fake, "pipeline", "submit", str(templates["training"]), *RUN, "--wait")
    assert res.exit_code == 2
    assert "the pipeline run failed" in res.output and "train-shared-latent" in res.output


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (403, "Permission 'aiplatform.pipelineJobs.create' denied on resource", "permission denied"),
        (429, "Quota exceeded for aiplatform.googleapis.com/concurrent_pipeline_jobs", "quota exceeded"),
        (400, "Invalid pipeline spec: unknown executor", "rejected the request"),
    ],
)
def test_vertex_errors_become_clear_messages(
    fake: VertexFake, templates: dict[str, Path], code: int, message: str, expected: str
) -> None:
    fake.fail("create_pipeline_job", code, message)
    res = cli(fake, "pipeline", "submit", str(templates["training"]), *RUN)
    assert res.exit_code == 2
    assert expected in res.output and message in res.output
    assert "Traceback" not in res.output


def test_bad_input_fails_before_any_request(
    fake: VertexFake, templates: dict[str, Path], tmp_path: Path
) -> None:
    res = cli(fake, "pipeline", "submit", str(templates["training"]), *RUN, "--param", "scael=0.1")
    assert res.exit_code == 2 and "scael" in res.output and "unknown key" in res.output
    res = cli(fake, "pipeline", "submit", str(templates["retraining"]), *RUN)  # data_uri, registry missing
    assert res.exit_code == 2 and "data_uri" in res.output and "registry" in res.output
    res = cli(fake, "pipeline", "submit", str(templates["training"]), *TARGET,
              "--pipeline-root", "/local/dir", "--service-account", "sa@x")  # fmt: skip
    assert res.exit_code == 2 and "gs://BUCKET" in res.output
    res = cli(fake, "pipeline", "schedule", str(templates["training"]), *RUN, "--cron", "every monday")
    assert res.exit_code == 2 and "five fields" in res.output
    res = cli(fake, "pipeline", "submit", str(tmp_path / "missing.yaml"), *RUN)
    assert res.exit_code == 2 and "does not exist" in res.output
    assert fake.requests == []


def test_schedule_list_and_delete(fake: VertexFake, templates: dict[str, Path]) -> None:
    res = cli(fake, "pipeline", "schedule", str(templates["retraining"]), *RUN, "--cron", "0 3 * * 1",
              "--max-runs", "12", "--max-concurrent", "2", "--param", "data_uri=gs://m/exports/", "--param", "registry=vertex://proj-1/europe-west4/campaign-outcome",
              "--param", "margin=0.02", "--no-cache", "--display-name", "weekly-retraining")  # fmt: skip
    assert res.exit_code == 0, res.output
    (create,) = fake.calls("create_schedule")
    body = create.body
    assert body["cron"] == "0 3 * * 1"
    assert int(body["maxRunCount"]) == 12 and int(body["maxConcurrentRunCount"]) == 2
    assert body["displayName"] == "weekly-retraining"
    job = body["createPipelineJobRequest"]["pipelineJob"]
    assert job["runtimeConfig"]["parameterValues"] == {
        "data_uri": "gs://m/exports/",
        "registry": "vertex://proj-1/europe-west4/campaign-outcome",
        "margin": 0.02,
    }
    assert job["serviceAccount"] == "runner@proj-1.iam.gserviceaccount.com"
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    assert all(t["cachingOptions"] == {"enableCache": False} for t in tasks.values())

    res = cli(fake, "pipeline", "schedules", "list", *TARGET, "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["display_name"], r["cron"], r["max_run_count"]) for r in rows] == [
        ("weekly-retraining", "0 3 * * 1", 12)
    ]
    sid = rows[0]["name"].rsplit("/", 1)[-1]

    res = cli(fake, "pipeline", "schedules", "delete", sid, *TARGET)
    assert res.exit_code == 0, res.output
    assert fake.calls("delete_schedule")[0].path.endswith(f"/schedules/{sid}")
    assert fake.schedules == {}
    res = cli(fake, "pipeline", "schedules", "delete", sid, *TARGET)
    assert res.exit_code == 2 and "not found" in res.output


def test_api_endpoint_flag_overrides_environment(fake: VertexFake, templates: dict[str, Path]) -> None:
    res = runner.invoke(
        app,
        [
            "pipeline",
            "schedules",
            "list",
            *TARGET,
            "--api-endpoint",
            fake.url,
            "--storage-endpoint",
            fake.url,
        ],
        env={"CAMPAIGNLAB_VERTEX_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert res.exit_code == 0, res.output
    assert fake.calls("list_schedules")


def test_submit_reads_a_config_file_and_param_overrides_win(
    fake: VertexFake, templates: dict[str, Path], tmp_path: Path
) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        "data_uri: gs://m/exports/\nregistry: vertex://proj-1/europe-west4/campaign-outcome\nmargin: 0.05\n"
        "max_label_shift: 0.2\n"
    )
    res = cli(fake, "pipeline", "submit", str(templates["retraining"]), *RUN, "--config", str(cfg),
              "--param", "margin=0.02", "--display-name", "retrain-now")  # fmt: skip
    assert res.exit_code == 0, res.output
    body = fake.calls("create_pipeline_job")[0].body
    assert body["displayName"] == "retrain-now"
    assert body["runtimeConfig"]["parameterValues"] == {
        "data_uri": "gs://m/exports/",
        "registry": "vertex://proj-1/europe-west4/campaign-outcome",
        "margin": 0.02,
        "max_label_shift": 0.2,
    }
