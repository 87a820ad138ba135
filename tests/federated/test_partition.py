"""``campaignlab partition``: homogeneous and Dirichlet splits, files, heat map, folder checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from campaignlab.errors import ConfigError
from campaignlab.federated.partition import (
    PartitionConfig,
    dirichlet_indices,
    folder_name,
    homogeneous_indices,
    partition,
    resolve_partition,
)
from tests.conftest import run_cli


def test_homogeneous_cuts_each_label_equally():
    labels = np.array([0] * 10 + [1] * 7 + [2] * 5)
    parts = homogeneous_indices(labels, 3, seed=1)
    counts = np.array([[int((labels[p] == c).sum()) for c in range(3)] for p in parts])
    # Label 0: 10 rows -> 4,3,3; label 1: 7 -> 3,2,2; label 2: 5 -> 2,2,1 (np.array_split sizes).
    assert counts.tolist() == [[4, 3, 2], [3, 2, 2], [3, 2, 1]]
    allidx = np.concatenate(parts)
    assert sorted(allidx.tolist()) == list(range(len(labels)))  # disjoint and complete


def test_dirichlet_skew_depends_on_alpha():
    labels = np.repeat([0, 1, 2], 400)

    def spread(alpha: float) -> float:
        parts = dirichlet_indices(labels, 5, alpha, seed=3, min_per_client=5)
        assert sorted(np.concatenate(parts).tolist()) == list(range(len(labels)))
        shares = np.array([[np.mean(labels[p] == c) for c in range(3)] for p in parts])
        return float(np.abs(shares - 1 / 3).mean())

    assert spread(0.1) > 2 * spread(100.0)  # small alpha = strong label skew; large alpha ~ IID
    assert spread(100.0) < 0.05
    with pytest.raises(ConfigError, match="fewer than"):
        dirichlet_indices(np.repeat([0, 1, 2], 20), 6, 0.01, seed=0, min_per_client=9)


def test_partition_folder(fl_features: Path, tmp_path: Path):
    dest = partition(
        fl_features, PartitionConfig(num_clients=3, data_split="heterogeneous", alpha=0.5), tmp_path
    )
    assert dest.name == "heterogeneous_3clients_alpha0.5"
    files = sorted(p.name for p in dest.iterdir())
    assert files == [
        "_COMPLETE.json",
        "client_0.parquet",
        "client_1.parquet",
        "client_2.parquet",
        "label_heatmap.png",
        "manifest.json",
        "server_test.parquet",
    ]
    assert (dest / "label_heatmap.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    src = pq.read_table(fl_features / "features.parquet")
    clients = [pq.read_table(dest / f"client_{i}.parquet") for i in range(3)]
    test = pq.read_table(dest / "server_test.parquet")
    assert all(c.schema == src.schema for c in clients) and test.schema == src.schema
    ids = [sid for c in clients for sid in c.column("sample_id").to_pylist()]
    train_ids = [
        s
        for s, sp in zip(src.column("sample_id").to_pylist(), src.column("split").to_pylist(), strict=True)
        if sp == "train"
    ]
    assert sorted(ids) == sorted(train_ids) and len(set(ids)) == len(ids)
    assert set(test.column("split").to_pylist()) == {"test"}
    m = json.loads((dest / "manifest.json").read_text())
    assert (m["data_split"], m["num_clients"], m["alpha"], m["data_version"]) == (
        "heterogeneous",
        3,
        0.5,
        "tinyv25",
    )
    assert [sum(m["counts"][f"client {i}"]) for i in range(3)] == [c.num_rows for c in clients]
    # Same seed -> same bytes.
    again = partition(
        fl_features, PartitionConfig(num_clients=3, data_split="heterogeneous", alpha=0.5), tmp_path / "b"
    )
    assert (again / "client_1.parquet").read_bytes() == (dest / "client_1.parquet").read_bytes()


def test_partition_cli_and_resolve(fl_features: Path, tmp_path: Path):
    out = tmp_path / "parts"
    proc = run_cli(
        "partition", fl_features, "--num-clients", "2", "--data-split", "homogeneous", "--out", out
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "homogeneous_2clients" / "client_1.parquet").is_file()
    counts = json.loads((out / "homogeneous_2clients" / "manifest.json").read_text())["counts"]
    assert all(abs(a - b) <= 1 for a, b in zip(counts["client 0"], counts["client 1"], strict=True))
    bad = run_cli(
        "partition", fl_features, "--num-clients", "2", "--data-split", "heterogeneous", "--out", out
    )
    assert bad.returncode == 2 and "alpha" in bad.stderr

    ok = resolve_partition(out, data_split="homogeneous", num_clients=2, alpha=0.1, data_version="tinyv25")
    assert ok == out / "homogeneous_2clients"
    with pytest.raises(ConfigError, match=r"data_split.*heterogeneous_2clients_alpha0\.3.*does not exist"):
        resolve_partition(out, data_split="heterogeneous", num_clients=2, alpha=0.3, data_version="tinyv25")
    with pytest.raises(ConfigError, match="num_clients"):
        resolve_partition(out, data_split="homogeneous", num_clients=4, alpha=0.1, data_version="tinyv25")
    with pytest.raises(ConfigError, match=r"general\.data_version: config 'V28_noise_0_percent'"):
        resolve_partition(
            out, data_split="homogeneous", num_clients=2, alpha=0.1, data_version="V28_noise_0_percent"
        )
    # Pointing at the folder itself: its manifest must agree with the config.
    with pytest.raises(ConfigError, match=r"general\.data_split: config 'heterogeneous'"):
        resolve_partition(
            out / "homogeneous_2clients",
            data_split="heterogeneous",
            num_clients=2,
            alpha=0.1,
            data_version="tinyv25",
        )
    het = partition(fl_features, PartitionConfig(num_clients=2, data_split="heterogeneous", alpha=0.5), out)
    with pytest.raises(ConfigError, match=r"general\.alpha: config 0\.9 but partition .* used alpha 0\.5"):
        resolve_partition(het, data_split="heterogeneous", num_clients=2, alpha=0.9, data_version="tinyv25")
    assert folder_name("homogeneous", 5) == "homogeneous_5clients"
