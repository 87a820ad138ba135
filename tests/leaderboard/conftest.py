"""A real leaderboard: `campaignlab leaderboard serve` as a uvicorn process on 127.0.0.1, SQLite file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from campaignlab.leaderboard.store import Store
from campaignlab.leaderboard.versions import register_version
from tests.conftest import REPO

MAX_UPLOAD_MB = 0.25  # small, so the oversize test sends little


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answer_labels(dataset: Path) -> pa.Table:
    """(sample_id, label) of the dataset's test split: what the server must keep secret."""
    t = pq.read_table(dataset / "samples.parquet", columns=["sample_id", "split", "label"])
    return t.filter(pc.equal(t["split"], "test")).select(["sample_id", "label"])


def write_predictions(path: Path, sample_ids: list[str], labels: np.ndarray, fmt: str = "parquet") -> Path:
    if fmt == "csv":
        rows = "".join(f"{s},{int(v)}\n" for s, v in zip(sample_ids, labels, strict=True))
        path.write_text("sample_id,label\n" + rows)
    else:
        n = len(sample_ids)
        pq.write_table(
            pa.table(
                {
                    "sample_id": pa.array(sample_ids, pa.string()),
                    "label": pa.array(labels, pa.int8()),
                    "prob_0": pa.array(np.full(n, 0.2), pa.float32()),  # ignored by the server
                }
            ),
            path,
        )
    return path


@dataclass
class Server:
    """One `campaignlab leaderboard serve` process; restartable on the same database and port."""

    root: Path
    db: Path
    port: int
    tokens: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    logs: list[Path] = field(default_factory=list)
    serve_args: list[str] = field(default_factory=list)  # replaces --db DB (e.g. a PostgreSQL URL)
    # The shared fixture lifts the quota and lowers the upload limit; test_attacks.py serves the defaults.
    extra_args: list[str] = field(
        default_factory=lambda: ["--daily-quota", "1000", "--max-upload-mb", str(MAX_UPLOAD_MB)]
    )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.root / f"server-{len(self.logs)}.log"
        self.logs.append(log)
        db_args = self.serve_args or ["--db", str(self.db)]
        cmd = [sys.executable, "-m", "campaignlab", "leaderboard", "serve", *db_args]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), *self.extra_args]
        with log.open("wb") as fh:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, env=os.environ.copy()
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not come up:\n{log.read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None

    def client(self, researcher: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[researcher]}"} if researcher else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs)

    def public_mask(self, version: str = "v25") -> np.ndarray:
        """The secret public part of a version's test split (answer-key order), read from the database."""
        store = Store(f"sqlite:///{self.db}")
        try:
            return store.answer_key(store.get_version(version)).public
        finally:
            store.dispose()


def expected_scores(y_true: np.ndarray, y_pred: np.ndarray, decimals: int = 4) -> dict[str, float]:
    """The scores worked out with scikit-learn directly (not campaignlab's code), rounded as served."""
    from sklearn.metrics import accuracy_score, f1_score

    neg, avg, pos = f1_score(y_true, y_pred, labels=[0, 1, 2], average=None, zero_division=0)
    exact = {
        "macro_f1": (neg + avg + pos) / 3,
        "f1_negative": neg,
        "f1_average": avg,
        "f1_positive": pos,
        "weighted_f1": f1_score(y_true, y_pred, labels=[0, 1, 2], average="weighted", zero_division=0),
        "priority_weighted_f1": 0.5 * pos + 0.4 * neg + 0.1 * avg,
        "accuracy": accuracy_score(y_true, y_pred),
    }
    return {k: round(float(v), decimals) for k, v in exact.items()}


def make_features(dataset: Path, out: Path, dim: int = 4) -> Path:
    """A features folder in the embed step's contract (tiny vectors; the server only copies them)."""
    t = pq.read_table(dataset / "samples.parquet", columns=["sample_id", "split", "label", "platform"])
    n = t.num_rows
    rng = np.random.default_rng(0)
    cols: dict[str, pa.Array] = {
        "sample_id": t["sample_id"].combine_chunks(),
        "split": t["split"].combine_chunks(),
        "label": t["label"].combine_chunks(),
    }
    for m in ("audience", "brand", "creative", "geo", "platform"):
        flat = pa.array(rng.normal(size=n * dim).astype(np.float32))
        cols[m] = pa.FixedSizeListArray.from_arrays(flat, dim)
    cols["platform_code"] = pa.array(np.zeros(n, np.int32))
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), out / "features.parquet")
    (out / "manifest.json").write_text("{}\n")
    return out


@pytest.fixture(scope="session")
def lb_features(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_features(tiny_dataset, tmp_path_factory.mktemp("lbfeat") / "features")


@pytest.fixture(scope="session")
def server(tiny_dataset: Path, lb_features: Path, tmp_path_factory: pytest.TempPathFactory):
    """Version v25 (texts + features) registered with the CLI; researchers alice, bob, carol."""
    root = tmp_path_factory.mktemp("leaderboard")
    db = root / "lb.db"
    # In-process set-up (the CLI commands doing the same are tested in test_store.py).
    store = Store(f"sqlite:///{db}")
    store.migrate()
    # tiny_dataset has the default seed 42: the version is flagged labels_reconstructible (the blind
    # set-up with a secret seed is tested in test_attacks.py).
    register_version(store, Path(f"{db}.data"), "v25", tiny_dataset, lb_features, allow_guessable_seed=True)
    srv = Server(root, db, free_port())
    srv.tokens = {name: store.create_token(name) for name in ("alice", "bob", "carol")}
    store.dispose()
    srv.start()
    yield srv
    srv.kill(signal.SIGTERM)
