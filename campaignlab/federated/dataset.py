"""Client and server data for the federated model: partition Parquet files -> in-memory arrays.

A partition file has the ``features.parquet`` schema (see ``campaignlab.features.table``): ``sample_id``,
``split``, ``label`` int8 and one ``fixed_size_list<float32>[D]`` column per modality plus
``platform_code`` int32. :func:`load_arrays` turns one into :class:`ArrayData`, the only input the
model's ``train``/``test`` functions take, so centralized and federated training read identical data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from campaignlab.errors import DataError
from campaignlab.io import read_parquet

MODALITIES: tuple[str, ...] = ("audience", "brand", "creative", "geo", "platform")
LABEL_NAMES: tuple[str, ...] = ("Negative", "Average", "Positive")
REQUIRED = {
    "sample_id": "string",
    "split": "'train' | 'test'",
    "label": "int8 0/1/2",
    **{m: "fixed_size_list<float32>[D]" for m in MODALITIES},
    "platform_code": "int32",
}


@dataclass
class ArrayData:
    """Model inputs: ``x[modality]`` is (N, D_m) float32, ``y`` is (N,) int64 class ids."""

    x: dict[str, np.ndarray]
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(a.shape[1]) for m, a in self.x.items()}

    def take(self, idx: np.ndarray) -> ArrayData:
        return ArrayData({m: a[idx] for m, a in self.x.items()}, self.y[idx])

    @staticmethod
    def concat(parts: Sequence[ArrayData]) -> ArrayData:
        if not parts:
            raise DataError("no data to concatenate")
        return ArrayData(
            {m: np.concatenate([p.x[m] for p in parts]) for m in parts[0].x},
            np.concatenate([p.y for p in parts]),
        )


def vector_matrix(table: pa.Table, column: str) -> np.ndarray:
    """A ``fixed_size_list<float32>[D]`` column as an (N, D) float32 array."""
    col = table.column(column).combine_chunks()
    if not pa.types.is_fixed_size_list(col.type):
        raise DataError(f"column {column!r} is {col.type}, expected fixed_size_list<float32>[D]")
    dim = col.type.list_size
    # A writable copy: Arrow buffers are read-only and torch.from_numpy warns on those.
    return np.array(col.values.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(col), dim)


def arrays_from_table(
    table: pa.Table, *, one_hot: Sequence[str] = (), n_platforms: int = 12, source: str = "table"
) -> ArrayData:
    """Build :class:`ArrayData` from a features-schema table.

    Args:
        table: rows with the features.parquet columns.
        one_hot: modalities to encode one-hot instead of their embedding (only ``platform``, from
            ``platform_code``).
        n_platforms: width of the platform one-hot vector (number of platform values).
        source: name used in error messages.
    """
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; has {table.column_names}")
    y = table.column("label").to_numpy().astype(np.int64)
    if len(y) and (y.min() < 0 or y.max() > 2):
        raise DataError(f"{source}: label must be 0, 1 or 2; found values {sorted(set(y.tolist()))[:10]}")
    x: dict[str, np.ndarray] = {}
    for m in MODALITIES:
        if m in one_hot:
            code = table.column("platform_code").to_numpy().astype(np.int64)
            if len(code) and (code.min() < 0 or code.max() >= n_platforms):
                raise DataError(f"{source}: platform_code outside [0, {n_platforms})")
            x[m] = np.eye(n_platforms, dtype=np.float32)[code]
        else:
            x[m] = vector_matrix(table, m)
    return ArrayData(x, y)


def load_arrays(path: str | Path, *, one_hot: Sequence[str] = (), n_platforms: int = 12) -> ArrayData:
    """Read one partition file (a client's training rows or the server test set)."""
    table = read_parquet(path, REQUIRED)
    return arrays_from_table(table, one_hot=one_hot, n_platforms=n_platforms, source=str(path))
