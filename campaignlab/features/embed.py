"""The embedding step: a dataset folder in, a features folder out (see :mod:`campaignlab.features.table`).

Audience, Brand, Creative and Platform texts go through one text encoder (all distinct texts of all
four modalities in one deduplicated, cached pass); Geo ZIP lists are centroid-pooled from a PDFM table
(default: the offline stand-in); Platform is also kept as a categorical code for LightGBM.

Every input is checked before any text is embedded, and the output folder is written atomically, so
bad input leaves nothing behind.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

import campaignlab
from campaignlab.config import StrictModel, validate
from campaignlab.errors import DataError
from campaignlab.features import geo
from campaignlab.features.cache import EmbeddingCache, default_cache_dir
from campaignlab.features.encoders import TextEncoder, encode_texts, make_encoder
from campaignlab.features.table import (
    FEATURES_FILE,
    MANIFEST_FILE,
    MODALITIES,
    TEXT_MODALITIES,
    features_schema,
    vector_column,
)
from campaignlab.io import (
    atomic_dir,
    check_writable_parent,
    read_json,
    read_parquet,
    require_complete,
    write_json,
    write_parquet,
)
from campaignlab.synth.dataset import SAMPLES_TEXT_COLUMNS

Progress = Any  # progress(stage, done, total), as campaignlab.progress.progress_bar yields

SAMPLES_REQUIRED = SAMPLES_TEXT_COLUMNS
NODES_REQUIRED = {"modality": "string", "value": "string"}


class VertexOptions(StrictModel):
    """Settings of the ``vertex`` encoder (see :mod:`campaignlab.features.vertex`)."""

    project: str | None = None
    location: str = "us-central1"
    endpoint: str | None = None
    concurrency: int = Field(4, ge=1, le=64)
    timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(6, ge=0, le=20)
    backoff_initial: float = Field(1.0, ge=0)
    backoff_max: float = Field(60.0, gt=0)
    model: str = "text-embedding-005"


class EmbedConfig(StrictModel):
    """Config of ``campaignlab embed``.

    Attributes:
        encoder: ``local`` (offline all-MiniLM-L6-v2, 384 dims) or ``vertex`` (text-embedding-005).
        task_type: Vertex task type (e.g. CLASSIFICATION, SEMANTIC_SIMILARITY); ignored by ``local``.
        dim: output dimensionality (vertex 1..768, default 768; local only 384).
        pdfm: PDFM table file; None uses the offline stand-in.
        cache_dir: embedding cache folder (default ``$CAMPAIGNLAB_CACHE/embeddings`` or
            ``~/.cache/campaignlab/embeddings``).
        use_cache: False embeds everything and writes nothing to the cache.
        backend: local encoder backend: auto, torch or onnx.
        batch_size: local encoder texts per forward pass.
        vertex: vertex encoder settings.
    """

    encoder: Literal["local", "vertex"] = "local"
    task_type: str | None = None
    dim: int | None = Field(None, ge=1)
    pdfm: Path | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    backend: Literal["auto", "torch", "onnx"] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    vertex: VertexOptions = Field(default_factory=VertexOptions)


def build_encoder(cfg: EmbedConfig) -> TextEncoder:
    """The configured encoder (validates task type and dimensionality; loads no model yet)."""
    if cfg.encoder == "local":
        return make_encoder(
            "local",
            task_type=cfg.task_type,
            dim=cfg.dim,
            backend=cfg.backend,
            batch_size=cfg.batch_size,
        )
    return make_encoder("vertex", task_type=cfg.task_type, dim=cfg.dim, **cfg.vertex.model_dump())


def platform_vocabulary(dataset_dir: Path, samples: pa.Table) -> tuple[list[str], str]:
    """The dataset's platform vocabulary and where it came from.

    In order: the manifest's ``vocabularies.platform`` (every producer of the dataset contract writes
    it: ``ingest`` and ``generate``), the platform nodes of a generator folder's ``nodes.parquet`` (folders
    written before manifests carried vocabularies), else the sorted platforms of the samples themselves.
    """
    manifest_path = dataset_dir / "manifest.json"
    if manifest_path.is_file():
        vocab = (read_json(manifest_path).get("vocabularies") or {}).get("platform")
        if vocab:
            return sorted(str(p) for p in vocab), "manifest.json vocabularies.platform"
    if (dataset_dir / "nodes.parquet").is_file():
        nodes = read_parquet(dataset_dir / "nodes.parquet", NODES_REQUIRED)
        mod = np.asarray(nodes.column("modality").to_pylist(), dtype=object)
        platforms = sorted(
            {str(v) for v, m in zip(nodes.column("value").to_pylist(), mod, strict=True) if m == "platform"}
        )
        if not platforms:
            raise DataError(f"{str(dataset_dir / 'nodes.parquet')!r} has no node with modality 'platform'")
        return platforms, "nodes.parquet"
    return sorted({str(p) for p in samples.column("platform").to_pylist()}), "samples.parquet"


def _read_inputs(dataset_dir: Path) -> tuple[pa.Table, list[str], str]:
    if not dataset_dir.is_dir():
        raise DataError(
            f"dataset folder {str(dataset_dir)!r} does not exist (see `campaignlab ingest` or `generate`)"
        )
    require_complete(dataset_dir, "dataset folder", needs=("samples.parquet",))
    samples = read_parquet(dataset_dir / "samples.parquet", SAMPLES_REQUIRED)
    for col in TEXT_MODALITIES:
        t = samples.schema.field(col).type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            raise DataError(f"samples.parquet: column {col!r} is {t}, expected string")
        if samples.column(col).null_count:
            raise DataError(f"samples.parquet: column {col!r} has {samples.column(col).null_count} nulls")
    gt = samples.schema.field("geo").type
    if not (pa.types.is_list(gt) or pa.types.is_large_list(gt)):
        raise DataError(f"samples.parquet: column 'geo' is {gt}, expected a list of ZIP strings")
    platforms, source = platform_vocabulary(dataset_dir, samples)
    unknown = sorted(set(samples.column("platform").to_pylist()) - set(platforms))
    if unknown:
        raise DataError(
            f"samples.parquet: platform value(s) {unknown[:5]} are not in the dataset's platform vocabulary "
            f"({source})"
        )
    return samples, platforms, source


def embed_dataset(
    dataset_dir: str | Path,
    out_dir: str | Path,
    encoder: str = "local",
    *,
    task_type: str | None = None,
    dim: int | None = None,
    pdfm: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Embed a dataset folder into a features folder and return its manifest.

    Args:
        dataset_dir: folder written by ``campaignlab generate``.
        out_dir: features folder to write (replaced atomically).
        encoder: ``local`` or ``vertex``.
        task_type: Vertex task type; ignored by ``local``.
        dim: output dimensionality (None: model default).
        pdfm: PDFM table file (None: offline stand-in).
        cache_dir: embedding cache folder (None: default cache).
        progress: ``progress(stage, done, total)`` callback.
        **options: any other :class:`EmbedConfig` field (``backend``, ``batch_size``, ``use_cache``,
            ``vertex={...}``).
    """
    data: dict[str, Any] = {"encoder": encoder, **options}
    for k, v in {"task_type": task_type, "dim": dim, "pdfm": pdfm, "cache_dir": cache_dir}.items():
        if v is not None:
            data[k] = v
    return run(validate(EmbedConfig, data, "options"), Path(dataset_dir), Path(out_dir), progress)


def run(
    cfg: EmbedConfig, dataset_dir: Path, out_dir: Path, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the embedding step for a validated config (see :func:`embed_dataset`)."""
    t0 = time.perf_counter()
    # 1. Validate everything before the slow part.
    check_writable_parent(out_dir)
    enc = build_encoder(cfg)
    samples, platforms, vocab_source = _read_inputs(dataset_dir)
    zip_lists = [[str(z) for z in (zs or [])] for zs in samples.column("geo").to_pylist()]
    bad = sorted({z for zs in zip_lists for z in zs if len(z) != 5 or not z.isdigit()})
    if bad:
        raise DataError(f"samples.parquet: geo holds values that are not 5-digit ZIP strings: {bad[:5]}")
    if cfg.pdfm is not None:
        table = geo.load_pdfm(cfg.pdfm)
    else:
        table = geo.standin_table(sorted({z for zs in zip_lists for z in zs}))
    t_load = time.perf_counter()

    # 2. Text modalities: one deduplicated, cached pass over all of their texts.
    n = samples.num_rows
    texts: list[str] = []
    for m in TEXT_MODALITIES:
        texts += [str(t) for t in samples.column(m).to_pylist()]
    cache = (
        EmbeddingCache(cfg.cache_dir or default_cache_dir(), enc.cache_namespace()) if cfg.use_cache else None
    )
    cb = (
        None
        if progress is None
        else (lambda done, total: progress(f"embedding texts ({enc.name})", done, total))
    )
    vecs, stats = encode_texts(enc, texts, cache, cb)
    text_vecs = {m: vecs[i * n : (i + 1) * n] for i, m in enumerate(TEXT_MODALITIES)}
    t_text = time.perf_counter()

    # 3. Geo and the platform code.
    geo_vecs, geo_stats = geo.pool(zip_lists, table)
    code_of = {p: i for i, p in enumerate(platforms)}
    platform_code = np.array([code_of[p] for p in samples.column("platform").to_pylist()], dtype=np.int32)

    matrices = {**text_vecs, "geo": geo_vecs}
    for m, mat in matrices.items():
        if not np.isfinite(mat).all():
            raise RuntimeError(f"non-finite values in the {m} vectors")
    dims = {m: int(matrices[m].shape[1]) for m in MODALITIES}
    schema = features_schema(dims)
    table_out = pa.table(
        [
            samples.column("sample_id").cast(pa.string()),
            samples.column("split").cast(pa.string()),
            samples.column("label").cast(pa.int8()),
            *[vector_column(matrices[m]) for m in MODALITIES],
            pa.array(platform_code, type=pa.int32()),
        ],
        schema=schema,
    )
    if "owner" in samples.column_names:  # an ingested dataset's data owners (partition --by owner)
        table_out = table_out.append_column("owner", samples.column("owner").cast(pa.string()))
    manifest: dict[str, Any] = {
        "dataset": str(dataset_dir),
        "num_samples": n,
        "encoder": enc.name,
        "model": enc.model,
        "task_type": enc.task_type,
        "encoder_settings": enc.describe(),
        "dimensions": dims,
        "text_dim": enc.dim,
        "texts": stats.texts,
        "unique_texts": stats.unique,
        "texts_embedded": stats.embedded,
        "cache_hits": stats.cache_hits,
        "cache_dir": str(cache.root) if cache else None,
        "geo": {
            "source": table.source,
            "standin": table.standin,
            "pdfm_dims": table.dims,
            "extra_columns": ["coverage", "missing"],
            "policy": "ZIPs missing from the table are skipped; none found -> zero centroid, missing=1",
            **geo_stats,
        },
        "platform_codes": {p: i for i, p in enumerate(platforms)},
        "platform_vocabulary_source": vocab_source,
        "labelled": bool(n == 0 or int(np.min(samples.column("label").to_numpy())) >= 0),
        "config": cfg.model_dump(mode="json"),
        "seconds": {
            "load": round(t_load - t0, 3),
            "texts": round(t_text - t_load, 3),
            "total": round(time.perf_counter() - t0, 3),
        },
        "versions": {
            "campaignlab": campaignlab.__version__,
            "pyarrow": pa.__version__,
            "numpy": np.__version__,
        },
    }
    with atomic_dir(out_dir) as tmp:
        write_parquet(table_out, tmp / FEATURES_FILE)
        write_json(tmp / MANIFEST_FILE, manifest)
    return manifest
