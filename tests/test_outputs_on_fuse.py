"""The pipeline's commands publish their outputs on a mount that refuses folder renames, as Cloud Storage
FUSE does on a flat bucket (Vertex AI gives every step its artifacts as ``/gcs/BUCKET/...`` paths).

A real FUSE file system (``tests/fakes/flat_bucket_fuse.py``, fusepy over libfuse) is mounted for the
module; the real commands (generate, embed, train, evaluate, compare, partition) run in subprocesses and
write into it, and readers must refuse what a failed publication leaves behind.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaignlab.io import COMPLETE_MARKER, verify_output
from tests.conftest import run_cli
from tests.fakes.flat_bucket_fuse import FlatBucketMount

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlatBucketMount]:
    with FlatBucketMount(tmp_path_factory.mktemp("fuse")) as mount:
        yield mount


def leftovers(folder: Path) -> list[str]:
    """Staging folders (``.NAME.tmp-*``, ``.NAME.old-*``) a publication left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_the_mount_refuses_folder_renames_as_gcsfuse_does(bucket: FlatBucketMount) -> None:
    root = bucket.mountpoint / "probe"
    (root / "full").mkdir(parents=True)
    (root / "full" / "f.txt").write_text("x")
    with pytest.raises(OSError) as err:
        os.rename(root / "full", root / "renamed")
    assert err.value.errno == errno.EMFILE  # gcsfuse: "too many objects to be renamed"
    os.rename(root / "full" / "f.txt", root / "g.txt")  # a file rename works (copy + delete)
    os.rename(root / "full", root / "empty-renamed")  # so does an empty folder's
    assert (bucket.backing / "probe" / "g.txt").read_text() == "x"


def test_pipeline_steps_publish_their_outputs_into_the_mount(bucket: FlatBucketMount, tmp_path: Path) -> None:
    gcs = bucket.mountpoint / "run1"
    gcs.mkdir()
    data, feats = gcs / "data", gcs / "features"
    run_cli("generate", "--preset", "v25", "--scale", "0.005", "--seed", "7", "--out", data, "--quiet",
            check=True)  # fmt: skip
    run_cli("verify", data, check=True)
    run_cli("embed", data, "--out", feats, "--encoder", "local", "--cache-dir", tmp_path / "cache",
            "--quiet", check=True)  # fmt: skip
    small = {
        "hierarchical_lgbm": {"stage1_n_estimators": 20, "stage2_n_estimators": 20, "stage1_num_leaves": 7,
                              "stage2_num_leaves": 7},
        "robust_modality": {"max_epochs": 2, "batch_size": 64, "proj_hidden": 32, "head_hidden": 32},
    }  # fmt: skip
    for model, params in small.items():
        config = tmp_path / f"{model}.yaml"
        config.write_text(json.dumps({"params": params}))  # JSON is YAML
        run_cli("train", "--model", model, "--features", feats, "--out", gcs / f"model-{model}",
                "--threads", "1", "--config", config, check=True)  # fmt: skip
        run_cli("evaluate", "--model", gcs / f"model-{model}", "--features", feats,
                "--out", gcs / f"eval-{model}", check=True)  # fmt: skip
    run_cli("compare", "--metrics", f"lgbm={gcs / 'eval-hierarchical_lgbm'}",
            "--model", f"lgbm={gcs / 'model-hierarchical_lgbm'}",
            "--metrics", f"rm={gcs / 'eval-robust_modality'}",
            "--model", f"rm={gcs / 'model-robust_modality'}",
            "--out", gcs / "comparison", "--model-out", gcs / "best", check=True)  # fmt: skip
    run_cli("partition", feats, "--num-clients", "2", "--out", gcs / "partitions", check=True)

    outputs = [data, feats, *(gcs / f"{k}-{m}" for k in ("model", "eval")
               for m in ("hierarchical_lgbm", "robust_modality")),
               gcs / "comparison", gcs / "best", gcs / "partitions" / "homogeneous_2clients"]  # fmt: skip
    for out in outputs:
        assert (out / COMPLETE_MARKER).is_file(), out
        assert verify_output(out) == [], out
    # Every output went the file-by-file way (the mount refused each folder rename) and left nothing.
    assert leftovers(gcs) == [] and leftovers(gcs / "partitions") == []
    best = json.loads((gcs / "best" / "selected.json").read_text())["name"]
    assert best in ("lgbm", "rm")

    # Overwriting a published output on the mount: the old files go, the new ones are complete.
    old = json.loads((data / COMPLETE_MARKER).read_text())
    (data / "stray.txt").write_text("from an earlier run")
    run_cli("generate", "--preset", "v25", "--scale", "0.005", "--seed", "8", "--out", data, "--quiet",
            check=True)  # fmt: skip
    new = json.loads((data / COMPLETE_MARKER).read_text())
    assert new["files"]["samples.parquet"] != old["files"]["samples.parquet"]
    assert not (data / "stray.txt").exists() and verify_output(data) == [] and leftovers(gcs) == []


def test_a_failed_publication_leaves_a_folder_every_reader_refuses(
    bucket: FlatBucketMount, tiny_dataset: Path, tmp_path: Path
) -> None:
    import shutil

    gcs = bucket.mountpoint / "run2"
    data, feats = gcs / "data", gcs / "features"
    shutil.copytree(tiny_dataset, data)
    embed = ["embed", data, "--out", feats, "--encoder", "local", "--cache-dir", tmp_path / "cache",
             "--quiet"]  # fmt: skip
    run_cli(*embed, check=True)
    assert verify_output(feats) == []

    # The bucket fails while the new features are moved in: features.parquet has landed, manifest.json not.
    bucket.fail_moves_of("manifest.json")
    try:
        proc = run_cli(*embed)
    finally:
        bucket.fail_moves_of("")
    assert proc.returncode != 0
    assert "left without _COMPLETE.json" in proc.stderr  # the note on the I/O error
    assert sorted(p.name for p in feats.iterdir()) == ["features.parquet"]  # half a folder
    assert leftovers(gcs) == []

    # Every reader of a features folder refuses it, naming the folder and the missing marker.
    for cmd in (
        ["train", "--model", "hierarchical_lgbm", "--features", feats, "--out", gcs / "model"],
        ["partition", feats, "--num-clients", "2", "--out", gcs / "partitions"],
    ):
        proc = run_cli(*cmd)
        assert proc.returncode == 2, proc.stderr
        assert f"features folder '{feats}' is incomplete" in proc.stderr, proc.stderr
        assert COMPLETE_MARKER in proc.stderr and "Traceback" not in proc.stderr
    assert not (gcs / "model").exists() and not (gcs / "partitions").exists()

    # A marker whose files are not all there is refused too, naming the missing file.
    run_cli(*embed, check=True)
    (feats / "features.parquet").unlink()
    proc = run_cli("train", "--model", "hierarchical_lgbm", "--features", feats, "--out", gcs / "model")
    assert proc.returncode == 2
    assert "features.parquet listed in _COMPLETE.json is missing" in proc.stderr
