"""Register a dataset version: split files into the data folder, the test answer key into the database.

Data folder layout (``--data-dir``; default ``<sqlite file>.data``)::

    versions/<name>-<hash12>/train.parquet            every column of samples.parquet, train rows
    versions/<name>-<hash12>/test.parquet             test rows: sample_id, split and the raw modality
                                                      texts only (audience, brand, creative, platform, geo)
    versions/<name>-<hash12>/train_features.parquet   (with --features) every column, train rows
    versions/<name>-<hash12>/test_features.parquet    (with --features) test rows without label

Test files never hold ``label``, ``pos_frac``/``neg_frac`` or the ``*_nodes`` lists (which, with the
graph, give the label back). The data folder holds nothing secret; the answer key lives only in the
database. A version's ``content_hash`` is the sha256 over the input files' bytes: registering the same
name again with the same content is a no-op, with different content an error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from campaignlab.errors import ConfigError, DataError
from campaignlab.io import atomic_dir, read_json, read_parquet, write_parquet
from campaignlab.leaderboard.store import Store, Version, labels_blob

RAW_TEST_COLUMNS = ("sample_id", "split", "audience", "brand", "creative", "platform", "geo")
LEAKY_COLUMNS = ("label", "pos_frac", "neg_frac")
REQUIRED_SAMPLES = {
    "sample_id": "string",
    "split": "'train' or 'test'",
    "label": "int8 0/1/2",
    **{c: "raw modality text" for c in RAW_TEST_COLUMNS[2:]},
}
REQUIRED_FEATURES = {"sample_id": "string", "split": "'train' or 'test'", "label": "int8 0/1/2"}
FILES = {
    ("train", "raw"): "train.parquet",
    ("test", "raw"): "test.parquet",
    ("train", "features"): "train_features.parquet",
    ("test", "features"): "test_features.parquet",
}


@dataclass(frozen=True)
class Registered:
    version: Version
    created: bool  # False: the same content was already registered under this name


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _leaky(name: str) -> bool:
    return name in LEAKY_COLUMNS or name.endswith("_nodes")


def _check_samples(table: pa.Table, where: str) -> None:
    ids = table["sample_id"]
    if ids.null_count or pc.count_distinct(ids).as_py() != table.num_rows:
        raise DataError(f"{where}: sample_id must be unique and non-null")
    splits = set(pc.unique(table["split"]).to_pylist())
    if not splits <= {"train", "test"} or "test" not in splits or "train" not in splits:
        raise DataError(
            f"{where}: split must hold both 'train' and 'test' and nothing else, "
            f"got {sorted(map(str, splits))}"
        )
    label = table["label"]
    if not pa.types.is_integer(label.type) or label.null_count:
        raise DataError(f"{where}: label must be non-null integers 0/1/2, got {label.type}")
    bad = set(pc.unique(label).to_pylist()) - {0, 1, 2}
    if bad:
        raise DataError(f"{where}: label must be 0, 1 or 2, found {sorted(bad)}")


def _rows(table: pa.Table, split: str) -> pa.Table:
    return table.filter(pc.equal(table["split"], split))


def _public_counts(train: pa.Table) -> dict[str, int]:
    counts = np.bincount(np.asarray(train["label"], dtype=np.int64), minlength=3)
    return {"negative": int(counts[0]), "average": int(counts[1]), "positive": int(counts[2])}


def register_version(
    store: Store, data_dir: Path, name: str, dataset: Path, features: Path | None = None
) -> Registered:
    """Register ``dataset`` (and optionally ``features``) as version ``name``.

    Raises:
        DataError: a file is missing or off its contract, or features disagree with the samples.
        ConfigError: ``name`` exists with different content.
    """
    samples_path = dataset / "samples.parquet"
    inputs = {"samples.parquet": samples_path}
    if features is not None:
        inputs["features.parquet"] = features / "features.parquet"
    for p in inputs.values():
        if not p.is_file():
            raise DataError(f"{str(p)!r} does not exist")
    h = hashlib.sha256()
    file_hashes = {}
    for label, p in inputs.items():
        file_hashes[label] = _sha256_file(p)
        h.update(f"{label}\0{file_hashes[label]}\n".encode())
    content_hash = h.hexdigest()

    existing = store.find_version(name)
    if existing is not None:
        if existing.content_hash == content_hash:
            return Registered(existing, created=False)
        raise ConfigError(
            f"name: version {name!r} is already registered with content hash {existing.content_hash[:12]}; "
            f"this content hashes to {content_hash[:12]}. Versions are immutable: "
            "register it under a new name"
        )

    samples = read_parquet(samples_path, REQUIRED_SAMPLES)
    _check_samples(samples, str(samples_path))
    train, test = _rows(samples, "train"), _rows(samples, "test")
    test_raw = test.select([c for c in RAW_TEST_COLUMNS if c in test.column_names])
    outputs: dict[tuple[str, str], pa.Table] = {("train", "raw"): train, ("test", "raw"): test_raw}

    if features is not None:
        ftable = read_parquet(inputs["features.parquet"], REQUIRED_FEATURES)
        where = str(inputs["features.parquet"])
        _check_samples(ftable, where)
        mine = samples.select(["sample_id", "split", "label"]).sort_by("sample_id")
        theirs = ftable.select(["sample_id", "split", "label"]).sort_by("sample_id")
        if mine.num_rows != theirs.num_rows or not all(
            mine[c].combine_chunks().cast(pa.string()).equals(theirs[c].combine_chunks().cast(pa.string()))
            for c in ("sample_id", "split", "label")
        ):
            raise DataError(
                f"{where}: its sample_id/split/label rows differ from {str(samples_path)!r}; "
                "features must be computed from this dataset"
            )
        ftest = _rows(ftable, "test")
        outputs[("train", "features")] = _rows(ftable, "train")
        outputs[("test", "features")] = ftest.select([c for c in ftest.column_names if not _leaky(c)])

    for (split, _kind), table in outputs.items():
        if split == "test":
            leaked = [c for c in table.column_names if _leaky(c)]
            assert not leaked, leaked  # guarded by construction above

    manifest: dict[str, Any] = {}
    if (dataset / "manifest.json").is_file():
        manifest = read_json(dataset / "manifest.json")
    folder = f"versions/{name}-{content_hash[:12]}"
    info = {
        "preset": manifest.get("preset"),
        "seed": manifest.get("seed"),
        "train_counts": _public_counts(train),
        "input_sha256": file_hashes,
        "folder": folder,
        "files": {f"{split}/{kind}": FILES[(split, kind)] for split, kind in outputs},
    }
    target = data_dir / folder
    with atomic_dir(target) as tmp:
        for key, table in outputs.items():
            write_parquet(table, tmp / FILES[key])
    try:
        version = store.insert_version(
            name=name,
            content_hash=content_hash,
            n_train=train.num_rows,
            n_test=test.num_rows,
            has_features=features is not None,
            info=info,
            test_labels=labels_blob(test["sample_id"], test["label"]),
        )
    except Exception:
        import shutil

        shutil.rmtree(target, ignore_errors=True)
        raise
    return Registered(version, created=True)


def split_file(data_dir: Path, version: Version, split: str, kind: str) -> Path:
    """Path of a downloadable split file.

    Raises:
        DataError: the version has no such file (e.g. features not registered) or it went missing.
    """
    key = f"{split}/{kind}"
    if key not in version.info.get("files", {}):
        raise DataError(
            f"version {version.name!r} has no {kind} files for the {split} split "
            f"(has {sorted(version.info.get('files', {}))})"
        )
    path = data_dir / version.info["folder"] / version.info["files"][key]
    if not path.is_file():
        raise DataError(f"version {version.name!r}: file {key} is missing from the server's data folder")
    return path
