"""Store, migrations, tokens and version registration on a real SQLite file (no server)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaignlab.errors import ConfigError, DataError
from campaignlab.leaderboard.public import version_view
from campaignlab.leaderboard.store import Store, metadata
from campaignlab.leaderboard.versions import register_version, split_file
from tests.conftest import run_cli
from tests.leaderboard.conftest import answer_labels, make_features


def test_migrations_build_exactly_the_models_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = Store(f"sqlite:///{tmp_path / 'lb.db'}")
    assert store.migrate() == "0003"
    assert store.migrate() == "0003"  # idempotent
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    with sqlite3.connect(tmp_path / "lb.db") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_tokens_are_stored_hashed_and_can_be_revoked(tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    token = run_cli(
        "leaderboard", "create-token", "--db", db, "--researcher", "alice", check=True
    ).stdout.strip()
    assert token.startswith("clb_") and len(token) > 40
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("lb.db-*"))
    assert token.encode() not in raw  # only the sha256 is kept
    store = Store(f"sqlite:///{db}")
    who = store.authenticate(token)
    assert who is not None and who.name == "alice"
    assert store.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert (
        run_cli("leaderboard", "revoke-tokens", "--db", db, "--researcher", "alice", check=True).returncode
        == 0
    )
    assert store.authenticate(token) is None
    bad = run_cli("leaderboard", "create-token", "--db", db, "--researcher", "no spaces please")
    assert bad.returncode == 2 and "researcher" in bad.stderr


def test_version_files_hide_test_labels(tiny_dataset: Path, lb_features: Path, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'lb.db'}")
    store.migrate()
    reg = register_version(
        store, tmp_path / "data", "v25", tiny_dataset, lb_features, allow_guessable_seed=True
    )
    v = reg.version
    truth = answer_labels(tiny_dataset)
    assert reg.created and v.n_test == truth.num_rows and v.has_features
    test_raw = pq.read_table(split_file(tmp_path / "data", v, "test", "raw"))
    assert test_raw.column_names == ["sample_id", "split", "audience", "brand", "creative", "platform", "geo"]
    assert test_raw["sample_id"].to_pylist() == truth["sample_id"].to_pylist()
    test_feat = pq.read_table(split_file(tmp_path / "data", v, "test", "features"))
    assert "label" not in test_feat.column_names and "audience" in test_feat.column_names
    train = pq.read_table(split_file(tmp_path / "data", v, "train", "raw"))
    assert {"label", "pos_frac", "audience_nodes"} <= set(train.column_names)
    assert set(train["split"].to_pylist()) == {"train"}
    # Nothing in the data folder holds the test labels; the answer key is in the database only.
    key = store.answer_key(v)
    assert key.ids.to_pylist() == truth["sample_id"].to_pylist()
    assert key.labels.tolist() == truth["label"].to_pylist()
    # The public part: half of each class, drawn server-side; published: its size, never its members.
    assert v.n_public == key.public.sum() and abs(v.n_public - v.n_test / 2) <= 3
    for c in (0, 1, 2):
        in_class = key.labels == c
        assert abs(key.public[in_class].sum() - in_class.sum() / 2) <= 0.5
    # Nothing published hashes a file that holds the test labels; content_hash covers the served files.
    import hashlib

    published = json.dumps(version_view(v, 4, 5))
    for f in (tiny_dataset / "samples.parquet", lb_features / "features.parquet"):
        assert hashlib.sha256(f.read_bytes()).hexdigest() not in published
    assert "seed" not in published and v.info["labels_reconstructible"] is True
    served = {k: hashlib.sha256(split_file(tmp_path / "data", v, *k.split("/")).read_bytes()).hexdigest()
              for k in ("train/raw", "test/raw", "train/features", "test/features")}  # fmt: skip
    assert v.info["file_sha256"] == served
    h = hashlib.sha256()
    for k in sorted(served):
        h.update(f"{k}\0{served[k]}\n".encode())
    assert v.content_hash == h.hexdigest()


def test_add_version_refuses_a_guessable_seed(tiny_dataset: Path, tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    refused = run_cli("leaderboard", "add-version", "v25", "--db", db, "--dataset", tiny_dataset)
    assert refused.returncode == 2
    assert "seed 42 is guessable" in refused.stderr and "secrets.randbits(128)" in refused.stderr
    assert not (tmp_path / "lb.db.data" / "versions").exists()
    allowed = run_cli(
        "leaderboard", "add-version", "v25", "--db", db, "--dataset", tiny_dataset, "--allow-guessable-seed"
    )
    assert allowed.returncode == 0 and "labels can be rebuilt" in allowed.stderr


def test_versions_are_immutable(tiny_dataset: Path, tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    add = ("leaderboard", "add-version", "v25", "--db", db, "--allow-guessable-seed")
    first = run_cli(*add, "--dataset", tiny_dataset, check=True)
    assert "registered" in first.stdout
    store = Store(f"sqlite:///{db}")
    again = register_version(store, Path(f"{db}.data"), "v25", tiny_dataset, allow_guessable_seed=True)
    assert not again.created and (again.version.content_hash or "")[:12] in first.stdout
    changed = tmp_path / "changed"
    shutil.copytree(tiny_dataset, changed)
    t = pq.read_table(changed / "samples.parquet")
    t = t.set_column(t.column_names.index("brand"), "brand", pa.array(["edited"] * t.num_rows))
    pq.write_table(t, changed / "samples.parquet")
    clash = run_cli(*add, "--dataset", changed)
    assert clash.returncode == 2 and "already registered with other content" in clash.stderr
    assert register_version(
        store, Path(f"{db}.data"), "v25-edited", changed, allow_guessable_seed=True
    ).created
    assert [v.name for v in store.list_versions()] == ["v25", "v25-edited"]


def test_features_must_match_the_dataset(tiny_dataset: Path, tmp_path: Path) -> None:
    feats = make_features(tiny_dataset, tmp_path / "feat")
    t = pq.read_table(feats / "features.parquet")
    flipped = pa.array([(v + 1) % 3 for v in t["label"].to_pylist()], pa.int8())
    pq.write_table(t.set_column(t.column_names.index("label"), "label", flipped), feats / "features.parquet")
    store = Store(f"sqlite:///{tmp_path / 'lb.db'}")
    store.migrate()
    with pytest.raises(DataError, match="differ from"):
        register_version(store, tmp_path / "data", "v25", tiny_dataset, feats, allow_guessable_seed=True)
    assert store.find_version("v25") is None and not (tmp_path / "data" / "versions").exists()
    with pytest.raises(DataError, match="does not exist"):
        register_version(store, tmp_path / "data", "v25", tmp_path / "nowhere")


def test_non_sqlite_database_needs_a_data_dir() -> None:
    from campaignlab.leaderboard.config import default_data_dir

    with pytest.raises(ConfigError, match="--data-dir"):
        default_data_dir("postgresql+psycopg://u:secret@db/lb", None)
    assert default_data_dir("sqlite:////srv/lb.db", None) == Path("/srv/lb.db.data")
