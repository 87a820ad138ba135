"""The retraining data gate: a newer snapshot from the same process passes; a new platform taking a large
share, shifted labels, drifted embeddings or an unlabelled table stop it with a report; on_drift: warn
overrides. Datasets come from the example script and ``ingest``; features from a cheap deterministic
text hash (the gate's logic, not the encoder, is under test; the flow test registers real features)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from campaignlab.features.table import features_schema, vector_column
from campaignlab.ingest import IngestConfig, ingest
from campaignlab.ingest.gate import GateConfig, build_reference, run_gate
from campaignlab.io import atomic_dir, read_json, read_parquet, write_json, write_parquet
from tests.conftest import REPO, run_cli

MAPPING = REPO / "examples" / "mapping.yaml"
DIM = 12


def snapshot(root: Path, name: str, *args: str, unlabelled: bool = False) -> Path:
    csv = root / f"{name}.csv"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "examples" / "make_campaigns.py"),
            "--rows",
            "500",
            "--out",
            str(csv),
            "--clean",
            *args,
        ],
        check=True,
        capture_output=True,
    )
    out = root / name
    ingest(IngestConfig(source=str(csv), out=out, mapping=MAPPING, unlabelled=unlabelled))
    return out


def text_vec(text: str, shift: float = 0.0) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32) + shift


def hashed_features(dataset: Path, out: Path, shift: dict[str, float] | None = None) -> Path:
    """A features folder whose vectors are seeded by each text (and geo list): same text, same vector."""
    s = read_parquet(dataset / "samples.parquet").to_pandas()
    vocab = read_json(dataset / "manifest.json")["vocabularies"]["platform"]
    shift = shift or {}
    cols = {
        m: np.stack([text_vec(str(t), shift.get(m, 0.0)) for t in s[m]])
        for m in ("audience", "brand", "creative", "platform")
    }
    cols["geo"] = np.stack([text_vec(";".join(g), shift.get("geo", 0.0)) for g in s["geo"]])
    code = {p: i for i, p in enumerate(vocab)}
    table = pa.table(
        [
            pa.array(s["sample_id"].tolist()),
            pa.array(s["split"].tolist()),
            pa.array(s["label"].to_numpy(np.int8), pa.int8()),
            *[vector_column(cols[m]) for m in ("audience", "brand", "creative", "geo", "platform")],
            pa.array([code[p] for p in s["platform"]], pa.int32()),
        ],
        schema=features_schema(dict.fromkeys(("audience", "brand", "creative", "geo", "platform"), DIM)),
    )
    with atomic_dir(out) as tmp:
        write_parquet(table, tmp / "features.parquet")
        write_json(
            tmp / "manifest.json",
            {
                "dimensions": dict.fromkeys(("audience", "brand", "creative", "geo", "platform"), DIM),
                "platform_codes": code,
                "encoder": "hash",
            },
        )
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gate")
    ds = snapshot(root, "history", "--seed", "3")
    return build_reference(ds, hashed_features(ds, root / "history_f"), root / "reference", rows=400)


def gate(
    tmp_path: Path,
    reference: Path,
    *args: str,
    shift: dict[str, float] | None = None,
    cfg: GateConfig | None = None,
    unlabelled: bool = False,
):  # type: ignore[no-untyped-def]
    ds = snapshot(
        tmp_path,
        "new",
        "--seed",
        "3",
        "--snapshot",
        "2025-06",
        "--new-rows",
        "500",
        *args,
        unlabelled=unlabelled,
    )
    feats = hashed_features(ds, tmp_path / "new_f", shift)
    return ds, feats, run_gate(ds, feats, reference, cfg or GateConfig(sample_rows=400))


def verdicts(result) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {c.name: c.passed for c in result.checks}


def test_a_newer_snapshot_of_the_same_process_passes(tmp_path: Path, reference: Path) -> None:
    ds, feats, result = gate(tmp_path, reference)
    assert result.passed and not result.allowed, result.message()
    assert all(verdicts(result).values())
    assert 0.35 < result.summary["embedding_auc"]["brand"] < 0.65
    res = run_cli(
        "gate",
        ds,
        "--features",
        feats,
        "--reference",
        reference,
        "--out",
        tmp_path / "g",
        "--config",
        _cfg(tmp_path),
        check=True,
    )
    assert "data gate passed" in res.stdout
    assert read_json(tmp_path / "g" / "gate.json")["passed"] is True
    assert (tmp_path / "g" / "report.html").read_text().count("<tr") == len(result.checks) + 1


def _cfg(tmp_path: Path, **extra: object) -> Path:
    import yaml

    p = tmp_path / "gate.yaml"
    p.write_text(yaml.safe_dump({"sample_rows": 400, **extra}))
    return p


def test_a_new_platform_taking_a_large_share_stops_the_run(tmp_path: Path, reference: Path) -> None:
    ds, feats, result = gate(tmp_path, reference, "--drift", "new-platform")
    v = verdicts(result)
    assert not result.passed and not v["new_platforms"]
    new = next(c for c in result.checks if c.name == "new_platforms")
    assert 0.2 < new.value < 0.3 and "'Threads'" in new.detail  # half of the 500 new of 1,000 rows
    res = run_cli(
        "gate",
        ds,
        "--features",
        feats,
        "--reference",
        reference,
        "--out",
        tmp_path / "g",
        "--config",
        _cfg(tmp_path),
    )
    assert res.returncode == 1 and "data gate FAILED" in res.stderr and "Threads" in res.stderr
    page = (tmp_path / "g" / "report.html").read_text()
    assert "FAILED: the run stops here" in page and "Threads" in page
    res = run_cli("gate-verdict", tmp_path / "g")
    assert res.returncode == 1 and "nothing was trained" in res.stderr and "new_platforms" in res.stderr
    # The pipeline's form: a report and a verdict, exit 0; the stop step decides.
    res = run_cli(
        "gate",
        ds,
        "--features",
        feats,
        "--reference",
        reference,
        "--out",
        tmp_path / "g2",
        "--config",
        _cfg(tmp_path),
        "--report-only",
        "--passed-out",
        tmp_path / "passed",
    )
    assert res.returncode == 0 and (tmp_path / "passed").read_text() == "false"


def test_shifted_labels_stop_the_run_unless_allowed(tmp_path: Path, reference: Path) -> None:
    ds, feats, result = gate(tmp_path, reference, "--drift", "label-shift")
    assert not result.passed and not verdicts(result)["label_shift"]
    assert "-> " in next(c.detail for c in result.checks if c.name == "label_shift")
    res = run_cli(
        "gate",
        ds,
        "--features",
        feats,
        "--reference",
        reference,
        "--out",
        tmp_path / "g",
        "--config",
        _cfg(tmp_path, on_drift="warn"),
        check=True,
    )
    assert "drift allowed by the config" in res.stdout
    g = read_json(tmp_path / "g" / "gate.json")
    assert g["passed"] is True and g["allowed_drift"] is True
    assert run_cli("gate-verdict", tmp_path / "g").returncode == 0


def test_embedding_drift_is_caught_per_modality(tmp_path: Path, reference: Path) -> None:
    _, _, result = gate(tmp_path, reference, shift={"creative": 0.6})
    v = verdicts(result)
    assert not v["embedding_drift.creative"] and v["embedding_drift.brand"] and v["embedding_drift.audience"]
    assert result.summary["embedding_auc"]["creative"] > 0.75


def test_an_unlabelled_table_fails_the_schema_check(tmp_path: Path, reference: Path) -> None:
    _, _, result = gate(
        tmp_path, reference, unlabelled=True, cfg=GateConfig(sample_rows=400, on_drift="warn")
    )
    assert not result.passed  # on_drift: warn never overrides a broken schema
    assert "unlabelled" in next(c.detail for c in result.checks if c.name == "schema")
