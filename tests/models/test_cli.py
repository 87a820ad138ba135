"""``campaignlab train|evaluate|predict`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from campaignlab.cli import build_app
from campaignlab.features import read_feature_arrays
from tests.conftest import run_cli

app = build_app()

METRIC_KEYS = {
    "macro_f1",
    "per_class_f1",
    "weighted_f1",
    "priority_weighted_f1",
    "accuracy",
    "confusion_matrix",
}


def write_params(path: Path, params: dict) -> Path:
    path.write_text(json.dumps({"params": params}))  # JSON is YAML
    return path


@pytest.mark.slow  # trains the three models / tunes with Optuna
def test_train_evaluate_predict_on_real_embeddings(tiny_features: Path, tmp_path: Path) -> None:
    """The local encoder's embeddings of tiny_dataset, Arch2, every file of the contract."""
    cfg = write_params(tmp_path / "p.yaml", {"max_epochs": 4, "batch_size": 64, "proj_hidden": 64})
    model, ev, pred = tmp_path / "model", tmp_path / "eval", tmp_path / "pred.parquet"
    proc = run_cli(
        "train", "--model", "robust_modality", "--features", tiny_features, "--out", model,
        "--config", cfg, "--threads", "1", "--seed", "3", check=True,
    )  # fmt: skip
    assert "trained robust_modality on 420 rows" in proc.stdout
    assert "training robust_modality" in proc.stderr  # the progress bar
    names = sorted(p.name for p in model.iterdir())
    assert names == ["_COMPLETE.json", "candidates.json", "model.json", "model.pt", "recipe.json"]
    meta = json.loads((model / "model.json").read_text())
    assert meta["type"] == "robust_modality" and meta["params"]["random_state"] == 3
    assert meta["params"]["max_epochs"] == 4 and meta["train_config"]["tune"] == 0
    assert meta["config"]["input_dims"]["audience"] == 384 and meta["config"]["input_dims"]["geo"] == 332

    proc = run_cli("evaluate", "--model", model, "--features", tiny_features, "--out", ev, check=True)
    assert "macro F1" in proc.stdout
    names = sorted(p.name for p in ev.iterdir())
    assert names == [
        "_COMPLETE.json",
        "confusion_matrix.json",
        "confusion_matrix.png",
        "evaluation.json",
        "kfp_metrics.json",
        "metrics.json",
        "predictions.parquet",
    ]
    metrics = json.loads((ev / "metrics.json").read_text())
    assert set(metrics) == METRIC_KEYS
    assert set(metrics["per_class_f1"]) == {"negative", "average", "positive"}
    assert np.sum(metrics["confusion_matrix"]) == 180  # the test split
    kfp = json.loads((ev / "kfp_metrics.json").read_text())
    assert kfp["macro_f1"] == metrics["macro_f1"] and all(isinstance(v, float) for v in kfp.values())
    cm = json.loads((ev / "confusion_matrix.json").read_text())
    assert cm == {"categories": ["negative", "average", "positive"], "matrix": metrics["confusion_matrix"]}
    assert (ev / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    run_cli("predict", "--model", model, "--features", tiny_features, "--out", pred, check=True)
    table = pq.read_table(pred)
    assert table.schema.names == ["sample_id", "label", "prob_negative", "prob_average", "prob_positive"]
    assert str(table.schema.field("label").type) == "int8"
    _, cols, _ = read_feature_arrays(tiny_features)
    assert table["sample_id"].to_pylist() == cols["sample_id"].tolist()  # every row, in order
    probs = np.column_stack([table[c].to_numpy() for c in table.schema.names[2:]])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-9)
    # evaluate's predictions are predict's on the test split
    ev_pred = pq.read_table(ev / "predictions.parquet")
    test_ids = set(cols["sample_id"][cols["split"] == "test"])
    assert set(ev_pred["sample_id"].to_pylist()) == test_ids
    by_id = dict(zip(table["sample_id"].to_pylist(), table["label"].to_pylist(), strict=True))
    assert [by_id[s] for s in ev_pred["sample_id"].to_pylist()] == ev_pred["label"].to_pylist()


@pytest.mark.slow  # trains the three models / tunes with Optuna
def test_train_lgbm_with_tuning_writes_tuning_json(projected_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "lgbm"
    cfg = write_params(tmp_path / "p.yaml", {"feature_fraction": 0.3})  # fewer columns per tree: faster
    run_cli(
        "train", "--model", "hierarchical_lgbm", "--features", projected_dir, "--out", model,
        "--tune", "2", "--tune-subset", "300", "--threads", "1", "--quiet", "--config", cfg, check=True,
    )  # fmt: skip
    assert sorted(p.name for p in model.iterdir()) == [
        "_COMPLETE.json",
        "model.json",
        "stage1.txt",
        "stage2.txt",
        "tuning.json",
    ]
    tuning = json.loads((model / "tuning.json").read_text())
    assert tuning["n_trials"] == 2 and tuning["metric"] == "priority_weighted_f1"
    meta = json.loads((model / "model.json").read_text())
    for key, value in tuning["best_params"].items():  # the refit on all train rows uses the best trial
        assert meta["params"][key] == value
    assert meta["training"]["train_rows"] == 1680
    proc = run_cli("evaluate", "--model", model, "--features", projected_dir, "--out", tmp_path / "ev")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "xgboost"], "model: got 'xgboost'"),
        (
            ["train", "--model", "shared_latent", "--features", "F", "--out", "O", "--tune", "-1"],
            "tune: got -1",
        ),
        (["evaluate", "--model", "nowhere", "--features", "F", "--out", "O"], "does not exist"),
        (["evaluate", "--model", "M", "--features", "F", "--out", "O", "--split", "val"], "split: got 'val'"),
    ],
)
def test_bad_options_exit_2_with_a_message(args: list[str], message: str, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    assert message in res.output


def test_unknown_estimator_parameter_is_named(projected_dir: Path, tmp_path: Path) -> None:
    cfg = write_params(tmp_path / "p.yaml", {"max_epoch": 3})
    res = CliRunner().invoke(
        app,
        ["train", "--model", "robust_modality", "--features", str(projected_dir),
         "--out", str(tmp_path / "m"), "--config", str(cfg)],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "max_epoch" in res.output and "unknown key" in res.output
    assert not (tmp_path / "m").exists()


def test_features_of_other_widths_are_rejected(
    projected_dir: Path, tiny_features: Path, tmp_path: Path
) -> None:
    cfg = write_params(tmp_path / "p.yaml", {"max_epochs": 1})
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["train", "--model", "shared_latent", "--features", str(projected_dir),
         "--out", str(tmp_path / "m"), "--config", str(cfg), "--quiet", "--threads", "1"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app,
        [
            "predict",
            "--model",
            str(tmp_path / "m"),
            "--features",
            str(tiny_features),
            "--out",
            str(tmp_path / "p.parquet"),
        ],
    )
    assert res.exit_code == 2
    assert "got width 384 -> expected 48" in res.output
    assert not (tmp_path / "p.parquet").exists()
    res = runner.invoke(
        app,
        ["predict", "--model", str(tmp_path / "m"), "--features", str(projected_dir), "--out", str(tmp_path)],
    )
    assert res.exit_code == 2 and "is a folder" in res.output


def test_importing_the_cli_and_model_steps_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, campaignlab.cli, campaignlab.models.commands, campaignlab.models.registry;"
        "print(sorted(m for m in ('torch', 'lightgbm', 'optuna', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
