"""The embedding recipe travels with the model; features made with another recipe are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from campaignlab.errors import DataError
from campaignlab.features.recipe import RECIPE_FILE, CampaignEmbedder, read_recipe
from campaignlab.models.data import load_features
from tests.conftest import run_cli


def test_train_records_the_recipe_of_its_features(models: dict[str, Path], tiny_features: Path) -> None:
    manifest = json.loads((tiny_features / "manifest.json").read_text())
    for model in models.values():
        recipe = json.loads((model / RECIPE_FILE).read_text())
        assert recipe["encoder"] == "local" and recipe["model"] == "all-MiniLM-L6-v2"
        assert recipe["task_type"] is None and recipe["text_dim"] == 384
        assert recipe["backend"] == manifest["encoder_settings"]["backend"]
        assert recipe["dimensions"] == manifest["dimensions"] == {
            "audience": 384, "brand": 384, "creative": 384, "geo": 332, "platform": 384,
        }  # fmt: skip
        assert recipe["geo"]["standin"] is True and recipe["geo"]["dims"] == 330
        assert recipe["platform_codes"] == manifest["platform_codes"] and len(recipe["platform_codes"]) == 12
        candidates = json.loads((model / "candidates.json").read_text())
        assert sorted(candidates["platforms"]) == sorted(recipe["platform_codes"])
        assert 0 < len(candidates["creatives"]) <= 40 and 0 < len(candidates["geo"]) <= 40


def test_reembedding_with_the_recipe_gives_the_features_vectors(
    models: dict[str, Path], tiny_dataset: Path, tiny_features: Path, embed_cache: Path
) -> None:
    import pyarrow.parquet as pq

    model = models["shared_latent"]
    emb = CampaignEmbedder(read_recipe(model), model, cache_dir=embed_cache, persist=False)
    rows = pq.read_table(tiny_dataset / "samples.parquet").to_pylist()[:30]
    X = emb.embed(*[[r[k] for r in rows] for k in ("audience", "brand", "creative", "platform", "geo")])
    feats = load_features(tiny_features).take(np.arange(30))
    for m, a in feats.modalities.items():
        np.testing.assert_array_equal(X[m], a, err_msg=m)
    np.testing.assert_array_equal(X["platform_code"], feats.platform_code)
    assert emb.stats["embedded"] == 0 and emb.stats["cache_hits"] > 0
    codes, unseen = emb.platform_codes(["TikTok", "Carrier Pigeon"])
    assert codes[1] == -1 and unseen == ["Carrier Pigeon"]


def test_features_of_another_recipe_are_refused_naming_both(
    models: dict[str, Path], tiny_features: Path, tmp_path: Path
) -> None:
    other = tmp_path / "features_vertex"
    shutil.copytree(tiny_features, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest.update(encoder="vertex", model="text-embedding-005", task_type="CLASSIFICATION")
    (other / "manifest.json").write_text(json.dumps(manifest))
    for command in ("predict", "evaluate"):
        out = tmp_path / f"{command}.out"
        proc = run_cli(command, "--model", models["hierarchical_lgbm"], "--features", other, "--out", out)
        assert proc.returncode == 2, proc.stderr
        err = " ".join(proc.stderr.split())
        assert "another recipe" in err and "encoder, model, task_type differ" in err
        assert "model: local all-MiniLM-L6-v2, 384-d text, geo PDFM stand-in (330-d)" in err
        assert "features: vertex text-embedding-005, task CLASSIFICATION, 384-d text" in err
        assert not out.exists()
    # Another geo table is another recipe too.
    manifest = json.loads((tiny_features / "manifest.json").read_text())
    manifest["geo"] = {**manifest["geo"], "standin": False, "source": "/data/pdfm_zip.csv"}
    (other / "manifest.json").write_text(json.dumps(manifest))
    proc = run_cli("predict", "--model", models["hierarchical_lgbm"], "--features", other,
                   "--out", tmp_path / "p.parquet")  # fmt: skip
    assert proc.returncode == 2 and "geo differ" in proc.stderr and "/data/pdfm_zip.csv" in proc.stderr


def test_a_model_without_recipe_cannot_score_raw_campaigns(models: dict[str, Path], tmp_path: Path) -> None:
    old = tmp_path / "old_model"
    shutil.copytree(models["shared_latent"], old)
    (old / RECIPE_FILE).unlink()
    with pytest.raises(DataError, match=r"no recipe\.json.*retrain"):
        read_recipe(old)
