"""`campaignlab embed` end to end: real CLI process, real encoders, fake Vertex on 127.0.0.1."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaignlab.features import MODALITIES, read_feature_arrays, read_features
from campaignlab.features.embed import embed_dataset
from tests.conftest import run_cli
from tests.fakes.vertex_embed_server import FakeVertexEmbedServer, fake_vector


@pytest.fixture(scope="module")
def server():
    with FakeVertexEmbedServer() as s:
        yield s


def test_rerun_with_the_cache_embeds_nothing(tiny_dataset, tiny_features, tmp_path):
    cache = tiny_features.parent / "cache"
    m = embed_dataset(tiny_dataset, tmp_path / "again", "local", cache_dir=cache)
    _, first = read_features(tiny_features)
    assert m["texts_embedded"] == 0 and m["cache_hits"] == first["unique_texts"]
    a, _, _ = read_feature_arrays(tiny_features)
    b, _, _ = read_feature_arrays(tmp_path / "again")
    for mod in MODALITIES:
        np.testing.assert_array_equal(a[mod], b[mod])


def test_cli_vertex_against_fake_server(tiny_dataset, server, tmp_path):
    out = tmp_path / "feat"
    server.requests.clear()
    proc = run_cli(
        "embed", tiny_dataset, "--encoder", "vertex", "--task-type", "SEMANTIC_SIMILARITY", "--dim", "512",
        "--out", out, "--cache-dir", tmp_path / "cache",
        env={"CAMPAIGNLAB_VERTEX_ENDPOINT": server.url},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "embedded 600 samples with vertex text-embedding-005" in proc.stdout
    _, manifest = read_features(out)
    assert manifest["encoder"] == "vertex" and manifest["task_type"] == "SEMANTIC_SIMILARITY"
    assert manifest["dimensions"] == {
        "audience": 512,
        "brand": 512,
        "creative": 512,
        "geo": 332,
        "platform": 512,
    }
    assert manifest["texts_embedded"] == manifest["unique_texts"] == len(set(server.texts_received()))
    samples = pq.read_table(tiny_dataset / "samples.parquet")
    arrays, _, _ = read_feature_arrays(out)
    row = 7
    np.testing.assert_allclose(
        arrays["creative"][row],
        fake_vector(samples.column("creative")[row].as_py(), "SEMANTIC_SIMILARITY", 512),
        rtol=1e-6,
    )
    assert all(len(r.body["instances"]) <= 250 for r in server.requests)
    # --vertex-endpoint wins over the environment; the cache answers everything the second time.
    n = len(server.requests)
    proc = run_cli(
        "embed", tiny_dataset, "--encoder", "vertex", "--task-type", "SEMANTIC_SIMILARITY", "--dim", "512",
        "--out", out, "--cache-dir", tmp_path / "cache", "--vertex-endpoint", server.url, "--quiet",
        env={"CAMPAIGNLAB_VERTEX_ENDPOINT": "http://127.0.0.1:9"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(server.requests) == n
    assert json.loads((out / "manifest.json").read_text())["cache_hits"] == manifest["unique_texts"]


def test_custom_pdfm_with_missing_zips(tiny_dataset, server, tmp_path):
    samples = pq.read_table(tiny_dataset / "samples.parquet")
    zips = sorted({z for zs in samples.column("geo").to_pylist() for z in zs})
    known = zips[: len(zips) // 2]
    pdfm = tmp_path / "pdfm.csv"
    lines = ["place,feature0,feature1,feature2"] + [f"zip/{z},{int(z) % 7},1.5,-2" for z in known]
    pdfm.write_text("\n".join(lines) + "\n")
    m = embed_dataset(
        tiny_dataset, tmp_path / "feat", "vertex", dim=8, pdfm=pdfm, cache_dir=tmp_path / "c",
        vertex={"endpoint": server.url},
    )  # fmt: skip
    assert m["dimensions"]["geo"] == 5 and m["geo"]["standin"] is False
    arrays, _, _ = read_feature_arrays(tmp_path / "feat")
    g = arrays["geo"]
    for i, zs in enumerate(samples.column("geo").to_pylist()):
        found = [z for z in zs if z in known]
        if found:
            want = [np.mean([int(z) % 7 for z in found]), 1.5, -2.0, len(found) / len(zs), 0.0]
        else:
            want = [0.0, 0.0, 0.0, 0.0, 1.0]
        np.testing.assert_allclose(g[i], want, rtol=1e-6, atol=1e-6)
    assert m["geo"]["samples_without_geo"] == int((g[:, -1] == 1).sum()) > 0


def _drop_column(src, dst, column):
    shutil.copytree(src, dst)
    t = pq.read_table(src / "samples.parquet")
    pq.write_table(t.drop_columns([column]), dst / "samples.parquet")


BAD_INPUTS = [
    # (via the CLI process?, flags, message)
    (True, ["--encoder", "word2vec"], "encoder: got 'word2vec'"),
    (False, ["--dim", "768"], "dim: got 768 -> local encoder all-MiniLM-L6-v2 gives only 384"),
    (
        False,
        ["--encoder", "vertex", "--dim", "4096", "--vertex-endpoint", "http://127.0.0.1:9"],
        "gives 1 to 768",
    ),
    (
        False,
        ["--encoder", "vertex", "--task-type", "SUMMARIZE", "--vertex-endpoint", "http://127.0.0.1:9"],
        "task_type",
    ),
    (True, ["--pdfm", "BADPDFM"], "same length"),
    (False, ["--pdfm", "NOFILE"], "does not exist"),
    (True, ["DROP:brand"], "missing column(s): brand"),
    (False, ["DROP:geo"], "missing column(s): geo"),
]


def _flags_to_kwargs(args: list[str]) -> dict:
    kw: dict = {}
    it = iter(args)
    for flag in it:
        value = next(it)
        key = {"--encoder": "encoder", "--dim": "dim", "--task-type": "task_type", "--pdfm": "pdfm"}.get(flag)
        if flag == "--vertex-endpoint":
            kw["vertex"] = {"endpoint": value}
        else:
            kw[key] = int(value) if key == "dim" else value
    return kw


@pytest.mark.parametrize(("via_cli", "args", "message"), BAD_INPUTS)
def test_bad_input_fails_clearly_and_writes_nothing(tiny_dataset, tmp_path, via_cli, args, message):
    from campaignlab.errors import CampaignlabError

    dataset = tiny_dataset
    bad_pdfm = tmp_path / "bad_pdfm.csv"
    bad_pdfm.write_text('place_name,features\nzip/01001,"[1, 2]"\nzip/01002,"[1]"\n')
    if args[0].startswith("DROP:"):
        dataset = tmp_path / "broken"
        _drop_column(tiny_dataset, dataset, args[0][5:])
        args = []
    args = [
        str(bad_pdfm) if a == "BADPDFM" else str(tmp_path / "none.csv") if a == "NOFILE" else a for a in args
    ]
    out, cache = tmp_path / "out", tmp_path / "cache"
    if via_cli:
        proc = run_cli("embed", dataset, "--out", out, "--cache-dir", cache, "--quiet", *args)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr
    else:
        with pytest.raises(CampaignlabError) as err:
            embed_dataset(dataset, out, cache_dir=cache, **_flags_to_kwargs(args))
        assert message in str(err.value)
    assert not out.exists() and not cache.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_existing_output_survives_a_failed_run(tiny_features, tmp_path):
    out = tmp_path / "feat"
    shutil.copytree(tiny_features, out)
    before = (out / "features.parquet").read_bytes()
    proc = run_cli("embed", tmp_path / "missing_dataset", "--out", out, "--quiet")
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert (out / "features.parquet").read_bytes() == before


@pytest.mark.parametrize(("preset", "scale"), [("v26", 0.003), ("v28", 0.002)])
def test_every_preset_gives_finite_vectors_and_the_same_platform_codes(
    preset, scale, tiny_features, server, tmp_path
):
    from campaignlab.synth import dataset
    from campaignlab.synth.config import resolve_generator_config

    ds_dir = tmp_path / preset
    dataset.write(
        dataset.generate(resolve_generator_config({"preset": preset, "scale": scale, "seed": 3})), ds_dir
    )
    m = embed_dataset(
        ds_dir, tmp_path / "feat", "vertex", dim=64, cache_dir=tmp_path / "c", vertex={"endpoint": server.url}
    )
    table, _ = read_features(tmp_path / "feat")
    assert table.num_rows == pq.read_metadata(ds_dir / "samples.parquet").num_rows
    assert table.schema.field("geo").type == pa.list_(pa.float32(), 332)
    arrays, _, _ = read_feature_arrays(tmp_path / "feat")
    assert all(np.isfinite(a).all() for a in arrays.values())
    # Platform codes index the sorted platform vocabulary: identical across datasets and presets.
    _, tiny_manifest = read_features(tiny_features)
    assert m["platform_codes"] == tiny_manifest["platform_codes"]


def test_cli_vertex_400_fails_at_once_with_a_clear_message(tiny_dataset, server, tmp_path):
    server.requests.clear()
    server.script = [400]
    out = tmp_path / "feat"
    proc = run_cli(
        "embed", tiny_dataset, "--encoder", "vertex", "--out", out, "--cache-dir", tmp_path / "c",
        "--vertex-endpoint", server.url, "--vertex-concurrency", "1", "--quiet",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Vertex AI rejected the request (HTTP 400 INVALID_ARGUMENT)" in proc.stderr
    assert "not retried" in proc.stderr and "Traceback" not in proc.stderr
    assert len(server.requests) == 1 and not out.exists()


def test_core_modules_import_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, campaignlab.cli, campaignlab.features.embed, campaignlab.features.vertex, "
        "campaignlab.features.local\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'onnxruntime', 'google.genai')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
