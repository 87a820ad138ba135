"""Model inputs: read a features folder into per-modality arrays, split it, check it.

Input contract (``features.parquet`` written by ``campaignlab embed``): ``sample_id`` string, ``split``
'train'|'test', ``label`` int8 (0 Negative, 1 Average, 2 Positive), one ``fixed_size_list<float32>[D]``
column per modality (``audience``, ``brand``, ``creative``, ``geo``, ``platform``; D may differ per
modality) and ``platform_code`` int32.

Estimators take ``X`` as a plain mapping ``{modality: (N, D_m) float32 array, "platform_code": (N,)
int}`` so that they work in a notebook on any arrays, not only on files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from campaignlab import LABEL_NAMES, MODALITIES
from campaignlab.errors import ConfigError, DataError

FEATURES_FILE = "features.parquet"
SPLITS = ("train", "test", "all")

Inputs = Mapping[str, np.ndarray]
"""``{modality: (N, D_m) float32, "platform_code": (N,) int}``: what every estimator's fit/predict takes."""


@dataclass(frozen=True)
class Features:
    """A features folder in memory: identifiers, labels and one (N, D_m) array per modality."""

    sample_id: np.ndarray  # (N,) str
    split: np.ndarray  # (N,) str
    label: np.ndarray  # (N,) int8
    modalities: dict[str, np.ndarray]  # name -> (N, D_m) float32
    platform_code: np.ndarray  # (N,) int32

    def __len__(self) -> int:
        return len(self.sample_id)

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        """The estimator input mapping (modalities plus ``platform_code``)."""
        return {**self.modalities, "platform_code": self.platform_code}

    @property
    def dims(self) -> dict[str, int]:
        return {m: int(a.shape[1]) for m, a in self.modalities.items()}

    def take(self, idx: np.ndarray) -> Features:
        """Rows ``idx`` (an index array or boolean mask) as a new :class:`Features`."""
        return Features(
            self.sample_id[idx],
            self.split[idx],
            self.label[idx],
            {m: a[idx] for m, a in self.modalities.items()},
            self.platform_code[idx],
        )

    def select(self, split: str) -> Features:
        """Rows of one split ('train', 'test') or every row ('all')."""
        if split not in SPLITS:
            raise ConfigError(f"split: got {split!r} -> expected one of {list(SPLITS)}")
        if split == "all":
            return self
        part = self.take(self.split == split)
        if len(part) == 0:
            raise DataError(f"features have no rows in split {split!r}")
        return part


def load_features(folder: str | Path, *, labelled: bool = True) -> Features:
    """Read a features folder (``features.parquet`` + ``manifest.json``) into :class:`Features`.

    Builds on :func:`campaignlab.features.read_features` (schema checks) and adds the checks models
    need: labels in 0..2 (or -1 everywhere, an unlabelled dataset, when ``labelled`` is False), splits
    'train'/'test', finite vectors.
    """
    from campaignlab.features import read_features

    path = Path(folder)
    table, _ = read_features(path)
    return features_from_table(table, str(path / FEATURES_FILE), labelled=labelled)


def load_features_file(path: str | Path) -> Features:
    """Read one features-schema Parquet file without its folder (e.g. a federated client's partition
    file) into :class:`Features`, with the same checks as :func:`load_features`."""
    from campaignlab.features.table import read_features_table

    return features_from_table(read_features_table(path), str(path))


def features_from_table(table: Any, where: str, *, labelled: bool = True) -> Features:
    """:class:`Features` from a schema-checked features table; ``where`` names it in errors."""
    from campaignlab.features.table import modality_arrays, table_columns

    arrays, cols = modality_arrays(table), table_columns(table)
    label = cols["label"]
    if len(label) == 0:
        raise DataError(f"{where!r} has no rows")
    if labelled and (label == -1).all():
        raise DataError(
            f"{where!r} holds unlabelled campaigns (ingested with --unlabelled): they can be predicted, "
            "not trained on or evaluated"
        )
    ok = [-1, 0, 1, 2] if not labelled else [0, 1, 2]
    bad = ~np.isin(label, ok)
    if bad.any():
        raise DataError(f"{where!r}: label {int(label[bad][0])} -> expected 0, 1 or 2")
    split = cols["split"]
    bad_split = ~np.isin(split, ["train", "test"])
    if bad_split.any():
        raise DataError(f"{where!r}: split {split[bad_split][0]!r} -> expected 'train' or 'test'")
    for m, a in arrays.items():
        if not np.isfinite(a).all():
            raise DataError(f"{where!r}: column {m!r} holds NaN or infinite values")
    return Features(
        sample_id=cols["sample_id"],
        split=split,
        label=label,
        modalities={m: arrays[m] for m in MODALITIES},
        platform_code=cols["platform_code"],
    )


def check_inputs(X: Inputs, dims: Mapping[str, int] | None = None) -> int:
    """Check an input mapping (every modality, same row count, expected widths); return N."""
    missing = [k for k in (*MODALITIES, "platform_code") if k not in X]
    if missing:
        raise DataError(f"inputs are missing {missing}; expected keys {[*MODALITIES, 'platform_code']}")
    n = len(X["platform_code"])
    for m in MODALITIES:
        a = X[m]
        if a.ndim != 2 or len(a) != n:
            raise DataError(f"input {m!r}: got shape {a.shape} -> expected ({n}, D)")
        if dims is not None and a.shape[1] != dims[m]:
            raise DataError(
                f"input {m!r}: got width {a.shape[1]} -> expected {dims[m]} (the width seen in fit)"
            )
    return n


def check_labels(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise DataError(f"labels: got shape {y.shape} -> expected ({n},)")
    if not np.isin(y, [0, 1, 2]).all():
        raise DataError(f"labels: got values {sorted(set(np.unique(y).tolist()))} -> expected 0, 1, 2")
    present = np.unique(y)
    if len(present) < 3:
        names = [LABEL_NAMES[int(c)] for c in present]
        raise DataError(f"labels: only classes {names} present -> every class (0, 1, 2) is needed to fit")
    return y.astype(np.int64)


def take_inputs(X: Inputs, idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[idx] for k, v in X.items()}


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out) with ``fraction`` of every class held out, seeded."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        k = max(1, round(fraction * len(idx))) if len(idx) > 1 else 0
        held.append(idx[:k])
    held_out = np.sort(np.concatenate(held))
    keep = np.setdiff1d(np.arange(len(y)), held_out)
    return keep, held_out


def stratified_subset(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """At most ``size`` indices keeping class proportions (the tuning subset)."""
    if size >= len(y):
        return np.arange(len(y))
    _, sub = stratified_split(y, size / len(y), seed)
    return sub


UNKNOWN_PLATFORM_CODE = -1
"""The reserved platform code of a platform the model never saw in training (LightGBM: a missing value)."""


class UnseenPlatformWarning(UserWarning):
    """Features hold platforms the model was not trained on; they get :data:`UNKNOWN_PLATFORM_CODE`."""


def align_platform_codes(
    codes: np.ndarray, features_vocab: Mapping[str, int] | None, model_vocab: list[str] | None
) -> tuple[np.ndarray, dict[str, int]]:
    """Re-code ``platform_code`` from the features' vocabulary to the model's training vocabulary, by name.

    Args:
        codes: (N,) platform codes of a features folder.
        features_vocab: that folder's ``platform_codes`` (name -> code) from its manifest.
        model_vocab: the platform names in the model's code order (``model.json`` ``platform_vocabulary``).

    Returns:
        The codes in the model's vocabulary (a platform it never saw: :data:`UNKNOWN_PLATFORM_CODE`) and
        ``{unseen platform: rows}``. Without both vocabularies (older folders) the codes are returned as
        they are.
    """
    codes = np.asarray(codes)
    if not features_vocab or not model_vocab:
        return codes, {}
    name_of = {int(c): str(n) for n, c in features_vocab.items()}
    model_code = {n: i for i, n in enumerate(model_vocab)}
    lookup = np.full(max(name_of, default=-1) + 2, UNKNOWN_PLATFORM_CODE, dtype=np.int64)
    for c, n in name_of.items():
        lookup[c] = model_code.get(n, UNKNOWN_PLATFORM_CODE)
    safe = np.where((codes >= 0) & (codes < len(lookup) - 1), codes, len(lookup) - 1)
    out = lookup[safe].astype(np.int32)
    unseen: dict[str, int] = {}
    for c in np.unique(codes[out == UNKNOWN_PLATFORM_CODE]):
        name = name_of.get(int(c), f"<code {int(c)}>")
        unseen[name] = int((codes == c).sum())
    return out, unseen
