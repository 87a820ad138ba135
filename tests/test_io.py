"""Publishing output folders on a local disk (the folder-rename path) and what readers refuse.

The path without folder renames (Cloud Storage FUSE) runs on a real FUSE mount in
``tests/test_outputs_on_fuse.py``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from campaignlab.errors import DataError, IncompleteOutputError
from campaignlab.io import COMPLETE_MARKER, atomic_dir, require_complete, verify_output


def publish(out: Path, files: dict[str, bytes]) -> None:
    with atomic_dir(out) as tmp:
        for name, data in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)


def test_a_published_folder_carries_a_marker_listing_every_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, {"a.json": b"{}", "sub/b.bin": b"\x00" * 10})
    marker = json.loads((out / COMPLETE_MARKER).read_text())
    assert marker == {
        "format": "campaignlab-output/1",
        "complete": True,
        "files": {
            "a.json": {"bytes": 2, "sha256": hashlib.sha256(b"{}").hexdigest()},
            "sub/b.bin": {"bytes": 10, "sha256": hashlib.sha256(b"\x00" * 10).hexdigest()},
        },
    }
    assert require_complete(out, needs=("a.json",))["files"].keys() == {"a.json", "sub/b.bin"}
    assert verify_output(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left
    first = (out / COMPLETE_MARKER).read_bytes()
    publish(tmp_path / "again", {"a.json": b"{}", "sub/b.bin": b"\x00" * 10})
    assert (tmp_path / "again" / COMPLETE_MARKER).read_bytes() == first  # deterministic bytes


def test_overwriting_replaces_the_whole_folder_and_a_failure_keeps_the_old_one(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, {"old.txt": b"old", "keep.txt": b"1"})
    publish(out, {"keep.txt": b"2"})
    assert sorted(p.name for p in out.iterdir()) == [COMPLETE_MARKER, "keep.txt"]
    assert (out / "keep.txt").read_bytes() == b"2"
    with pytest.raises(RuntimeError, match="boom"), atomic_dir(out) as tmp:
        (tmp / "keep.txt").write_bytes(b"3")
        raise RuntimeError("boom")
    assert (out / "keep.txt").read_bytes() == b"2" and verify_output(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_readers_refuse_incomplete_folders_naming_the_folder_and_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"features folder .*nowhere.* does not exist"):
        require_complete(tmp_path / "nowhere", "features folder")

    half = tmp_path / "half"
    half.mkdir()
    (half / "features.parquet").write_bytes(b"x")
    with pytest.raises(IncompleteOutputError) as err:
        require_complete(half, "features folder")
    msg = str(err.value)
    assert str(half) in msg and COMPLETE_MARKER in msg and "incomplete" in msg
    assert "features.parquet" in msg  # what it does hold

    out = tmp_path / "out"
    publish(out, {"features.parquet": b"x", "manifest.json": b"{}"})
    (out / "features.parquet").unlink()
    listed = r"features\.parquet listed in _COMPLETE\.json is missing"
    with pytest.raises(IncompleteOutputError, match=listed):
        require_complete(out, "features folder")

    other = tmp_path / "other"
    publish(other, {"model.json": b"{}"})
    with pytest.raises(DataError, match=r"has no features\.parquet, manifest\.json \(it holds model\.json\)"):
        require_complete(other, "features folder", needs=("features.parquet", "manifest.json"))

    (other / COMPLETE_MARKER).write_text("not json")
    with pytest.raises(IncompleteOutputError, match="is not a completion marker"):
        require_complete(other)


def test_verify_output_reports_changed_and_extra_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(out, {"a.txt": b"abc", "b.txt": b"xyz"})
    (out / "a.txt").write_bytes(b"abcd")
    (out / "b.txt").write_bytes(b"XYZ")
    (out / "c.txt").write_bytes(b"")
    assert verify_output(out) == [
        "a.txt: 4 bytes, published 3",
        "b.txt: content differs from the published SHA-256",
        "c.txt: not part of the published output",
    ]


def test_commands_refuse_an_incomplete_input_with_exit_2(tmp_path: Path, tiny_dataset: Path) -> None:
    """A dataset folder whose marker is gone (as after a failed publication) is refused by embed."""
    import shutil

    from tests.conftest import run_cli

    half = tmp_path / "data"
    shutil.copytree(tiny_dataset, half)
    (half / COMPLETE_MARKER).unlink()
    proc = run_cli("embed", half, "--out", tmp_path / "features", "--encoder", "local", "--quiet")
    assert proc.returncode == 2, proc.stderr
    assert f"dataset folder '{half}' is incomplete" in proc.stderr and COMPLETE_MARKER in proc.stderr
    assert not (tmp_path / "features").exists()
