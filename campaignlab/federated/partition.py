"""Split a features folder's training rows across federated clients (``campaignlab partition``).

* **homogeneous**: rows are grouped by label and each label's (shuffled) rows are cut into
  ``num_clients`` equal segments, so every client has the global class proportions (the report's IID-like
  split).
* **heterogeneous**: for each class, the clients' shares are drawn from ``Dirichlet(alpha, ..., alpha)``
  and the class's rows are cut at those shares (label skew; small ``alpha`` = extreme skew). Draws are
  repeated (up to 100 times) until every client holds at least ``min_per_client`` rows.

The output folder ``<out>/<split>_<N>clients[_alpha<A>]`` holds ``client_<i>.parquet`` (features schema),
``server_test.parquet`` (the test rows), ``label_heatmap.png`` and ``manifest.json``; with
``reference_rows`` N, a stratified N of the test rows go to ``server_reference.parquet`` instead (the
server's reference set for ``server.reference_check``; never scored).

We do not use flwr-datasets' partitioners: flwr-datasets 0.6 needs ``datasets`` 4.x, whose pins would
downgrade ``huggingface_hub`` (2.4 -> 1.x) and ``fsspec`` under sentence-transformers/transformers
used by ``campaignlab embed``; and its ``IidPartitioner`` does not split per label as the report does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field, ValidationInfo, field_validator

from campaignlab import LABEL_NAMES, MODALITIES
from campaignlab.config import StrictModel
from campaignlab.errors import ConfigError, DataError
from campaignlab.io import atomic_dir, read_json, require_complete, write_json, write_parquet

PARTITION_KIND = "campaignlab-partition"
MANIFEST = "manifest.json"
SERVER_TEST = "server_test.parquet"
SERVER_REFERENCE = "server_reference.parquet"
HEATMAP = "label_heatmap.png"


NO_OWNER = "(no owner)"
"""The client of the training rows without an owner in a ``by="owner"`` partition."""


class PartitionConfig(StrictModel):
    """Options of ``campaignlab partition``.

    ``by="owner"``: one client per data owner (the features' ``owner`` column, from an ingested dataset),
    the natural federated split; ``num_clients`` is then the number of owners and ``data_split`` is "owner".
    """

    by: Literal["label", "owner"] = "label"
    num_clients: int = Field(5, ge=1, le=1000)
    data_split: Literal["homogeneous", "heterogeneous", "owner"] = "homogeneous"
    alpha: float | None = Field(
        None, gt=0, validate_default=True, description="Dirichlet concentration (heterogeneous only)"
    )
    seed: int = Field(42, ge=0)
    min_per_client: int = Field(10, ge=1, description="heterogeneous: fewest rows a client may get")
    data_version: str | None = Field(None, description="name recorded for the data (default: folder name)")
    reference_rows: int = Field(
        0,
        ge=0,
        description="test rows moved to server_reference.parquet (the reference check's rows; not scored)",
    )

    @field_validator("alpha")
    @classmethod
    def _alpha(cls, v: float | None, info: ValidationInfo) -> float | None:
        split = info.data.get("data_split")
        if split == "heterogeneous" and v is None:
            raise ValueError("data_split 'heterogeneous' needs --alpha (Dirichlet concentration, e.g. 0.5)")
        return v if split == "heterogeneous" else None  # alpha means nothing for the homogeneous split


def folder_name(split: str, num_clients: int, alpha: float | None = None) -> str:
    """``homogeneous_5clients``, ``heterogeneous_5clients_alpha0.1`` or ``owner_4clients``."""
    name = f"{split}_{num_clients}clients"
    if split == "heterogeneous":
        if alpha is None:
            raise ConfigError("a heterogeneous partition needs alpha")
        name += f"_alpha{alpha:g}"
    return name


def homogeneous_indices(labels: np.ndarray, num_clients: int, seed: int) -> list[np.ndarray]:
    """Per label, shuffle that label's rows and cut them into ``num_clients`` equal segments."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        for i, seg in enumerate(np.array_split(idx, num_clients)):
            parts[i].append(seg)
    return [np.sort(np.concatenate(p)) if p else np.empty(0, np.int64) for p in parts]


def dirichlet_indices(
    labels: np.ndarray, num_clients: int, alpha: float, seed: int, min_per_client: int = 10
) -> list[np.ndarray]:
    """Per class, client shares ~ Dirichlet(alpha); redraw until each client has ``min_per_client`` rows."""
    if len(labels) < num_clients * min_per_client:
        raise ConfigError(
            f"num_clients: {num_clients} clients x min_per_client {min_per_client} rows need "
            f"{num_clients * min_per_client} training rows, the data has {len(labels)}"
        )
    rng = np.random.default_rng(seed)
    for _ in range(100):
        parts: list[list[np.ndarray]] = [[] for _ in range(num_clients)]
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            shares = rng.dirichlet(np.full(num_clients, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(idx)).astype(int)
            for i, seg in enumerate(np.split(idx, cuts)):
                parts[i].append(seg)
        out = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(p) for p in out) >= min_per_client:
            return out
    raise ConfigError(
        f"alpha: {alpha} with {num_clients} clients left a client with fewer than {min_per_client} rows "
        "in 100 Dirichlet draws; raise alpha, lower --num-clients or --min-per-client"
    )


def label_counts(labels: np.ndarray) -> list[int]:
    return [int((labels == c).sum()) for c in range(len(LABEL_NAMES))]


def heatmap_png(counts: dict[str, list[int]], title: str, out: Path) -> None:
    """Heat map of label counts (rows: clients and the server test set; columns: classes)."""
    from campaignlab.evaluation.plots import _pyplot

    plt = _pyplot()
    rows = list(counts)
    mat = np.array([counts[r] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(5.5, 1.2 + 0.42 * len(rows)), dpi=110)
    im = ax.imshow(mat, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(LABEL_NAMES)), [n.capitalize() for n in LABEL_NAMES])
    ax.set_yticks(range(len(rows)), rows)
    hi = mat.max() if mat.size else 1.0
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            ax.text(
                j,
                i,
                f"{int(mat[i, j])}",
                ha="center",
                va="center",
                color="black" if mat[i, j] > 0.6 * hi else "white",
                fontsize=8,
            )
    fig.colorbar(im, ax=ax, label="samples")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)


def partition(features_dir: str | Path, cfg: PartitionConfig, out: str | Path) -> Path:
    """Partition ``features_dir`` and write the partition folder under ``out``; return its path.

    Raises:
        DataError: the features folder does not follow the features.parquet contract.
        ConfigError: the split cannot give every client data.
    """
    from campaignlab.features.table import read_features

    features_dir = Path(features_dir)
    table, fmanifest = read_features(features_dir)
    split = np.asarray(table.column("split").to_pylist(), dtype=object)
    labels = table.column("label").to_numpy().astype(np.int64)
    train_idx = np.flatnonzero(split == "train")
    test_idx = np.flatnonzero(split == "test")
    if len(train_idx) < cfg.num_clients:
        raise ConfigError(
            f"num_clients: {cfg.num_clients} clients but only {len(train_idx)} training rows in "
            f"{features_dir}"
        )
    if len(test_idx) == 0:
        raise DataError(f"{features_dir}: no 'test' rows for the server test set")
    y_train = labels[train_idx]
    owners: list[str] | None = None
    if cfg.by == "owner":
        owners, local = owner_indices(table, train_idx, features_dir)
        if "num_clients" in cfg.model_fields_set and cfg.num_clients != len(owners):
            raise ConfigError(
                f"num_clients: got {cfg.num_clients} -> --by owner makes one client per owner, and "
                f"{features_dir} has {len(owners)}: {owners}"
            )
        cfg = cfg.model_copy(update={"num_clients": len(owners), "data_split": "owner", "alpha": None})
    elif cfg.data_split == "homogeneous":
        local = homogeneous_indices(y_train, cfg.num_clients, cfg.seed)
    elif cfg.data_split == "heterogeneous":
        assert cfg.alpha is not None
        local = dirichlet_indices(y_train, cfg.num_clients, cfg.alpha, cfg.seed, cfg.min_per_client)
    else:
        raise ConfigError("data_split: got 'owner' -> use --by owner (one client per data owner)")
    name = folder_name(cfg.data_split, cfg.num_clients, cfg.alpha)
    reference_idx = np.empty(0, np.int64)
    if cfg.reference_rows:
        if cfg.reference_rows >= len(test_idx):
            raise ConfigError(
                f"reference_rows: got {cfg.reference_rows} -> expected fewer than the "
                f"{len(test_idx)} test rows"
            )
        # A stratified draw of test rows; they leave the server test set, so no scored row is seen.
        from campaignlab.models.data import stratified_split

        _, held = stratified_split(labels[test_idx], cfg.reference_rows / len(test_idx), cfg.seed)
        reference_idx = test_idx[held]
        test_idx = np.setdiff1d(test_idx, reference_idx)
    data_version = cfg.data_version or features_dir.name
    dest = Path(out) / name
    client_names = [f"client {i}" for i in range(len(local))] if owners is None else owners
    counts = {client_names[i]: label_counts(y_train[ix]) for i, ix in enumerate(local)}
    counts["server test"] = label_counts(labels[test_idx])
    if len(reference_idx):
        counts["server reference"] = label_counts(labels[reference_idx])
    codes = fmanifest.get("platform_codes")
    n_platforms = len(codes) if isinstance(codes, dict | list) and codes else 12
    dims = {m: int(table.schema.field(m).type.list_size) for m in MODALITIES}
    with atomic_dir(dest) as tmp:
        files = []
        for i, ix in enumerate(local):
            fname = f"client_{i}.parquet"
            write_parquet(table.take(pa.array(train_idx[ix])), tmp / fname)
            files.append(fname)
        write_parquet(table.take(pa.array(test_idx)), tmp / SERVER_TEST)
        if len(reference_idx):
            write_parquet(table.take(pa.array(reference_idx)), tmp / SERVER_REFERENCE)
        title = f"{name} ({data_version}): label counts"
        heatmap_png(counts, title, tmp / HEATMAP)
        write_json(
            tmp / MANIFEST,
            {
                "kind": PARTITION_KIND,
                "name": name,
                "data_version": data_version,
                "data_split": cfg.data_split,
                "num_clients": cfg.num_clients,
                "alpha": cfg.alpha,
                "seed": cfg.seed,
                "min_per_client": cfg.min_per_client if cfg.data_split == "heterogeneous" else None,
                "client_files": files,
                "by": cfg.by,
                "owners": owners,
                "server_test_file": SERVER_TEST,
                "server_reference_file": SERVER_REFERENCE if len(reference_idx) else None,
                "label_names": list(LABEL_NAMES),
                "counts": counts,
                "dims": dims,
                "n_platforms": n_platforms,
                "source": str(features_dir.resolve()),
                "features_manifest": {k: fmanifest[k] for k in sorted(fmanifest) if k != "platform_codes"},
            },
        )
    return dest


def owner_indices(table: pa.Table, train_idx: np.ndarray, where: Path) -> tuple[list[str], list[np.ndarray]]:
    """One client per data owner: (owner names, sorted; each owner's positions within ``train_idx``).

    Training rows without an owner form one more client, :data:`NO_OWNER`, so no row is left out.

    Raises:
        DataError: the features have no ``owner`` column (not from an ingested dataset with owners).
    """
    if "owner" not in table.column_names:
        raise DataError(
            f"{where}: features have no 'owner' column; --by owner needs a dataset ingested with an owner "
            "column (map it with `owner: COLUMN` in the mapping file) and embedded after that"
        )
    owner = np.asarray(table.column("owner").to_pylist(), dtype=object)[train_idx]
    owner = np.where(pd_isnull(owner), NO_OWNER, owner)
    names = sorted({str(o) for o in owner})
    if names == [NO_OWNER]:
        raise DataError(f"{where}: no training row has an owner; --by owner needs owners")
    return names, [np.flatnonzero(owner == n) for n in names]


def pd_isnull(values: np.ndarray) -> np.ndarray:
    return np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values], dtype=bool)


def read_partition_manifest(folder: str | Path) -> dict[str, Any]:
    folder = Path(folder)
    require_complete(folder, "partition folder", needs=(MANIFEST,))
    m = read_json(folder / MANIFEST)
    if not isinstance(m, dict) or m.get("kind") != PARTITION_KIND:
        raise DataError(
            f"{str(folder)!r} is not a partition folder (manifest.json kind != {PARTITION_KIND!r})"
        )
    return m


def resolve_partition(
    data: str | Path, *, data_split: str, num_clients: int, alpha: float, data_version: str | None
) -> Path:
    """Find and check the partition folder a federated config asks for.

    ``data`` is either the partition folder itself or the folder ``partition --out`` wrote into.

    Raises:
        ConfigError: no such folder, or its split, alpha, number of clients or data_version differ from
            the config's.
    """
    data = Path(data)
    want = folder_name(data_split, num_clients, alpha if data_split == "heterogeneous" else None)
    folder = data if (data / MANIFEST).is_file() else data / want
    if not (folder / MANIFEST).is_file():
        have = sorted(p.name for p in data.glob("*") if (p / MANIFEST).is_file()) if data.is_dir() else []
        raise ConfigError(
            f"general.data_split/alpha, client.num_clients: config asks for partition folder {want!r} "
            f"under {str(data)!r}, which does not exist (partition folders there: {have or 'none'}); "
            f"run `campaignlab partition FEATURES --num-clients {num_clients} --data-split {data_split}"
            + (f" --alpha {alpha:g}" if data_split == "heterogeneous" else "")
            + f" --out {data}`"
        )
    m = read_partition_manifest(folder)
    problems = []
    m_split = m.get("data_split", m.get("split"))  # partitions written before the rename say "split"
    if m_split != data_split:
        problems.append(
            f"general.data_split: config {data_split!r} but partition {folder.name!r} is {m_split!r}"
        )
    if data_split == "heterogeneous" and m_split == data_split and not np.isclose(float(m["alpha"]), alpha):
        problems.append(
            f"general.alpha: config {alpha:g} but partition {folder.name!r} used alpha {m['alpha']:g}"
        )
    if int(m["num_clients"]) != num_clients:
        problems.append(
            f"client.num_clients: config {num_clients} but partition {folder.name!r} has "
            f"{m['num_clients']} clients"
        )
    if data_version is not None and m["data_version"] != data_version:
        problems.append(
            f"general.data_version: config {data_version!r} but partition {folder.name!r} holds "
            f"{m['data_version']!r}"
        )
    if not re.fullmatch(re.escape(m["name"]), folder.name):
        problems.append(f"partition folder {folder.name!r} was renamed (manifest name {m['name']!r})")
    if problems:
        raise ConfigError("config does not match the partition folder:\n  " + "\n  ".join(problems))
    return folder
