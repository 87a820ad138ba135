"""The compiled retraining pipeline, run by the local runner on the host (process backend: the same
command lines the containers run): a newer snapshot passes the data gate, a challenger is trained,
scored beside the champion on the same new test split, registered, and promoted or not by margin; a
drifted snapshot stops the run at the gate, with the gate's report recorded and nothing trained."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from campaignlab.io import read_json
from tests.conftest import REPO, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # embeds and trains: minutes on 2 shared cores
MAPPING = REPO / "examples" / "mapping.yaml"


def make(out: Path, *args: str) -> Path:
    subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "make_campaigns.py"),
            "--rows",
            "240",
            "--seed",
            "5",
            "--out",
            str(out),
            *args,
        ],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("retrain")
    p = {"root": root, "registry": root / "runs" / "registry", "cache": root / "cache"}
    os.environ.setdefault("CAMPAIGNLAB_CACHE", str(p["cache"]))
    history = make(root / "history.csv")
    run_cli("ingest", history, "--mapping", MAPPING, "--split", "time", "--out", root / "h", check=True)
    run_cli("embed", root / "h", "--out", root / "hf", "--quiet", check=True)
    run_cli(
        "train",
        "--model",
        "hierarchical_lgbm",
        "--features",
        root / "hf",
        "--out",
        root / "m",
        "--quiet",
        check=True,
    )
    run_cli("evaluate", "--model", root / "m", "--features", root / "hf", "--out", root / "e", check=True)
    run_cli(
        "models",
        "register",
        root / "m",
        "--evaluation",
        root / "e",
        "--dataset",
        root / "h",
        "--features",
        root / "hf",
        "--alias",
        "champion",
        "--run",
        "initial",
        "--registry",
        p["registry"],
        check=True,
    )
    p["yaml"] = root / "retraining.yaml"
    run_cli("pipeline", "compile", "retraining", "--out", p["yaml"], check=True)
    return p


def run(setup: dict[str, Path], snapshot: Path, **params: object):  # type: ignore[no-untyped-def]
    import yaml

    from local_runner.orchestrator import run_file

    mapping = yaml.safe_load(MAPPING.read_text())
    values = {
        "data_uri": str(snapshot),
        "registry": str(setup["registry"]),
        "mapping": mapping,
        "model": "hierarchical_lgbm",
        "margin": 0.0,
        **params,
    }
    env_path = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env_path}"  # `campaignlab` of this venv
    try:
        return run_file(setup["yaml"], values, root=setup["root"] / "runs", backend="process", max_parallel=2)
    finally:
        os.environ["PATH"] = env_path


def test_newer_snapshot_passes_the_gate_and_the_challenger_is_registered(setup: dict[str, Path]) -> None:
    from local_runner.handlers import Status

    snap = make(setup["root"] / "snap.csv", "--snapshot", "2025-03", "--new-rows", "160")
    result = run(setup, snap)
    status = {t.id: t.status for t in result.tasks}
    assert result.status == Status.SUCCEEDED, {
        k: (v, t.message) for t in result.tasks for k, v in [(t.id, t.status)]
    }
    assert status["gate"] == Status.SUCCEEDED and status["gate-verdict"] == Status.SKIPPED
    assert status["train-model"] == Status.SUCCEEDED and status["register-version"] == Status.SUCCEEDED
    gate_dir = next((result.run_dir / "tasks" / "gate").rglob("gate.json")).parent
    assert read_json(gate_dir / "gate.json")["passed"] is True
    assert (gate_dir / "report.html").is_file()
    reg = read_json(setup["registry"] / "registry.json")
    assert reg["aliases"]["challenger"] == "2"
    best = read_json(next((result.run_dir / "tasks" / "compare-models").rglob("best.json")))
    promoted = status["promote-version"] == Status.SUCCEEDED
    assert promoted == best["promote"]
    assert reg["aliases"]["champion"] == ("2" if promoted else "1")
    v2 = read_json(setup["registry"] / "versions" / "2" / "version.json")
    assert v2["lineage"]["data_snapshot"].endswith("snap.csv") and v2["lineage"]["run"]


def test_a_drifted_snapshot_stops_the_run_with_the_gates_report(setup: dict[str, Path]) -> None:
    from local_runner.handlers import Status

    before = read_json(setup["registry"] / "registry.json")
    snap = make(
        setup["root"] / "drift.csv", "--snapshot", "2025-03", "--new-rows", "240", "--drift", "new-platform"
    )
    result = run(setup, snap)
    tasks = {t.id: t for t in result.tasks}
    assert result.status == Status.FAILED
    assert tasks["gate"].status == Status.SUCCEEDED and tasks["gate-verdict"].status == Status.FAILED
    assert tasks["train-model"].status == Status.SKIPPED
    report = next((result.run_dir / "tasks" / "gate").rglob("report.html")).read_text()
    assert "FAILED" in report and "Threads" in report
    log = Path(tasks["gate-verdict"].log).read_text()  # the runner's logs/<task>.log
    assert "data gate FAILED" in log and "new_platforms" in log
    assert read_json(setup["registry"] / "registry.json") == before  # nothing registered or promoted


def test_training_pipeline_on_raw_campaigns(tmp_path: Path) -> None:
    """The training pipeline's own-data branch: import the CSV, ingest it with the mapping (time split),
    embed, the three trainers, compare; the generator branches are skipped."""
    import yaml

    from local_runner.handlers import Status
    from local_runner.orchestrator import run_file

    csv = make(tmp_path / "small.csv")
    spec = tmp_path / "training.yaml"
    run_cli("pipeline", "compile", "training", "--out", spec, check=True)
    values = {"data_uri": str(csv), "mapping": yaml.safe_load(MAPPING.read_text()), "split": "time"}
    env_path = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env_path}"
    try:
        result = run_file(spec, values, root=tmp_path / "runs", backend="process", max_parallel=2)
    finally:
        os.environ["PATH"] = env_path
    status = {t.id: t.status for t in result.tasks}
    assert result.status == Status.SUCCEEDED, status
    assert status["ingest"] == Status.SUCCEEDED and status["generate"] == Status.SKIPPED
    manifest = read_json(next((result.run_dir / "tasks" / "ingest").rglob("manifest.json")))
    assert manifest["split"]["method"] == "time" and manifest["mapping"]["columns"]
    assert status["compare-models"] == Status.SUCCEEDED
    # What `make run` prints at the end: the results table and where the plots and the run record are.
    report = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "main_job_report.py"), str(result.run_dir)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert "robust_modality" in report.stdout and "hierarchical_lgbm" in report.stdout
    assert "run record:" in report.stdout and ".png" in report.stdout
