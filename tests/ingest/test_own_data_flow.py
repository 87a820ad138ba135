"""A new user's CSV, by the documented commands, to a trained, registered model and predictions for new
campaigns; an unseen platform gets the 'unknown' code and a warning; partition --by owner; the
leaderboard takes an ingested dataset. Every step runs the real CLI on a small export."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from campaignlab.io import read_json
from tests.conftest import REPO, run_cli

MAPPING = REPO / "examples" / "mapping.yaml"
pytestmark = pytest.mark.slow  # embeds ~1,000 campaigns and trains: minutes on 2 shared cores
FAST_LGBM = {
    "stage1_n_estimators": 40,
    "stage2_n_estimators": 40,
    "stage1_num_leaves": 15,
    "stage2_num_leaves": 15,
    "n_jobs": 1,
}


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("own")
    export = root / "export.csv"
    run_cli("--help", check=True)
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "make_campaigns.py"),
            "--rows",
            "1000",
            "--seed",
            "11",
            "--out",
            str(export),
        ],
        check=True,
        capture_output=True,
    )
    p = {
        "root": root,
        "export": export,
        "data": root / "data",
        "feats": root / "feats",
        "model": root / "model",
        "eval": root / "eval",
        "registry": root / "registry",
        "cache": root / "cache",
    }
    run_cli("ingest", export, "--mapping", MAPPING, "--split", "time", "--out", p["data"], check=True)
    run_cli("embed", p["data"], "--out", p["feats"], "--cache-dir", p["cache"], "--quiet", check=True)
    cfg = root / "train.yaml"
    cfg.write_text(yaml.safe_dump({"params": FAST_LGBM}))
    run_cli(
        "train",
        "--model",
        "hierarchical_lgbm",
        "--features",
        p["feats"],
        "--out",
        p["model"],
        "--config",
        cfg,
        "--quiet",
        check=True,
    )
    run_cli("evaluate", "--model", p["model"], "--features", p["feats"], "--out", p["eval"], check=True)
    run_cli(
        "models",
        "register",
        p["model"],
        "--evaluation",
        p["eval"],
        "--dataset",
        p["data"],
        "--features",
        p["feats"],
        "--alias",
        "champion",
        "--run",
        "test-flow",
        "--registry",
        p["registry"],
        check=True,
    )
    return p


def test_trained_model_records_the_datasets_platform_vocabulary(flow: dict[str, Path]) -> None:
    meta = read_json(flow["model"] / "model.json")
    data = read_json(flow["data"] / "manifest.json")
    assert meta["platform_vocabulary"] == data["vocabularies"]["platform"]
    fm = read_json(flow["feats"] / "manifest.json")
    assert fm["platform_vocabulary_source"] == "manifest.json vocabularies.platform"
    assert "owner" in pq.read_schema(flow["feats"] / "features.parquet").names
    m = read_json(flow["eval"] / "metrics.json")
    assert m["macro_f1"] > 0.4  # the example's hidden rule is learnable (3 classes: chance ~0.33)


def test_registered_version_has_evaluation_data_manifest_lineage_and_reference(flow: dict[str, Path]) -> None:
    res = run_cli("models", "show", "champion", "--registry", flow["registry"], check=True)
    import json

    v = json.loads(res.stdout)
    assert v["version"] == "1" and v["aliases"] == ["champion"] and v["family"] == "hierarchical_lgbm"
    assert v["metrics"]["macro_f1"] == read_json(flow["eval"] / "metrics.json")["macro_f1"]
    assert v["lineage"]["run"] == "test-flow"
    assert v["lineage"]["data_snapshot"] == str(flow["export"])
    assert v["lineage"]["data_sha256"] == read_json(flow["data"] / "manifest.json")["source"]["sha256"]
    vdir = Path(v["uri"])
    assert (vdir / "model" / "model.json").is_file() and (vdir / "evaluation" / "metrics.json").is_file()
    assert (
        read_json(vdir / "data_manifest.json")["counts"]
        == read_json(flow["data"] / "manifest.json")["counts"]
    )
    assert (vdir / "reference" / "profile.json").is_file() and (
        vdir / "reference" / "vectors.parquet"
    ).is_file()


def new_campaigns(path: Path, platform: str | None = None, rows: int = 30) -> Path:
    text = (REPO / "examples" / "new_campaigns.csv").read_bytes().decode("utf-8-sig")
    reader = list(csv.DictReader(io.StringIO(text, newline="")))[:rows]
    if platform:
        for r in reader[::3]:
            r["Channel"] = platform
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(reader[0]))
    w.writeheader()
    w.writerows(reader)
    path.write_text(buf.getvalue())
    return path


def test_new_campaigns_are_predicted_with_the_champion(flow: dict[str, Path], tmp_path: Path) -> None:
    src = new_campaigns(tmp_path / "new.csv")
    run_cli("ingest", src, "--mapping", MAPPING, "--unlabelled", "--out", tmp_path / "new", check=True)
    run_cli(
        "embed",
        tmp_path / "new",
        "--out",
        tmp_path / "newf",
        "--cache-dir",
        flow["cache"],
        "--quiet",
        check=True,
    )
    champion = read_json(flow["registry"] / "registry.json")["aliases"]["champion"]
    model = flow["registry"] / "versions" / champion / "model"
    res = run_cli(
        "predict",
        "--model",
        model,
        "--features",
        tmp_path / "newf",
        "--out",
        tmp_path / "p.parquet",
        check=True,
    )
    assert "warning" not in res.stderr
    preds = pq.read_table(tmp_path / "p.parquet").to_pandas()
    assert len(preds) == 30 and preds["sample_id"].str.startswith("CMP-9").all()
    assert set(preds["label"]) <= {0, 1, 2}
    # The same campaigns re-coded in another vocabulary order give the same predictions: codes go by name.
    res = run_cli("evaluate", "--model", model, "--features", tmp_path / "newf", "--out", tmp_path / "e")
    assert res.returncode == 2 and "unlabelled campaigns" in res.stderr


def test_an_unseen_platform_gets_the_unknown_code_and_a_warning(
    flow: dict[str, Path], tmp_path: Path
) -> None:
    src = new_campaigns(tmp_path / "new.csv", platform="Threads")
    run_cli("ingest", src, "--mapping", MAPPING, "--unlabelled", "--out", tmp_path / "new", check=True)
    fm = tmp_path / "newf"
    run_cli("embed", tmp_path / "new", "--out", fm, "--cache-dir", flow["cache"], "--quiet", check=True)
    assert "Threads" in read_json(fm / "manifest.json")["platform_codes"]
    res = run_cli(
        "predict", "--model", flow["model"], "--features", fm, "--out", tmp_path / "p.parquet", check=True
    )
    assert "warning: platform(s) never seen in training: 'Threads' (10 rows)" in res.stderr
    assert "reserved 'unknown' platform code" in res.stderr
    assert len(pq.read_table(tmp_path / "p.parquet")) == 30

    # The re-coding itself: Threads -> -1, the others keep the model's code for their name.
    import numpy as np

    from campaignlab.models.data import UNKNOWN_PLATFORM_CODE, align_platform_codes

    vocab = read_json(flow["model"] / "model.json")["platform_vocabulary"]
    fcodes = read_json(fm / "manifest.json")["platform_codes"]
    codes = np.array([fcodes["Threads"], fcodes["TikTok"]])
    out, unseen = align_platform_codes(codes, fcodes, vocab)
    assert out.tolist() == [UNKNOWN_PLATFORM_CODE, vocab.index("TikTok")] and unseen == {"Threads": 1}


def test_partition_by_owner_makes_one_client_per_owner(flow: dict[str, Path], tmp_path: Path) -> None:
    res = run_cli("partition", flow["feats"], "--by", "owner", "--out", tmp_path, check=True)
    m = read_json(tmp_path / "owner_5clients" / "manifest.json")
    owners = read_json(flow["data"] / "manifest.json")["vocabularies"]["owner"]
    assert m["owners"] == owners and m["data_split"] == "owner" and m["num_clients"] == 5
    for i, owner in enumerate(owners):
        t = pq.read_table(tmp_path / "owner_5clients" / f"client_{i}.parquet").to_pandas()
        assert set(t["owner"]) == {owner} and set(t["split"]) == {"train"}
    total = sum(sum(c) for name, c in m["counts"].items() if name != "server test")
    train_rows = sum(read_json(flow["data"] / "manifest.json")["counts"]["train"].values())
    assert total == train_rows
    assert owners[0] in res.stdout
    res = run_cli("partition", flow["feats"], "--by", "owner", "--num-clients", "3", "--out", tmp_path / "x")
    assert res.returncode == 2 and "one client per owner" in res.stderr


def test_leaderboard_takes_an_ingested_dataset(flow: dict[str, Path], tmp_path: Path) -> None:
    db = tmp_path / "lb.sqlite"
    res = run_cli(
        "leaderboard",
        "add-version",
        "acme-2024",
        "--dataset",
        flow["data"],
        "--features",
        flow["feats"],
        "--db",
        db,
        check=True,
    )
    counts = read_json(flow["data"] / "manifest.json")["counts"]
    assert f"{sum(counts['train'].values())} train / {sum(counts['test'].values())} test" in res.stdout
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from versions").fetchone()[0] == 1
