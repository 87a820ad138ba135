"""A database made by the release before the migrations 0002/0003 upgrades in place, scores intact.

The old database is made by the old code itself: ``campaignlab/`` as of :data:`RELEASE` (git archive),
run in a subprocess whose working directory puts that copy first on ``sys.path``. It registers a
version (the old way: seed and label-file hashes published) and stores three scored submissions. The
new code then migrates it through the real CLI and the stored values are checked one by one.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import f1_score

from campaignlab.leaderboard.public import submission_view, version_view
from campaignlab.leaderboard.scoring import Predictions, check_and_score
from campaignlab.leaderboard.store import Store
from tests.conftest import REPO, run_cli
from tests.leaderboard.conftest import answer_labels

RELEASE = "c8eaf497dcff0246b23c7ee1594fac6ca552e7af"  # main before issues 13/17 reached the leaderboard

OLD_RELEASE_SCRIPT = r"""
import io, json, sys
from pathlib import Path
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
import campaignlab
from campaignlab.leaderboard.store import Store
from campaignlab.leaderboard.versions import register_version
from campaignlab.leaderboard.scoring import check_and_score, read_predictions

db, dataset = Path(sys.argv[1]), Path(sys.argv[2])
store = Store(f"sqlite:///{db}")
store.migrate()
version = register_version(store, Path(f"{db}.data"), "v25", dataset).version
who = store.authenticate(store.create_token("alice"))
key = store.answer_key(version)
out = {"code": campaignlab.__file__, "revision": store.revision(), "submissions": []}
for k in (0, 7, 40):
    pred = np.asarray(key.labels).copy()
    pred[:k] = (pred[:k] + 1) % 3
    buf = io.BytesIO()
    pq.write_table(pa.table({"sample_id": key.ids, "label": pa.array(pred, pa.int8())}), buf)
    scored = check_and_score(read_predictions(buf.getvalue()), key)
    blob = np.asarray(scored.predictions["label"], dtype=np.int8).tobytes()
    rec = store.add_submission(version=version, researcher=who, model=f"flip-{k}", scores=scored.scores,
                               n_rows=scored.n_rows, predictions=blob)
    out["submissions"].append({"id": rec["id"], "k": k, "scores": rec["scores"]})
out["public_info"] = version.public()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def old_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``campaignlab/`` of the release, unpacked from git into a folder of its own."""
    root = tmp_path_factory.mktemp("release")
    proc = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", RELEASE, "campaignlab"],
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, f"git archive {RELEASE} failed (a full clone is needed): {proc.stderr!r}"
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(root, filter="data")
    return root


def test_a_release_database_upgrades_in_place(old_release: Path, tiny_dataset: Path, tmp_path: Path) -> None:
    # Prepare: the release's own code makes the database (world-readable, as it did).
    db = tmp_path / "lb.db"
    old = subprocess.run(
        [sys.executable, "-c", OLD_RELEASE_SCRIPT, str(db), str(tiny_dataset)],
        cwd=old_release,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(old_release)},
        check=False,
    )
    assert old.returncode == 0, old.stderr
    made = json.loads(old.stdout.strip().splitlines()[-1])
    assert made["code"].startswith(str(old_release)) and made["revision"] == "0001"
    assert made["public_info"]["seed"] == 42  # what the release published
    os.chmod(db, 0o644)
    with sqlite3.connect(db) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(submissions)")]
    assert "weighted_f1" in cols and "priority_weighted_f1" not in cols

    # Execute: the new release's CLI opens it (any command migrates), then the store reads it.
    run_cli("leaderboard", "create-token", "--db", db, "--researcher", "bob", check=True)
    store = Store(f"sqlite:///{db}")

    # Assert: at head; the answer-key file is owner-only now.
    assert store.revision() == "0003"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    version = store.get_version("v25")
    truth = answer_labels(tiny_dataset)
    y = np.asarray(truth["label"], np.int8)
    for old_sub in made["submissions"]:
        new = store.get_submission(old_sub["id"])
        assert set(new["scores"]) == {"public"}  # the release scored the whole test split: all public
        s, was = new["scores"]["public"], old_sub["scores"]
        # renamed: the release's "weighted_f1" was the 0.5/0.4/0.1 score; kept to the last bit.
        assert s["priority_weighted_f1"] == was["weighted_f1"]
        for k in ("macro_f1", "f1_negative", "f1_average", "f1_positive", "accuracy"):
            assert s[k] == was[k], k
        # recomputed: weighted_f1 is now the support-weighted F1 of the stored predictions.
        pred = y.copy()
        pred[: old_sub["k"]] = (pred[: old_sub["k"]] + 1) % 3
        assert s["weighted_f1"] == pytest.approx(f1_score(y, pred, average="weighted"), abs=1e-12)
        if old_sub["k"]:
            assert s["weighted_f1"] != pytest.approx(s["priority_weighted_f1"], abs=1e-6)
        _owner, table = store.submission_predictions(old_sub["id"])
        assert table["label"].to_pylist() == pred.tolist()
        view = submission_view(new, version, 4)
        assert view["scores"]["priority_weighted_f1"] == round(was["weighted_f1"], 4)
        assert view["private_scores"] is None
    # The version: no seed, no hash of a label file published any more; flagged as reconstructible.
    public = version_view(version, 4, 5)
    text = json.dumps(public)
    assert "seed" not in public and "input_sha256" not in text
    for digest in made["public_info"]["input_sha256"].values():
        assert digest not in text
    assert made["public_info"]["content_hash"] not in text and public["content_hash"] is None
    assert public["labels_reconstructible"] is True and public["n_public"] == version.n_test
    key = store.answer_key(version)
    assert key.public.all() and key.labels.tolist() == y.tolist()
    # And the upgraded store keeps working: a new submission is scored, stored and ranked with the old.
    who = store.authenticate(store.create_token("carol"))
    assert who is not None
    scored = check_and_score(Predictions(key.ids, pa.array(y)), key)
    rec, replayed = store.add_submission(
        version=version, researcher=who, model="after-upgrade", scores=scored.scores,
        counts=scored.counts, n_rows=scored.n_rows, predictions=scored.predictions.tobytes(), daily_quota=5,
    )  # fmt: skip
    assert not replayed and rec["scores"]["public"]["macro_f1"] == 1.0
    assert [r["model"] for r in store.submissions_of(version)] == [
        "flip-0",
        "flip-7",
        "flip-40",
        "after-upgrade",
    ]
