"""`campaignlab predict --campaigns`: raw campaigns -> predictions with attributions, and an errors file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from campaignlab import MODALITIES
from tests.conftest import REPO, run_cli
from tests.serving.conftest import BROKEN_ROWS

PRED_COLUMNS = [
    "campaign_id", "label", "tier", "prob_negative", "prob_average", "prob_positive",
    *[f"attribution_{m}" for m in MODALITIES], "attribution_reference", "unknown_platform",
]  # fmt: skip


def features_predictions(model: Path, features: Path, out: Path) -> dict[str, np.ndarray]:
    run_cli("predict", "--model", model, "--features", features, "--out", out, "--threads", "1", check=True)
    t = pq.read_table(out)
    probs = np.column_stack([t[c].to_numpy() for c in ("prob_negative", "prob_average", "prob_positive")])
    return dict(zip(t["sample_id"].to_pylist(), probs, strict=True))


@pytest.mark.parametrize("family", ["hierarchical_lgbm", "robust_modality"])
def test_raw_campaigns_are_scored_like_their_features(
    family: str, models: dict[str, Path], campaigns_csv: Path, tiny_features: Path, embed_cache: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    out = tmp_path / "pred"
    proc = run_cli(
        "predict", "--model", models[family], "--campaigns", campaigns_csv, "--out", out,
        "--cache-dir", embed_cache, "--threads", "1", "--quiet", check=True,
    )  # fmt: skip
    assert "predicted 40 of 44 campaigns" in proc.stdout and "4 could not be scored" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "_COMPLETE.json", "attribution.png", "errors.parquet", "predictions.parquet", "summary.json",
    ]  # fmt: skip
    pred = pq.read_table(out / "predictions.parquet")
    assert pred.schema.names == PRED_COLUMNS
    assert str(pred.schema.field("label").type) == "int8"
    # The same campaigns through `embed` + `predict --features`: the same probabilities (shared cache).
    ref = features_predictions(models[family], tiny_features, tmp_path / "ref.parquet")
    probs = np.column_stack([pred[c].to_numpy() for c in ("prob_negative", "prob_average", "prob_positive")])
    expected = np.stack([ref[c] for c in pred["campaign_id"].to_pylist()])
    np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-9)
    # Attributions add up to the move of the predicted tier's probability from the reference.
    attr = np.column_stack([pred[f"attribution_{m}"].to_numpy() for m in MODALITIES])
    label = pred["label"].to_numpy()
    moved = probs[np.arange(len(label)), label] - pred["attribution_reference"].to_numpy()
    np.testing.assert_allclose(attr.sum(1), moved, atol=1e-6)
    assert np.abs(attr).sum() > 0
    # Every broken row is in the errors file with its row number, field and reason.
    err = pq.read_table(out / "errors.parquet").to_pylist()
    assert len(err) == 4
    by_reason = {e["reason"]: e for e in err}
    for i, (_, fld, reason) in enumerate(BROKEN_ROWS):
        assert by_reason[reason]["field"] == fld
        assert by_reason[reason]["row"] == 41 + i  # 1-based record number in the CSV
        assert by_reason[reason]["source"].endswith("new_campaigns.csv")
    assert by_reason["duplicate_id"]["row"] == 44
    summary = json.loads((out / "summary.json").read_text())
    assert summary["input_rows"] == 44 and summary["predicted"] == 40 and summary["errors"] == 4
    assert set(summary["attribution"]["mean_abs_attribution"]) == set(MODALITIES)
    assert summary["embedding"]["embedded"] == 0  # every text came from the shared cache
    assert (out / "attribution.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_cold_cache_reembeds_to_the_same_probabilities(
    models: dict[str, Path], campaigns_csv: Path, embed_cache: Path, tmp_path: Path
) -> None:
    model = models["shared_latent"]
    args = ["predict", "--model", model, "--campaigns", campaigns_csv, "--threads", "1", "--quiet"]
    run_cli(*args, "--out", tmp_path / "warm", "--cache-dir", embed_cache, check=True)
    run_cli(*args, "--out", tmp_path / "cold", "--cache-dir", tmp_path / "empty-cache", check=True)
    warm = pq.read_table(tmp_path / "warm" / "predictions.parquet")
    cold = pq.read_table(tmp_path / "cold" / "predictions.parquet")
    assert json.loads((tmp_path / "cold" / "summary.json").read_text())["embedding"]["embedded"] > 0
    for c in ("prob_negative", "prob_average", "prob_positive"):
        np.testing.assert_allclose(cold[c].to_numpy(), warm[c].to_numpy(), atol=1e-5)


def test_mapping_file_renames_the_users_columns(
    models: dict[str, Path], campaigns_csv: Path, embed_cache: Path, tmp_path: Path
) -> None:
    text = campaigns_csv.read_text().splitlines()
    text[0] = text[0].replace("campaign_id", "Campaign ID").replace("platform", "Channel")
    src = tmp_path / "export.csv"
    src.write_text("\n".join(text) + "\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("campaign_id: Campaign ID\nplatform: Channel\n")
    out = tmp_path / "pred"
    run_cli("predict", "--model", models["hierarchical_lgbm"], "--campaigns", src, "--mapping", mapping,
            "--out", out, "--cache-dir", embed_cache, "--no-explain", "--quiet", check=True)  # fmt: skip
    pred = pq.read_table(out / "predictions.parquet")
    assert pred.num_rows == 40 and np.isnan(pred["attribution_brand"].to_numpy()).all()
    assert not (out / "attribution.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "F", "--campaigns", "C"], "expected exactly one"),
        (["--campaigns", "C"], "expected exactly one of --model and --registry"),
    ],
)
def test_bad_predict_options_exit_2(
    args: list[str], message: str, models: dict[str, Path], tmp_path: Path
) -> None:
    extra = (
        []
        if "--registry" in args or args == ["--campaigns", "C"]
        else ["--model", str(models["shared_latent"])]
    )
    proc = run_cli("predict", *extra, *args, "--out", tmp_path / "o")
    assert proc.returncode == 2 and message in proc.stderr
    assert not (tmp_path / "o").exists()


def test_campaigns_without_a_required_column_fail_naming_it(models: dict[str, Path], tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("campaign_id,audience,brand,platform,geo\nc1,a,b,TikTok,10001\n")
    proc = run_cli("predict", "--model", models["shared_latent"], "--campaigns", src, "--out", tmp_path / "o")
    assert proc.returncode == 2
    assert "creative: column 'creative' not found" in proc.stderr and "--mapping" in proc.stderr
    assert not (tmp_path / "o").exists()


def agency_export(path: Path, n: int = 30) -> Path:
    """The first ``n`` rows of examples/new_campaigns.csv (the agency's own column names), then rows
    that exercise the mapping's value conventions and the contract's rejection reasons."""
    with (REPO / "examples" / "new_campaigns.csv").open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))[:n]
    good = rows[0]
    extra = [
        {**good, "Campaign ID": "PAD-1", "ZIP Codes": "2139;80512"},  # zip_zero_pad: 2139 -> 02139
        {**good, "Campaign ID": "DATE-1", "Launch Date": "06/01/2025"},  # not the date_format: bad_date
        {**good, "Campaign ID": "EMPTY-1", "Brand Story": " "},  # empty_text
        {**good, "Campaign ID": "ZIP-1", "ZIP Codes": "80512;8O512"},  # malformed_zip
        dict(rows[1]),  # duplicate_id
    ]
    with path.open("w", newline="", encoding="utf-8-sig") as fh:  # Excel's "CSV UTF-8", as the export
        w = csv.DictWriter(fh, fieldnames=list(good))
        w.writeheader()
        w.writerows(rows + extra)
    return path


def test_an_ingest_mapping_works_unchanged_and_rows_are_judged_as_ingest_judges_them(
    models: dict[str, Path], tmp_path: Path
) -> None:
    """The mapping file a user ingests their history with scores their new campaigns: the same rows are
    accepted and rejected (with ingest's columns and reasons) by ``ingest --unlabelled`` and by
    ``predict --campaigns``, whether the mapping is a file, a JSON object, or the rows an ingested
    dataset folder."""
    src = agency_export(tmp_path / "export.csv")
    mapping = yaml.safe_load((REPO / "examples" / "mapping.yaml").read_text())
    mapping |= {"date_format": "%Y-%m-%d", "zip_zero_pad": True}
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(yaml.safe_dump(mapping))
    ds = tmp_path / "ingested"
    run_cli("ingest", src, "--mapping", mapping_file, "--unlabelled", "--max-rejected", "1", "--out", ds,
            check=True)  # fmt: skip
    samples = pq.read_table(ds / "samples.parquet").to_pandas()
    rejected = pq.read_table(ds / "rejected.parquet")
    model = models["hierarchical_lgbm"]
    common = ["--model", model, "--cache-dir", tmp_path / "cache", "--threads", "1", "--quiet"]
    outs = {
        "file": ["--campaigns", src, "--mapping", mapping_file],
        "json": ["--campaigns", src, "--mapping", json.dumps(mapping)],
        "dataset": ["--campaigns", ds],
    }
    preds = {}
    for name, args in outs.items():
        run_cli("predict", *common, *args, "--out", tmp_path / name, check=True)
        preds[name] = pq.read_table(tmp_path / name / "predictions.parquet").to_pandas()
    assert list(preds["file"]["campaign_id"]) == list(samples["sample_id"])
    assert "PAD-1" in set(preds["file"]["campaign_id"])  # zip_zero_pad read from the mapping
    for name in ("json", "dataset"):
        assert preds[name].equals(preds["file"]), name
    errors = pq.read_table(tmp_path / "file" / "errors.parquet")
    assert errors.schema == rejected.schema  # the columns and types of rejected.parquet
    assert errors.to_pylist() == rejected.to_pylist()
    assert pq.read_table(tmp_path / "json" / "errors.parquet").to_pylist() == rejected.to_pylist()
    by_id = {e["campaign_id"]: e for e in errors.to_pylist()}
    assert {k: by_id[k]["reason"] for k in ("DATE-1", "EMPTY-1", "ZIP-1")} == {
        "DATE-1": "bad_date", "EMPTY-1": "empty_text", "ZIP-1": "malformed_zip",
    }  # fmt: skip
    assert by_id["DATE-1"]["row"] == 32 and by_id["DATE-1"]["line"] is not None
    duplicate = [e for e in errors.to_pylist() if e["reason"] == "duplicate_id"]
    assert len(duplicate) == 1 and duplicate[0]["row"] == 35
    summary = json.loads((tmp_path / "file" / "summary.json").read_text())
    assert summary["input_rows"] == 35 == summary["predicted"] + summary["errors"]
    assert summary["campaigns"]["columns"]["export.csv"]["platform"] == "Channel"


def test_a_mapping_for_a_dataset_folder_or_features_is_refused(
    models: dict[str, Path], tiny_dataset: Path, tmp_path: Path
) -> None:
    proc = run_cli("predict", "--model", models["hierarchical_lgbm"], "--campaigns", tiny_dataset,
                   "--mapping", '{"platform": "Channel"}', "--out", tmp_path / "o")  # fmt: skip
    assert proc.returncode == 2 and "already in the contract's columns" in proc.stderr
    proc = run_cli("predict", "--model", models["hierarchical_lgbm"], "--features", tmp_path,
                   "--mapping", "m.yaml", "--out", tmp_path / "o.parquet")  # fmt: skip
    assert proc.returncode == 2 and "--mapping: got 'm.yaml' -> only with --campaigns" in proc.stderr
    proc = run_cli("predict", "--model", models["hierarchical_lgbm"], "--campaigns", tiny_dataset,
                   "--mapping", '{"platform": ', "--out", tmp_path / "o")  # fmt: skip
    assert proc.returncode == 2 and "--mapping: got" in proc.stderr and "JSON object" in proc.stderr
    proc = run_cli("predict", "--model", models["hierarchical_lgbm"], "--campaigns", tiny_dataset,
                   "--split", "test", "--out", tmp_path / "o")  # fmt: skip
    assert proc.returncode == 2 and "--split: got 'test' -> only with --features" in proc.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.parquet").exists()
