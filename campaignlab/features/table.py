"""The features folder contract: ``features.parquet`` + ``manifest.json``, and its reader.

``features.parquet`` columns, in the row order of the dataset's ``samples.parquet``:

* ``sample_id`` string, ``split`` string ('train'/'test'), ``label`` int8 (0/1/2);
* ``audience``, ``brand``, ``creative``, ``geo``, ``platform``: ``fixed_size_list<float32>[D]``, one
  vector per modality. ``geo`` is ``D = PDFM dims + 2``: the centroid of the sample's ZIP vectors, then
  [fraction of the sample's ZIPs found in the table, 1.0 if none was found];
* ``platform_code`` int32: index of the platform value in the dataset's sorted platform vocabulary (its
  manifest's ``vocabularies.platform``; for older generator folders the platform nodes of
  ``nodes.parquet``); the mapping is in ``manifest.json`` under ``platform_codes``. Models map codes to
  their training vocabulary by name, so features of another dataset can be scored;
* ``owner`` string (only when the dataset has one, e.g. an ingested dataset): the data owner, used by
  ``partition --by owner``.

``label`` is -1 in the features of an unlabelled dataset (campaigns to score; ``manifest.json`` has
``"labelled": false``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from campaignlab import MODALITIES, TEXT_MODALITIES  # noqa: F401  TEXT_MODALITIES: re-exported
from campaignlab.errors import DataError
from campaignlab.io import read_json, read_parquet, require_complete

FEATURES_FILE = "features.parquet"
MANIFEST_FILE = "manifest.json"


def vector_column(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """(N, D) float array -> ``fixed_size_list<float32>[D]`` column."""
    m = np.ascontiguousarray(matrix, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {m.shape}")
    return pa.FixedSizeListArray.from_arrays(pa.array(m.reshape(-1), type=pa.float32()), m.shape[1])


def features_schema(dims: dict[str, int]) -> pa.Schema:
    """The exact schema of ``features.parquet`` for the given per-modality dimensions."""
    return pa.schema(
        [
            ("sample_id", pa.string()),
            ("split", pa.string()),
            ("label", pa.int8()),
            *[(m, pa.list_(pa.float32(), dims[m])) for m in MODALITIES],
            ("platform_code", pa.int32()),
        ]
    )


def read_features_table(path: str | Path) -> pa.Table:
    """Read one Parquet file with the ``features.parquet`` schema (a features folder's table, or a file
    cut from one such as a federated client's partition file), checking every column's type.

    Raises:
        DataError: the file is missing or a column does not have the documented type.
    """
    path = Path(path)
    required = {
        "sample_id": "string",
        "split": "string",
        "label": "int8",
        **{m: "fixed_size_list<float32>" for m in MODALITIES},
        "platform_code": "int32",
    }
    table = read_parquet(path, required)
    for m in MODALITIES:
        t = table.schema.field(m).type
        if not (pa.types.is_fixed_size_list(t) and t.value_type == pa.float32()):
            raise DataError(f"{str(path)!r}: column {m!r} is {t}, expected fixed_size_list<float32>")
    return table


def read_features(folder: str | Path) -> tuple[pa.Table, dict[str, Any]]:
    """Read a features folder written by ``campaignlab embed``.

    Args:
        folder: the ``--out`` folder of ``embed``.

    Returns:
        The ``features.parquet`` table (schema checked) and the parsed ``manifest.json``.

    Raises:
        DataError: the folder is not a completely published features folder (see
            :func:`campaignlab.io.require_complete`) or a column does not have the documented type.
    """
    folder = Path(folder)
    require_complete(folder, "features folder", needs=(FEATURES_FILE, MANIFEST_FILE))
    table = read_features_table(folder / FEATURES_FILE)
    manifest = read_json(folder / MANIFEST_FILE)
    return table, manifest


def modality_arrays(
    table: pa.Table, modalities: tuple[str, ...] | list[str] = MODALITIES
) -> dict[str, np.ndarray]:
    """Turn the vector columns of a features table into ``{modality: (N, D) float32}``."""
    out: dict[str, np.ndarray] = {}
    for m in modalities:
        col = table.column(m).combine_chunks()
        dim = col.type.list_size
        flat = col.flatten().to_numpy(zero_copy_only=False)  # flatten() honours slices, .values does not
        out[m] = np.asarray(flat, dtype=np.float32).reshape(len(col), dim)
    return out


def table_columns(table: pa.Table) -> dict[str, np.ndarray]:
    """The non-vector columns: ``sample_id``, ``split`` (object arrays), ``label`` int8, ``platform_code``."""
    return {
        "sample_id": np.asarray(table.column("sample_id").to_pylist(), dtype=object),
        "split": np.asarray(table.column("split").to_pylist(), dtype=object),
        "label": table.column("label").to_numpy().astype(np.int8),
        "platform_code": table.column("platform_code").to_numpy().astype(np.int32),
    }


def read_feature_arrays(
    folder: str | Path,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """Convenience: ``(modality arrays, columns, manifest)``.

    ``columns`` holds ``sample_id`` and ``split`` (object arrays), ``label`` (int8) and ``platform_code``
    (int32), all of length N and in the same row order as the modality arrays.
    """
    table, manifest = read_features(folder)
    return modality_arrays(table), table_columns(table), manifest
