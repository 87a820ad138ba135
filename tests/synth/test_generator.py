"""The generator end to end: labels verify for every preset, noise level and pair preference."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from campaignlab.errors import GenerationError, VerificationError
from campaignlab.synth import dataset
from campaignlab.synth.config import resolve_generator_config
from campaignlab.synth.presets import EDGE_TYPES
from tests.conftest import run_cli

SMALL = 0.004  # ~240-480 samples per dataset


@pytest.mark.parametrize("preset", ["v25", "v26", "v28"])
@pytest.mark.parametrize("noise", ["clean", "low", "medium", "high"])
def test_every_preset_and_noise_level_verifies(tmp_path, preset, noise):
    cfg = resolve_generator_config({"preset": preset, "noise": noise, "scale": SMALL, "seed": 3})
    ds = dataset.generate(cfg)
    dataset.write(ds, tmp_path / "d")
    report = dataset.verify(tmp_path / "d")
    assert report.num_samples == sum(cfg.counts().values())
    counts = ds.manifest["counts"]
    for lbl, n in cfg.counts().items():
        assert counts["train"][lbl] + counts["test"][lbl] == n
        assert counts["test"][lbl] == round(0.3 * n)


@pytest.mark.parametrize("preset", ["v25", "v26", "v28"])
@pytest.mark.parametrize("pairs", ["common_first", "rare_first", "middle_ground"])
def test_every_pair_preference_verifies(tmp_path, preset, pairs):
    cfg = resolve_generator_config({"preset": preset, "pairs": pairs, "scale": SMALL, "seed": 4})
    dataset.write(dataset.generate(cfg), tmp_path / "d")
    dataset.verify(tmp_path / "d")


def _edge_type_share(ds: dataset.Dataset, types: list[str]) -> float:
    """Share of a dataset's sample edges (positive or negative) that are of ``types``."""
    from campaignlab.synth.graph import build_graph

    cfg = resolve_generator_config(ds.manifest["config"])
    g = build_graph(cfg.graph, cfg.seed)
    s, tm = g.sign_matrix(), g.pair_type_matrix()
    want = [EDGE_TYPES.index(t) for t in types]
    hit = total = 0
    for row in zip(
        *(ds.samples[f"{m}_nodes"].to_pylist() for m in ("audience", "brand", "creative", "geo", "platform")),
        strict=True,
    ):
        ids = np.array([i for part in row for i in part])
        a, b = np.triu_indices(len(ids), 1)
        e = s[ids[a], ids[b]] != 0
        total += e.sum()
        hit += np.isin(tm[ids[a], ids[b]][e], want).sum()
    return hit / total


def test_pair_preference_shifts_sample_edges_towards_high_pairs():
    base = dataset.generate(resolve_generator_config({"preset": "v25", "scale": 0.005, "seed": 9}))
    rare = dataset.generate(
        resolve_generator_config({"preset": "v25", "scale": 0.005, "seed": 9, "pairs": "rare_first"})
    )
    common = dataset.generate(
        resolve_generator_config({"preset": "v25", "scale": 0.005, "seed": 9, "pairs": "common_first"})
    )
    high_rare = ["audience-audience", "audience-platform"]
    assert _edge_type_share(rare, high_rare) > 1.15 * _edge_type_share(base, high_rare)
    assert _edge_type_share(common, high_rare) < _edge_type_share(base, high_rare)


def test_noise_puts_samples_outside_the_clean_ranges():
    clean = dataset.generate(resolve_generator_config({"preset": "v25", "scale": 0.01, "seed": 5}))
    high = dataset.generate(
        resolve_generator_config({"preset": "v25", "scale": 0.01, "seed": 5, "noise": "high"})
    )

    def pos_neg_max(ds):
        lab = np.asarray(ds.samples["label"])
        return np.asarray(ds.samples["neg_frac"])[lab == 2].max()

    assert pos_neg_max(clean) <= 0.25
    assert pos_neg_max(high) > 0.25


def test_samples_follow_the_contract(tiny_dataset: Path):
    t = pq.read_table(tiny_dataset / "samples.parquet")
    schema = {f.name: str(f.type) for f in t.schema}
    assert schema["sample_id"] == "string" and schema["split"] == "string" and schema["label"] == "int8"
    for c in ("audience", "brand", "creative", "platform"):
        assert schema[c] == "string"
    assert schema["geo"] == "list<element: string>"
    for m in ("audience", "brand", "creative", "geo", "platform"):
        assert schema[f"{m}_nodes"] == "list<element: int64>"
    assert schema["pos_frac"] == schema["neg_frac"] == "double"
    df = t.to_pandas()
    assert set(df["split"]) == {"train", "test"}
    assert set(df["label"]) == {0, 1, 2}
    assert (df["platform_nodes"].map(len) == 1).all()
    assert all(len(z) == 5 and z.isdigit() for g in df["geo"] for z in g)
    row = df.iloc[0]
    nodes = pq.read_table(tiny_dataset / "nodes.parquet").to_pandas().set_index("node_id")
    # every chosen audience value is named in the audience text
    for nid in row["audience_nodes"]:
        assert nodes.loc[nid, "value"] in row["audience"]
    assert nodes.loc[row["platform_nodes"][0], "value"] == row["platform"]
    edges = pq.read_table(tiny_dataset / "edges.parquet")
    assert {f.name: str(f.type) for f in edges.schema} == {"src": "int64", "dst": "int64", "sign": "int8"}
    m = json.loads((tiny_dataset / "manifest.json").read_text())
    assert m["preset"] == "v25" and m["seed"] == 42 and m["versions"]["campaignlab"]
    assert m["config"]["classes"]["pos"]["pos_frac_range"] == [0.45, 1.0]
    assert (tiny_dataset / "proportions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}


def test_same_config_and_seed_give_identical_bytes(tmp_path):
    for name in ("a", "b"):
        run_cli(
            "generate",
            "--preset",
            "v26",
            "--scale",
            "0.005",
            "--seed",
            "11",
            "--noise",
            "low",
            "--out",
            tmp_path / name,
            "--quiet",
            check=True,
        )
    run_cli(
        "generate",
        "--preset",
        "v26",
        "--scale",
        "0.005",
        "--seed",
        "12",
        "--noise",
        "low",
        "--out",
        tmp_path / "c",
        "--quiet",
        check=True,
    )
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert len(a) == 3 and a == b
    assert a["samples.parquet"] != c["samples.parquet"]
    assert (tmp_path / "a" / "manifest.json").read_bytes() == (tmp_path / "b" / "manifest.json").read_bytes()


def test_verify_catches_a_wrong_label_and_a_flipped_edge(tmp_path, tiny_dataset):
    import shutil

    import pyarrow as pa

    bad = tmp_path / "bad"
    shutil.copytree(tiny_dataset, bad)
    t = pq.read_table(bad / "samples.parquet")
    labels = np.asarray(t["label"]).copy()
    labels[0] = (labels[0] + 1) % 3
    pq.write_table(
        t.set_column(t.schema.get_field_index("label"), "label", pa.array(labels, pa.int8())),
        bad / "samples.parquet",
    )
    proc = run_cli("verify", bad)
    assert proc.returncode == 1 and "labels disagree" in proc.stderr

    bad2 = tmp_path / "bad2"
    shutil.copytree(tiny_dataset, bad2)
    e = pq.read_table(bad2 / "edges.parquet")
    sign = np.asarray(e["sign"]).copy()
    sign[:] = -sign
    pq.write_table(e.set_column(2, "sign", pa.array(sign, pa.int8())), bad2 / "edges.parquet")
    with pytest.raises(VerificationError, match="fractions differ"):
        dataset.verify(bad2)
    assert run_cli("verify", tiny_dataset).returncode == 0


def test_unreachable_class_fails_clearly(tmp_path):
    cfg = resolve_generator_config(
        {
            "preset": "v25",
            "scale": 0.01,
            "max_attempts_per_sample": 3,
            "classes": {"pos": {"pos_frac_range": [0.95, 1.0], "neg_frac_range": [0.9, 1.0]}},
        }
    )
    with pytest.raises(GenerationError) as info:
        dataset.generate(cfg)
    msg = str(info.value)
    assert "'pos'" in msg and "[0.95, 1.0]" in msg and "[0.9, 1.0]" in msg


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    cases = [
        (["--preset", "v27"], "preset"),
        (["--preset", "v25", "--scale", "0"], "scale"),
        (["--preset", "v25", "--noise", "loud"], "noise"),
    ]
    for args, field in cases:
        proc = run_cli("generate", *args, "--out", out)
        assert proc.returncode == 2, proc.stderr
        assert field in proc.stderr
        assert not out.exists()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("preset: v25\nscale: 0.01\nclasses:\n  pos:\n    num_sample: 5\n")
    proc = run_cli("generate", "--config", cfg, "--out", out)
    assert proc.returncode == 2 and "classes.pos.num_sample" in proc.stderr and "unknown key" in proc.stderr
    cfg.write_text("preset: v25\nclasses:\n  avg: {pos_frac_range: [0.6, 0.2]}\n")
    proc = run_cli("generate", "--config", cfg, "--out", out)
    assert proc.returncode == 2 and "classes.avg.pos_frac_range" in proc.stderr and "0.6" in proc.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [cfg]


def test_unwritable_output_is_rejected_before_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run_cli("generate", "--preset", "v25", "--scale", "0.01", "--out", blocker / "sub")
    assert proc.returncode == 2 and "not writable" in proc.stderr
    proc = run_cli("generate", "--preset", "v25", "--scale", "0.01", "--out", blocker)
    assert proc.returncode == 2 and "not a folder" in proc.stderr
    assert blocker.read_text() == "x"


def test_failed_generation_leaves_previous_output_untouched(tmp_path, tiny_dataset):
    import shutil

    out = tmp_path / "keep"
    shutil.copytree(tiny_dataset, out)
    before = _digest(out)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "preset: v25\nscale: 0.01\nmax_attempts_per_sample: 1\n"
        "classes:\n  pos: {pos_frac_range: [0.99, 1.0], neg_frac_range: [0.99, 1.0]}\n"
    )
    proc = run_cli("generate", "--config", cfg, "--out", out, "--quiet")
    assert proc.returncode == 2 and "cannot be reached" in proc.stderr
    assert _digest(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
