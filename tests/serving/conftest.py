"""Fixtures of the serving tests: small trained models of every family and raw campaigns to score."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO

QUICK_PARAMS: dict[str, dict[str, Any]] = {
    "hierarchical_lgbm": {"stage1_n_estimators": 40, "stage2_n_estimators": 40, "stage1_num_leaves": 15,
                          "stage2_num_leaves": 15, "n_jobs": 1},
    "shared_latent": {"size": "small", "max_epochs": 6, "batch_size": 64, "n_jobs": 1},
    "robust_modality": {"proj_hidden": 64, "proj_dim": 32, "head_hidden": 64, "max_epochs": 6,
                        "batch_size": 64, "n_jobs": 1},
}  # fmt: skip
"""Seconds per model on 2 shared cores: enough to be far from chance on tiny_dataset."""


@pytest.fixture(scope="session")
def embed_cache(tiny_features: Path) -> Path:
    """The embedding cache tiny_features was made with (see tests/conftest.py)."""
    return tiny_features.parent / "cache"


@pytest.fixture(scope="session")
def models(tiny_features: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One trained model folder per family, trained on tiny_features by ``train`` (recipe included)."""
    from campaignlab.models.commands import TrainConfig, train

    root = tmp_path_factory.mktemp("models")
    out = {}
    for name, params in QUICK_PARAMS.items():
        out[name] = root / name
        train(TrainConfig(model=name, features=tiny_features, out=out[name], params=params, seed=1))
    return out


def raw_campaigns(dataset: Path, n: int | None = None) -> list[dict[str, Any]]:
    """The test split of a dataset as raw campaigns (no label), geo as one ';'-delimited string."""
    t = pq.read_table(dataset / "samples.parquet").to_pylist()
    rows = [
        {"campaign_id": r["sample_id"], "audience": r["audience"], "brand": r["brand"],
         "creative": r["creative"], "platform": r["platform"], "geo": ";".join(r["geo"])}
        for r in t if r["split"] == "test"
    ]  # fmt: skip
    return rows[:n] if n else rows


BROKEN_ROWS = [
    # (row, field, reason) each must be reported with
    ({"campaign_id": "bad-brand", "audience": "Men, 18-24", "brand": "  ", "creative": "A video.",
      "platform": "TikTok", "geo": "10001"}, "brand", "empty_text"),
    ({"campaign_id": "bad-zip", "audience": "Men, 18-24", "brand": "A brand.", "creative": "A video.",
      "platform": "TikTok", "geo": "10001;ABCDE"}, "geo", "malformed_zip"),
    ({"campaign_id": "", "audience": "Men, 18-24", "brand": "A brand.", "creative": "A video.",
      "platform": "TikTok", "geo": "10001"}, "campaign_id", "missing_id"),
]  # fmt: skip


@pytest.fixture(scope="session")
def campaigns_csv(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 test-split campaigns of tiny_dataset, then three broken rows and a repeated id, as a CSV."""
    rows = raw_campaigns(tiny_dataset, 40)
    broken = [r for r, _, _ in BROKEN_ROWS] + [dict(rows[0])]  # the last one repeats an id
    path = tmp_path_factory.mktemp("campaigns") / "new_campaigns.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows + broken)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    """One ``campaignlab serve`` process on 127.0.0.1."""

    port: int
    log: Path
    proc: subprocess.Popen
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_service(
    model: Path | str, log: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
    health: str = "/health", timeout: float = 180.0, flag: str = "--model",
) -> Service:  # fmt: skip
    """Start ``campaignlab serve --model MODEL`` (or ``FLAG MODEL``) and wait until it answers."""
    port = free_port()
    full_env = {**os.environ, "AIP_HTTP_PORT": str(port), **(env or {})}
    fh = log.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "campaignlab", "serve", flag, str(model), "--host", "127.0.0.1", *args],
        cwd=REPO, env=full_env, stdout=fh, stderr=subprocess.STDOUT,
    )  # fmt: skip
    svc = Service(port, log, proc, full_env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(svc.url + health, timeout=2).status_code == 200:
                return svc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    svc.stop()
    raise AssertionError(f"serve did not become healthy in {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def service(
    models: dict[str, Path], embed_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The robust_modality model served with Vertex's variables (custom routes), small limits."""
    env = {
        "AIP_HEALTH_ROUTE": "/v1/health",
        "AIP_PREDICT_ROUTE": "/v1/endpoints/e1/deployedModels/d1:predict",
    }
    svc = start_service(
        models["robust_modality"], tmp_path_factory.mktemp("serve") / "serve.log", env=env,
        health="/v1/health",
        args=("--cache-dir", str(embed_cache), "--max-instances", "64", "--max-body-bytes", "200000",
              "--threads", "1"),
    )  # fmt: skip
    yield svc
    svc.stop()
