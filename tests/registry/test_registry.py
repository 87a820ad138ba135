"""The model registry: local folder and Vertex AI Model Registry (the real google-cloud-aiplatform and
google-cloud-storage clients against our fake servers on 127.0.0.1), through the CLI and the API."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from campaignlab.registry import LocalRegistry, Registry, RegistryError
from tests.conftest import run_cli
from tests.fakes.gcs_server import GcsFake
from tests.fakes.vertex_models_server import VertexModelsFake


def fake_model(root: Path, name: str, family: str = "robust_modality", f1: float = 0.7) -> tuple[Path, Path]:
    """A model folder (model.json + a weights file) and an evaluation folder with metrics.json."""
    from campaignlab.io import atomic_dir

    model, ev = root / f"{name}-model", root / f"{name}-eval"
    with atomic_dir(model) as tmp:  # published as the steps publish them (with the completion marker)
        (tmp / "model.json").write_text(json.dumps({"type": family, "params": {}}))
        (tmp / "weights.bin").write_bytes(name.encode() * 100)
    with atomic_dir(ev) as tmp:
        (tmp / "metrics.json").write_text(json.dumps({"macro_f1": f1, "accuracy": f1, "per_class_f1": {}}))
    return model, ev


def test_local_register_list_promote_and_history(tmp_path: Path) -> None:
    reg_dir = tmp_path / "registry"
    m1, e1 = fake_model(tmp_path, "a", "hierarchical_lgbm", 0.61)
    m2, e2 = fake_model(tmp_path, "b", "robust_modality", 0.66)
    res = run_cli(
        "models",
        "register",
        m1,
        "--evaluation",
        e1,
        "--alias",
        "champion",
        "--run",
        "run-1",
        "--registry",
        reg_dir,
        check=True,
    )
    assert "version 1" in res.stdout and "macro F1 0.6100" in res.stdout
    run_cli(
        "models",
        "register",
        m2,
        "--evaluation",
        e2,
        "--alias",
        "challenger",
        "--registry",
        reg_dir,
        check=True,
    )
    listing = run_cli("models", "list", "--registry", reg_dir, check=True).stdout.splitlines()
    assert listing[1].split()[:4] == ["1", "champion", "hierarchical_lgbm", "0.6100"]
    assert listing[2].split()[:4] == ["2", "challenger", "robust_modality", "0.6600"]
    res = run_cli(
        "models", "promote", "challenger", "--reason", "beat by 5 points", "--registry", reg_dir, check=True
    )
    assert "champion: version 1 -> 2" in res.stdout
    reg = LocalRegistry(reg_dir)
    champ = reg.resolve("champion")
    assert champ.version == "2" and champ.aliases == ["challenger", "champion"]
    assert (champ.model_dir / "weights.bin").read_bytes() == b"b" * 100
    assert reg.get("1").aliases == [] and reg.get("latest").version == "2"
    assert [h["event"] for h in reg.history()] == ["register", "register", "alias"]
    assert reg.history()[-1] == {**reg.history()[-1], "alias": "champion", "from": "1", "to": "2"}
    shown = json.loads(run_cli("models", "show", "1", "--registry", reg_dir, check=True).stdout)
    assert shown["lineage"]["run"] == "run-1" and shown["metrics"]["macro_f1"] == 0.61


def test_local_errors_name_what_exists(tmp_path: Path) -> None:
    reg_dir = tmp_path / "registry"
    res = run_cli("models", "show", "champion", "--registry", reg_dir)
    assert res.returncode == 2 and "has no model versions" in res.stderr
    m, e = fake_model(tmp_path, "a")
    run_cli(
        "models", "register", m, "--evaluation", e, "--alias", "champion", "--registry", reg_dir, check=True
    )
    res = run_cli("models", "show", "challenger", "--registry", reg_dir)
    assert res.returncode == 2 and "no alias 'challenger' (aliases: ['champion'])" in res.stderr
    res = run_cli("models", "promote", "7", "--registry", reg_dir)
    assert res.returncode == 2 and "no version 7 (versions [1])" in res.stderr
    res = run_cli("models", "register", m, "--alias", "Champion!", "--registry", reg_dir)
    assert res.returncode == 2 and "alias: got 'Champion!'" in res.stderr
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    res = run_cli("models", "register", not_a_model, "--registry", reg_dir)
    assert res.returncode == 2 and "incomplete" in res.stderr  # no completion marker: refused
    assert sorted(p.name for p in reg_dir.iterdir()) == [".lock", "registry.json", "versions"]  # no leftovers
    assert sorted(p.name for p in (reg_dir / "versions").iterdir()) == ["1"]


def _register(args: tuple[str, str, str]) -> str:
    reg_dir, model, ev = args
    return LocalRegistry(reg_dir).register(model, evaluation=ev, aliases=["challenger"]).version


def test_concurrent_registrations_get_distinct_versions(tmp_path: Path) -> None:
    m, e = fake_model(tmp_path, "a")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        versions = pool.map(_register, [(str(tmp_path / "reg"), str(m), str(e))] * 6)
    assert sorted(versions, key=int) == ["1", "2", "3", "4", "5", "6"]
    reg = LocalRegistry(tmp_path / "reg")
    assert len(reg.list()) == 6 and len(reg.history()) == 6
    assert reg.get("challenger").version in versions


@pytest.fixture
def vertex(tmp_path: Path) -> Iterator[tuple[VertexModelsFake, GcsFake, dict[str, str]]]:
    with VertexModelsFake() as vx, GcsFake() as gcs:
        gcs.create_bucket("models-bkt")
        env = {
            "CAMPAIGNLAB_VERTEX_ENDPOINT": vx.url,
            "CAMPAIGNLAB_STORAGE_ENDPOINT": gcs.url,
            "TMPDIR": str(tmp_path),
        }
        yield vx, gcs, env


URI = "vertex://proj-1/europe-west4/campaign-outcome?artifacts=gs://models-bkt/registry"


def test_vertex_register_versions_aliases_and_promote(vertex, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    vx, gcs, env = vertex
    m1, e1 = fake_model(tmp_path, "a", "hierarchical_lgbm", 0.61)
    m2, e2 = fake_model(tmp_path, "b", "robust_modality", 0.66)
    run_cli(
        "models",
        "register",
        m1,
        "--evaluation",
        e1,
        "--alias",
        "champion",
        "--run",
        "run-1",
        "--registry",
        URI,
        env=env,
        check=True,
    )
    res = run_cli(
        "models",
        "register",
        m2,
        "--evaluation",
        e2,
        "--alias",
        "challenger",
        "--registry",
        URI,
        env=env,
        check=True,
    )
    assert "version 2 of 'campaign-outcome'" in res.stdout
    first, second = vx.calls("upload_model")
    assert first.path == "/v1/projects/proj-1/locations/europe-west4/models:upload"
    assert first.body["modelId"] == "campaign-outcome" and "parentModel" not in first.body
    assert second.body["parentModel"] == "projects/proj-1/locations/europe-west4/models/campaign-outcome"
    assert second.body["model"]["versionAliases"] == ["challenger", "default"]
    assert second.body["model"]["artifactUri"].startswith("gs://models-bkt/registry/campaign-outcome/")
    assert second.body["model"]["artifactUri"].endswith("/model")
    assert second.body["model"]["labels"]["family"] == "robust_modality"
    assert "macro F1 0.6600" in second.body["model"]["versionDescription"]
    files = gcs.names("models-bkt")
    assert sum(n.endswith("/model/weights.bin") for n in files) == 2
    assert sum(n.endswith("/evaluation/metrics.json") for n in files) == 2

    res = run_cli("models", "promote", "challenger", "--registry", URI, env=env, check=True)
    assert "champion: version 1 -> 2" in res.stdout
    merges = [
        (unquote(c.path.rsplit("/", 1)[-1]), c.body["versionAliases"])
        for c in vx.calls("merge_version_aliases")
    ]
    assert merges == [
        ("campaign-outcome@1:mergeVersionAliases", ["-champion"]),
        ("campaign-outcome@2:mergeVersionAliases", ["champion"]),
    ]
    listing = run_cli("models", "list", "--registry", URI, env=env, check=True).stdout.splitlines()
    assert listing[1].split()[:4] == ["1", "-", "hierarchical_lgbm", "0.6100"]
    assert listing[2].split()[:4] == ["2", "challenger,champion", "robust_modality", "0.6600"]

    shown = json.loads(run_cli("models", "show", "champion", "--registry", URI, env=env, check=True).stdout)
    assert shown["resource_name"] == "projects/proj-1/locations/europe-west4/models/campaign-outcome@2"
    assert Path(shown["model_dir"], "weights.bin").read_bytes() == b"b" * 100  # downloaded from Cloud Storage


def test_vertex_api_resolve_and_errors(vertex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    vx, _gcs, env = vertex
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    reg = Registry(URI, cache_dir=tmp_path / "cache")
    assert reg.list() == []
    with pytest.raises(RegistryError, match="no version or alias 'champion'"):
        reg.get("champion")
    m, e = fake_model(tmp_path, "a")
    v = reg.register(m, evaluation=e, run="r", aliases=["champion"])
    assert (v.version, v.aliases, v.metrics["macro_f1"], v.lineage["run"]) == ("1", ["champion"], 0.7, "r")
    got = reg.resolve("champion")
    assert got.local_dir == tmp_path / "cache" / "proj-1" / "europe-west4" / "campaign-outcome" / "1"
    assert (got.model_dir / "model.json").is_file()
    no_files = Registry("vertex://proj-1/europe-west4/campaign-outcome")
    from campaignlab.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a gs:// prefix"):
        no_files.register(m)
    vx.fail("upload_model", 403, "Permission 'aiplatform.models.upload' denied")
    with pytest.raises(RegistryError, match=r"permission denied .*aiplatform\.models\.upload"):
        reg.register(m, evaluation=e)
    with pytest.raises(ConfigError, match="expected vertex://PROJECT/REGION/MODEL_ID"):
        Registry("vertex://proj-1/campaign-outcome")
