"""compare / register / kfp-metadata on hand-made evaluation folders (answers worked out by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from campaignlab.cli import build_app
from campaignlab.io import atomic_dir

app = build_app()

runner = CliRunner()


def make_eval(folder: Path, macro: float, per: tuple[float, float, float] = (0.5, 0.5, 0.5)) -> Path:
    """An evaluation folder as ``campaignlab evaluate`` writes it (the files compare/kfp-metadata read),
    published as every output is (with its completion marker)."""
    with atomic_dir(folder) as tmp:
        _eval_files(tmp, macro, per)
    return folder


def _eval_files(folder: Path, macro: float, per: tuple[float, float, float]) -> None:
    metrics = {
        "macro_f1": macro,
        "per_class_f1": dict(zip(("negative", "average", "positive"), per, strict=True)),
        "weighted_f1": macro - 0.01,
        "accuracy": macro + 0.01,
        "confusion_matrix": [[5, 1, 0], [1, 4, 1], [0, 2, 6]],
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    flat = {
        "macro_f1": macro,
        "f1_negative": per[0],
        "f1_average": per[1],
        "f1_positive": per[2],
        "accuracy": macro,
    }
    (folder / "kfp_metrics.json").write_text(json.dumps(flat))
    cm = {"categories": ["negative", "average", "positive"], "matrix": metrics["confusion_matrix"]}
    (folder / "confusion_matrix.json").write_text(json.dumps(cm))
    (folder / "confusion_matrix.png").write_bytes(b"\x89PNG fake")
    (folder / "predictions.parquet").write_bytes(b"PAR1 fake")


def make_model(folder: Path, kind: str) -> Path:
    with atomic_dir(folder) as tmp:
        (tmp / "model.json").write_text(json.dumps({"type": kind}))
    return folder


def test_compare_picks_best_by_macro_f1_and_copies_its_model(tmp_path: Path) -> None:
    # Prepare: three candidates; robust_modality has the highest macro F1 (0.71 > 0.70 > 0.55).
    evals = {
        "hierarchical_lgbm": make_eval(tmp_path / "e1", 0.70),
        "shared_latent": make_eval(tmp_path / "e2", 0.55),
        "robust_modality": make_eval(tmp_path / "e3", 0.71, (0.8, 0.5, 0.83)),
    }
    models = {n: make_model(tmp_path / f"m-{n}", n) for n in evals}
    args = ["compare", "--out", str(tmp_path / "cmp"), "--model-out", str(tmp_path / "best")]
    for n in evals:
        args += ["--metrics", f"{n}={evals[n]}", "--model", f"{n}={models[n]}"]
    args += ["--promote-out", str(tmp_path / "promote"), "--markdown-out", str(tmp_path / "s.md")]
    # Execute
    res = runner.invoke(app, args)
    # Assert
    assert res.exit_code == 0, res.output
    best = json.loads((tmp_path / "cmp" / "best.json").read_text())
    assert best["best"] == "robust_modality"
    assert [c["name"] for c in best["candidates"]] == [
        "robust_modality",
        "hierarchical_lgbm",
        "shared_latent",
    ]
    assert best["promote"] is True  # no champion: the best is promoted
    assert json.loads((tmp_path / "best" / "model.json").read_text()) == {"type": "robust_modality"}
    assert json.loads((tmp_path / "best" / "selected.json").read_text())["name"] == "robust_modality"
    assert (tmp_path / "promote").read_text() == "true"
    md = (tmp_path / "s.md").read_text()
    assert "| 1 | **robust_modality** | 0.7100 | 0.8000 | 0.5000 | 0.8300 |" in md
    assert (tmp_path / "cmp" / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64," in (tmp_path / "cmp" / "summary.html").read_text()


@pytest.mark.parametrize(
    ("challenger", "champion", "margin", "promote"),
    [
        (0.75, 0.70, 0.01, True),  # 0.75 > 0.70 + 0.01
        (0.705, 0.70, 0.01, False),  # better, but not by the margin
        (0.71, 0.70, 0.01, False),  # by exactly the margin: not promoted (it must beat by more)
        (0.65, 0.70, 0.0, False),  # worse
    ],
)
def test_champion_promotion_needs_the_margin(
    tmp_path: Path, challenger: float, champion: float, margin: float, promote: bool
) -> None:
    ch = make_eval(tmp_path / "challenger", challenger)
    champ = make_eval(tmp_path / "champion", champion)
    res = runner.invoke(
        app,
        ["compare", "--metrics", f"challenger={ch}", "--champion", str(champ), "--margin", str(margin),
         "--out", str(tmp_path / "cmp"), "--promote-out", str(tmp_path / "p")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "p").read_text() == ("true" if promote else "false")
    assert json.loads((tmp_path / "cmp" / "best.json").read_text())["champion_macro_f1"] == champion


def test_ties_go_to_the_first_candidate(tmp_path: Path) -> None:
    a, b = make_eval(tmp_path / "a", 0.6), make_eval(tmp_path / "b", 0.6)
    res = runner.invoke(
        app, ["compare", "--metrics", f"b={b}", "--metrics", f"a={a}", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "o" / "best.json").read_text())["best"] == "b"


def test_compare_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["compare", "--metrics", "no-equals-sign", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "expected NAME=DIR" in res.output
    res = runner.invoke(
        app, ["compare", "--metrics", f"x={tmp_path / 'missing'}", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2
    assert "metrics.json" in res.output and "does not exist" in res.output
    assert not (tmp_path / "o").exists()


def test_register_copies_model_and_metrics_to_out_and_registry(tmp_path: Path) -> None:
    ev = make_eval(tmp_path / "eval", 0.8)
    model = make_model(tmp_path / "model", "hierarchical_lgbm")
    res = runner.invoke(
        app,
        ["register", "--model", str(model), "--metrics", str(ev), "--out", str(tmp_path / "out"),
         "--name", "champion", "--registry-dir", str(tmp_path / "registry" / "champion")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for dest in (tmp_path / "out", tmp_path / "registry" / "champion"):
        assert json.loads((dest / "model.json").read_text()) == {"type": "hierarchical_lgbm"}
        assert json.loads((dest / "metrics.json").read_text())["macro_f1"] == 0.8
        assert json.loads((dest / "registered.json").read_text())["name"] == "champion"


def test_kfp_metadata_writes_artifacts_and_executor_output(tmp_path: Path) -> None:
    ev = make_eval(tmp_path / "eval", 0.66, (0.6, 0.5, 0.88))
    out_file = tmp_path / "outputs" / "executor_output.json"
    # The executor input the KFP launcher substitutes for {{$}} (shape of Vertex's ExecutorInput).
    executor_input = {
        "inputs": {},
        "outputs": {
            "artifacts": {
                "metrics": {"artifacts": [{"name": "metrics", "type": {"schemaTitle": "system.Metrics"},
                                           "uri": "gs://b/run/evaluate/metrics"}]},
                "confusion_matrix": {"artifacts": [{"name": "cm",
                                                    "type": {"schemaTitle": "system.ClassificationMetrics"},
                                                    "uri": "gs://b/run/evaluate/confusion_matrix"}]},
                "report": {"artifacts": [{"name": "r", "type": {"schemaTitle": "system.HTML"}, "uri": "gs://b/r"}]},
            },
            "outputFile": str(out_file),
        },
    }  # fmt: skip
    paths = {k: tmp_path / "art" / k for k in ("metrics", "cm", "report", "pred")}
    res = runner.invoke(
        app,
        ["kfp-metadata", str(ev), "--metrics", str(paths["metrics"]),
         "--classification-metrics", str(paths["cm"]),
         "--report", str(paths["report"]), "--predictions", str(paths["pred"]),
         "--executor-input", json.dumps(executor_input)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(paths["metrics"].read_text())["f1_positive"] == 0.88
    assert paths["pred"].read_bytes() == b"PAR1 fake"
    assert "<th>macro_f1</th><td>0.6600</td>" in paths["report"].read_text()
    written = json.loads(out_file.read_text())["artifacts"]
    assert set(written) == {"metrics", "confusion_matrix"}
    meta = written["metrics"]["artifacts"][0]
    assert meta["uri"] == "gs://b/run/evaluate/metrics" and meta["metadata"]["macro_f1"] == 0.66
    cm = written["confusion_matrix"]["artifacts"][0]["metadata"]["confusionMatrix"]
    assert [s["displayName"] for s in cm["annotationSpecs"]] == ["negative", "average", "positive"]
    assert cm["rows"][2] == {"row": [0, 2, 6]}


def test_kfp_metadata_without_a_launcher_publishes_files_only(tmp_path: Path) -> None:
    ev = make_eval(tmp_path / "eval", 0.5)
    # An unresolved placeholder (no KFP launcher substituted it) must not fail the step.
    res = runner.invoke(
        app, ["kfp-metadata", str(ev), "--metrics", str(tmp_path / "m"), "--executor-input", "{{$}}"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "m").read_text())["macro_f1"] == 0.5


def test_compare_reads_sections_of_a_federate_run(tmp_path: Path) -> None:
    # The metrics.json of `campaignlab federate`: final federated round and the centralized baseline.
    run = tmp_path / "run"
    summary = {"federated": {"final": {"macro_f1": 0.58, "round": 4}}, "centralized": {"macro_f1": 0.62}}
    with atomic_dir(run) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(summary))
    res = runner.invoke(
        app,
        ["compare", "--metrics", f"federated={run}#federated.final",
         "--metrics", f"centralized={run}#centralized", "--out", str(tmp_path / "cmp")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    best = json.loads((tmp_path / "cmp" / "best.json").read_text())
    assert best["best"] == "centralized"
    assert [c["macro_f1"] for c in best["candidates"]] == [0.62, 0.58]
    res = runner.invoke(
        app, ["compare", "--metrics", f"x={run}#federated.nope", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "has no section 'federated.nope'" in res.output
