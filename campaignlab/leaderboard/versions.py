"""Register a dataset version: split files into the data folder, the test answer key into the database.

Data folder layout (``--data-dir``; default ``<sqlite file>.data``)::

    versions/<name>-<random12>/train.parquet            every column of samples.parquet, train rows
    versions/<name>-<random12>/test.parquet             test rows: sample_id, split and the raw modality
                                                      texts only (audience, brand, creative, platform, geo)
    versions/<name>-<random12>/train_features.parquet   (with --features) every column, train rows
    versions/<name>-<random12>/test_features.parquet    (with --features) test rows without label

Test files never hold ``label``, ``pos_frac``/``neg_frac`` or the ``*_nodes`` lists (which, with the
graph, give the label back). The data folder holds nothing secret; the answer key (test labels and the
secret public/private split) lives only in the database.

Labels that cannot be rebuilt from what is published: a generated dataset is fully determined by its
preset, scale and seed, and the test split's texts are served, so anyone who can guess the seed can
regenerate the dataset and read the test labels. ``register_version`` therefore refuses a dataset whose
``manifest.json`` seed has fewer than :data:`MIN_SEED_BITS` bits (the default 42, small seeds), unless
``allow_guessable_seed`` (the version is then flagged ``labels_reconstructible``); it never stores or
publishes the seed, and never a hash of a file that holds test labels: the published ``content_hash`` is
the sha256 over the served files' sha256 (``file_sha256``). The secret ``input_hash`` (over the input
files) only tells add-version that the same name is registered again with the same content (a no-op) or
with other content (an error).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
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


MIN_SEED_BITS = 96
"""A generated dataset's seed must have at least this many bits: ``secrets.randbits(128)`` is below
2**96 with probability 2**-32, while any seed a person types or a default (42) is far shorter."""


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


def check_seed(manifest: dict[str, Any], where: str, allow_guessable_seed: bool) -> bool:
    """Whether the dataset's labels can be rebuilt by regenerating it (a guessable generator seed).

    Raises:
        DataError: the seed is guessable and ``allow_guessable_seed`` is false.
    """
    seed = manifest.get("seed")
    if seed is None:
        return False  # not generated (own data): nothing to regenerate from
    if isinstance(seed, int) and seed.bit_length() >= MIN_SEED_BITS:
        return False
    if allow_guessable_seed:
        return True
    raise DataError(
        f"{where}: seed {seed!r} is guessable (fewer than {MIN_SEED_BITS} bits): anyone who finds it can "
        "regenerate the dataset and read the test labels from it. Generate the version with a secret "
        "seed, e.g. campaignlab generate --preset v25 --seed \"$(python -c 'import secrets; "
        "print(secrets.randbits(128))')\" ..., and keep the dataset folder private; or pass "
        "--allow-guessable-seed for a version whose labels need not stay secret (it is flagged "
        "labels_reconstructible)"
    )


def draw_public_mask(labels: np.ndarray, fraction: float) -> np.ndarray:
    """The secret public part of the test split: ``fraction`` of each class, drawn from ``secrets``.

    Stratified, so both parts keep the test split's class balance; the random state is drawn from the
    operating system's secret source and never stored (the mask itself is the secret).
    """
    rng = np.random.default_rng(secrets.randbits(128))
    mask = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        mask[rng.permutation(idx)[: round(fraction * len(idx))]] = True
    return mask


def register_version(
    store: Store,
    data_dir: Path,
    name: str,
    dataset: Path,
    features: Path | None = None,
    *,
    public_fraction: float = 0.5,
    ends_at: dt.datetime | None = None,
    allow_guessable_seed: bool = False,
) -> Registered:
    """Register ``dataset`` (and optionally ``features``) as version ``name``.

    Args:
        store: the database.
        data_dir: where the served split files go.
        name: the version's name.
        dataset: a dataset folder (``samples.parquet``, optional ``manifest.json``).
        features: a features folder for the same dataset.
        public_fraction: share of the test samples in the public part (ranked while the competition
            runs); the rest is the private part, revealed when it ends.
        ends_at: when the competition ends (None: it runs until ``campaignlab leaderboard reveal``).
        allow_guessable_seed: register a generated dataset whose seed is guessable (flagged).

    Raises:
        DataError: a file is missing or off its contract, features disagree with the samples, or the
            generator seed is guessable.
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
    for label, p in inputs.items():
        h.update(f"{label}\0{_sha256_file(p)}\n".encode())
    input_hash = h.hexdigest()

    existing = store.find_version(name)
    if existing is not None:
        if store.find_input_hash(name) == input_hash:
            return Registered(existing, created=False)
        raise ConfigError(
            f"name: version {name!r} is already registered with other content. Versions are immutable: "
            "register it under a new name"
        )

    manifest: dict[str, Any] = {}
    if (dataset / "manifest.json").is_file():
        manifest = read_json(dataset / "manifest.json")
    reconstructible = check_seed(manifest, str(dataset / "manifest.json"), allow_guessable_seed)

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

    test_labels = np.asarray(test["label"], dtype=np.int8)
    public = draw_public_mask(test_labels, public_fraction)
    folder = f"versions/{name}-{secrets.token_hex(6)}"
    target = data_dir / folder
    with atomic_dir(target) as tmp:
        for key, table in outputs.items():
            write_parquet(table, tmp / FILES[key])
        file_sha256 = {f"{s}/{k}": _sha256_file(tmp / FILES[(s, k)]) for s, k in outputs}
    content = hashlib.sha256()
    for name_ in sorted(file_sha256):
        content.update(f"{name_}\0{file_sha256[name_]}\n".encode())
    info = {
        "preset": manifest.get("preset"),
        "train_counts": _public_counts(train),
        "n_public": int(public.sum()),
        "public_fraction": public_fraction,
        "labels_reconstructible": reconstructible,
        "folder": folder,
        "files": {f"{split}/{kind}": FILES[(split, kind)] for split, kind in outputs},
        "file_sha256": file_sha256,
    }
    try:
        version = store.insert_version(
            name=name,
            input_hash=input_hash,
            content_hash=content.hexdigest(),
            n_train=train.num_rows,
            n_test=test.num_rows,
            has_features=features is not None,
            info=info,
            test_labels=labels_blob(test["sample_id"], test["label"]),
            public_mask=public,
            ends_at=ends_at,
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
