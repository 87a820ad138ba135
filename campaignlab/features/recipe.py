"""The embedding recipe: how a model's inputs were made, kept with the model so new campaigns match.

A model is only as good as the agreement between the vectors it was trained on and the vectors it is
asked about. ``campaignlab train`` writes ``recipe.json`` into the model folder from the features
manifest: the text encoder (``local``/``vertex``), its model name, task type and dimensionality, the
local backend, the per-modality input widths, the geo table (the PDFM stand-in, or a PDFM file copied
into the model folder as ``geo_table.parquet`` with its sha256) and the platform vocabulary (platform
text -> the ``platform_code`` LightGBM saw).

Two uses:

* :func:`check_features` refuses a features folder embedded with another recipe (another encoder, task
  type, dimensionality or geo table), naming both. (The platform vocabulary may differ: ``evaluate`` and
  ``predict`` re-code platforms by name, and an unseen platform gets :data:`UNKNOWN_PLATFORM_CODE`.)
* :class:`CampaignEmbedder` re-embeds raw campaigns with exactly the recipe (the same shared embedding
  cache as ``campaignlab embed``), for batch prediction, the service and recommendations.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from campaignlab.config import StrictModel, validate
from campaignlab.errors import DataError
from campaignlab.features.table import MODALITIES, TEXT_MODALITIES
from campaignlab.io import read_json, write_json

RECIPE_FILE = "recipe.json"
GEO_TABLE_FILE = "geo_table.parquet"
UNKNOWN_PLATFORM_CODE = -1
"""``platform_code`` of a platform the model never saw in training (LightGBM treats it as missing)."""


class GeoRecipe(StrictModel):
    """The ZIP table the geo vectors were pooled from.

    Attributes:
        source: the table's file path at embedding time, or the stand-in's name.
        standin: True for the offline PDFM stand-in (recomputed for any ZIP, nothing to ship).
        dims: vector length of one ZIP (the pooled geo vector has ``dims + 2`` values).
        sha256: sha256 of the table file (None for the stand-in or when the file was not readable).
        file: the table's copy inside the model folder (``geo_table.parquet``), or None.
    """

    source: str
    standin: bool
    dims: int = Field(ge=1)
    sha256: str | None = None
    file: str | None = None


class Recipe(StrictModel):
    """What determines a model's input vectors (``recipe.json`` of a model folder).

    Attributes:
        encoder: ``local`` or ``vertex``.
        model: text-embedding model name (e.g. all-MiniLM-L6-v2, text-embedding-005).
        task_type: the task type the vectors were made for (None: the model has none).
        requested_task_type: what the embed config asked for (``local`` ignores it).
        text_dim: text vector length.
        dimensions: per-modality input widths the model was trained on.
        backend: ``onnx`` or ``torch`` for the local encoder (None for vertex).
        vertex: settings of the vertex encoder besides the identity (location, model).
        geo: the ZIP table.
        platform_codes: platform text -> ``platform_code`` of the training features.
    """

    encoder: Literal["local", "vertex"]
    model: str
    task_type: str | None = None
    requested_task_type: str | None = None
    text_dim: int = Field(ge=1)
    dimensions: dict[str, int]
    backend: str | None = None
    vertex: dict[str, Any] = Field(default_factory=dict)
    geo: GeoRecipe
    platform_codes: dict[str, int]

    def identity(self) -> dict[str, Any]:
        """What must agree for two sets of vectors to be interchangeable (the platform list need not)."""
        return {
            "encoder": self.encoder,
            "model": self.model,
            "task_type": self.task_type,
            "text_dim": self.text_dim,
            "dimensions": dict(sorted(self.dimensions.items())),
            "geo": (self.geo.standin, self.geo.dims, self.geo.sha256 or self.geo.source),
        }

    def describe(self) -> str:
        """One line a person reads in an error message."""
        task = f", task {self.task_type}" if self.task_type else ""
        geo = "PDFM stand-in" if self.geo.standin else f"PDFM table {self.geo.source}"
        if self.geo.sha256 and not self.geo.standin:
            geo += f" (sha256 {self.geo.sha256[:12]})"
        return f"{self.encoder} {self.model}{task}, {self.text_dim}-d text, geo {geo} ({self.geo.dims}-d)"


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def recipe_from_manifest(manifest: dict[str, Any], where: str = "manifest.json") -> Recipe:
    """The recipe a features folder was made with (its ``manifest.json``), without copying anything."""
    try:
        settings = manifest.get("encoder_settings") or {}
        cfg = manifest.get("config") or {}
        geo = manifest["geo"]
        pdfm = cfg.get("pdfm")
        data = {
            "encoder": manifest["encoder"],
            "model": manifest["model"],
            "task_type": manifest.get("task_type"),
            "requested_task_type": settings.get("requested_task_type", cfg.get("task_type")),
            "text_dim": int(manifest.get("text_dim") or settings.get("dim") or 0),
            "dimensions": {m: int(d) for m, d in manifest["dimensions"].items()},
            "backend": settings.get("backend"),
            "vertex": (
                {k: (cfg.get("vertex") or {}).get(k) for k in ("location", "model")}
                if manifest["encoder"] == "vertex"
                else {}
            ),
            "geo": {
                "source": str(geo.get("source") or pdfm or ""),
                "standin": bool(geo.get("standin", pdfm is None)),
                "dims": int(geo["pdfm_dims"]),
                "sha256": geo.get("sha256"),
            },
            "platform_codes": {str(k): int(v) for k, v in manifest["platform_codes"].items()},
        }
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(
            f"{where}: not a features manifest with an embedding recipe ({err!r} missing)"
        ) from None
    return validate(Recipe, data, where)


def write_recipe(model_dir: str | Path, features_dir: str | Path) -> Recipe | None:
    """Write ``recipe.json`` (and the geo table, if it is a file) into a model folder being written.

    Called by ``campaignlab train`` with the features folder it trained on. Features not made by
    ``campaignlab embed`` (e.g. random projections) have no recipe: nothing is written, None returned.
    """
    model_dir, features_dir = Path(model_dir), Path(features_dir)
    manifest = read_json(features_dir / "manifest.json")
    recipe = _features_recipe(manifest, str(features_dir / "manifest.json"))
    if recipe is None:  # e.g. random-projection features of the tests: no text to re-embed
        return None
    if not recipe.geo.standin:
        src = Path((manifest.get("config") or {}).get("pdfm") or recipe.geo.source)
        if src.is_file():
            from campaignlab.features import geo

            digest = file_sha256(src)
            if recipe.geo.sha256 and recipe.geo.sha256 != digest:
                raise DataError(
                    f"PDFM table {str(src)!r} changed since the features were embedded "
                    f"(sha256 {digest[:12]} now, {recipe.geo.sha256[:12]} then): re-embed"
                )
            table = geo.load_pdfm(src)
            _write_geo_table(table, model_dir / GEO_TABLE_FILE)
            recipe.geo.sha256 = digest
            recipe.geo.file = GEO_TABLE_FILE
        else:
            warnings.warn(
                f"the PDFM table {str(src)!r} the features were embedded with is not readable here: the "
                "model folder will not carry it; predicting from raw campaigns will need --pdfm",
                stacklevel=2,
            )
    write_json(model_dir / RECIPE_FILE, recipe.model_dump(mode="json"))
    return recipe


def _write_geo_table(table: Any, path: Path) -> None:
    import pyarrow as pa

    from campaignlab.io import write_parquet

    vecs = np.ascontiguousarray(table.vectors, dtype=np.float32)
    t = pa.table(
        {
            "place_name": pa.array([f"zip/{z}" for z in table.zips], pa.string()),
            "features": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), vecs.shape[1]),
        }
    )
    write_parquet(t, path)


def read_recipe(model_dir: str | Path) -> Recipe:
    """The recipe of a model folder.

    Raises:
        DataError: the folder has no ``recipe.json`` (a model trained before recipes were recorded:
            retrain it) or the file is not a recipe.
    """
    path = Path(model_dir) / RECIPE_FILE
    if not path.is_file():
        raise DataError(
            f"model folder {str(model_dir)!r} has no {RECIPE_FILE}: it was trained before models recorded "
            "their embedding recipe; retrain it with `campaignlab train` to predict from raw campaigns"
        )
    return validate(Recipe, read_json(path), str(path))


def _features_recipe(manifest: dict[str, Any], where: str) -> Recipe | None:
    """The recipe of a features manifest, or None for features not made by ``campaignlab embed``."""
    if not isinstance(manifest, dict) or manifest.get("encoder") not in ("local", "vertex"):
        return None
    return recipe_from_manifest(manifest, where)


def check_features(
    model_dir: str | Path, features_manifest: dict[str, Any], features_dir: str | Path
) -> None:
    """Refuse features made with another recipe than the model's (a message naming both).

    A model folder without ``recipe.json`` is compared on what its ``model.json`` recorded of the
    training features (encoder, model, task type).

    Raises:
        DataError: the recipes differ.
    """
    model_dir = Path(model_dir)
    where = str(Path(features_dir) / "manifest.json")
    theirs = _features_recipe(features_manifest, where)
    if (model_dir / RECIPE_FILE).is_file():
        ours = read_recipe(model_dir)
        if theirs is None:
            raise DataError(
                f"features {str(features_dir)!r} were not made by `campaignlab embed` (encoder "
                f"{features_manifest.get('encoder')!r}); model {str(model_dir)!r} needs its recipe: "
                f"{ours.describe()}"
            )
        if ours.identity() != theirs.identity():
            diff = [k for k, v in ours.identity().items() if theirs.identity()[k] != v]
            raise DataError(
                f"features {str(features_dir)!r} were embedded with another recipe than model "
                f"{str(model_dir)!r} ({', '.join(diff)} differ): model: {ours.describe()}; features: "
                f"{theirs.describe()}. Re-embed with the model's recipe (`campaignlab predict --campaigns` "
                "re-embeds raw campaigns with it)"
            )
        return
    meta = read_json(model_dir / "model.json")
    old = (meta.get("features_manifest") or {}) if isinstance(meta, dict) else {}
    if old.get("encoder") not in ("local", "vertex") or theirs is None:
        return  # features not made by `embed` (e.g. random projections): the input widths are checked
    for key in ("encoder", "model", "task_type"):
        value = features_manifest.get(key) if isinstance(features_manifest, dict) else None
        if key in old and old[key] != value:
            raise DataError(
                f"features {str(features_dir)!r} were embedded with {key} {value!r}, model "
                f"{str(model_dir)!r} was trained on {key} {old[key]!r}: re-embed with the model's settings"
            )


def check_recipe(model_dir: str | Path, features_dir: str | Path) -> None:
    """:func:`check_features` on a features folder's ``manifest.json`` (nothing to check without one)."""
    path = Path(features_dir) / "manifest.json"
    if path.is_file():
        check_features(model_dir, read_json(path), features_dir)


# --- re-embedding raw campaigns ------------------------------------------------------------------


class CampaignEmbedder:
    """Embeds raw campaigns with a model's recipe; the encoder and the geo table load once.

    Text vectors come, in this order, from an in-memory LRU (``memory_items`` texts), the shared disk
    cache of ``campaignlab embed`` (the same namespace, so the texts the model was trained on are never
    re-embedded) and the encoder. With ``persist`` new vectors are written to the disk cache.

    Args:
        recipe: the model's recipe.
        model_dir: the model folder (for its copy of the geo table).
        cache_dir: embedding cache folder (default: the one ``campaignlab embed`` uses).
        use_cache: False reads and writes no disk cache.
        persist: write newly embedded texts to the disk cache.
        pdfm: a PDFM table file for a model whose folder does not carry its table (sha256 checked).
        memory_items: texts kept in memory.
        batch_size: local encoder texts per forward pass.
        vertex: overrides of the vertex encoder's settings (endpoint, project, ...).
    """

    def __init__(
        self,
        recipe: Recipe,
        model_dir: str | Path,
        *,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        persist: bool = True,
        pdfm: str | Path | None = None,
        memory_items: int = 200_000,
        batch_size: int = 64,
        vertex: dict[str, Any] | None = None,
    ) -> None:
        from campaignlab.features.cache import EmbeddingCache, default_cache_dir
        from campaignlab.features.encoders import make_encoder

        self.recipe = recipe
        self.model_dir = Path(model_dir)
        if recipe.encoder == "local":
            from campaignlab.features.local import BACKENDS, onnx_available

            backend = recipe.backend if recipe.backend in BACKENDS else "auto"
            if backend == "onnx" and not onnx_available():
                warnings.warn(
                    "the model's texts were embedded with the ONNX backend, which is not installed here: "
                    "using the torch reference (cosine >= 0.99 to it; probabilities may differ slightly)",
                    stacklevel=2,
                )
                backend = "torch"
            self.encoder = make_encoder(
                "local", task_type=recipe.requested_task_type, dim=recipe.text_dim, backend=backend,
                batch_size=batch_size,
            )  # fmt: skip
        else:
            options = {k: v for k, v in recipe.vertex.items() if v is not None}
            options.update({k: v for k, v in (vertex or {}).items() if v is not None})
            self.encoder = make_encoder("vertex", task_type=recipe.task_type, dim=recipe.text_dim, **options)
        got = self.encoder.cache_namespace()
        want = {"encoder": recipe.encoder, "model": recipe.model, "task_type": recipe.task_type,
                "dim": recipe.text_dim}  # fmt: skip
        if got != want:
            raise DataError(f"the encoder built from the recipe gives {got}, the recipe says {want}")
        self.cache = EmbeddingCache(cache_dir or default_cache_dir(), got) if use_cache else None
        if self.cache is not None:
            self.cache.refresh()
        self.persist = persist and use_cache
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self.memory_items = memory_items
        self._lock = threading.Lock()
        self._geo_table = self._load_geo(pdfm)
        self._zip_vectors: dict[str, np.ndarray | None] = {}
        self.stats = {"texts": 0, "memory_hits": 0, "cache_hits": 0, "embedded": 0}

    # -- geo ----------------------------------------------------------------------------------
    def _load_geo(self, pdfm: str | Path | None) -> Any:
        from campaignlab.features import geo

        g = self.recipe.geo
        if g.standin:
            return None  # stand-in vectors are computed per ZIP on demand (deterministic)
        if g.file and (self.model_dir / g.file).is_file():
            return geo.load_pdfm(self.model_dir / g.file)
        if pdfm is None:
            raise DataError(
                f"model {str(self.model_dir)!r} was trained on the PDFM table {g.source!r}, which its folder "
                "does not carry: pass that table with --pdfm"
            )
        digest = file_sha256(pdfm)
        if g.sha256 and digest != g.sha256:
            raise DataError(
                f"--pdfm {str(pdfm)!r} (sha256 {digest[:12]}) is not the table the model was trained on "
                f"({g.source}, sha256 {g.sha256[:12]})"
            )
        return geo.load_pdfm(pdfm)

    def zip_vectors(self, zips: Sequence[str]) -> dict[str, np.ndarray | None]:
        """Vector of each ZIP (None when the table does not have it), memoised."""
        from campaignlab.features import geo

        todo = sorted({z for z in zips if z not in self._zip_vectors})
        if todo:
            table = geo.standin_table(todo) if self._geo_table is None else self._geo_table
            for z in todo:
                i = table.index.get(z)
                self._zip_vectors[z] = None if i is None else table.vectors[i]
        return {z: self._zip_vectors[z] for z in zips}

    def pool_geo(self, zip_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """(N, dims + 2) geo vectors: centroid, coverage, missing flag (see :func:`geo.pool`)."""
        from campaignlab.features import geo

        flat = sorted({z for zs in zip_lists for z in zs})
        vecs = self.zip_vectors(flat)
        found = [z for z in flat if vecs[z] is not None]
        d = self.recipe.geo.dims
        mat = (
            np.stack([np.asarray(vecs[z]) for z in found]).astype(np.float32)
            if found
            else np.zeros((0, d), np.float32)
        )
        table = geo.PdfmTable(
            found, mat.reshape(len(found), d), self.recipe.geo.source, self.recipe.geo.standin
        )
        pooled, _ = geo.pool([list(zs) for zs in zip_lists], table)
        return pooled

    # -- text ---------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), text_dim) float32 vectors of ``texts`` (deduplicated, cached)."""
        uniq = list(dict.fromkeys(texts))
        out: dict[str, np.ndarray] = {}
        with self._lock:
            self.stats["texts"] += len(texts)
            for t in uniq:
                v = self._memory.get(t)
                if v is not None:
                    self._memory.move_to_end(t)
                    out[t] = v
            self.stats["memory_hits"] += len(out)
        missing = [t for t in uniq if t not in out]
        if missing and self.cache is not None:
            digests = [self.cache.digest(t) for t in missing]
            found, vecs = self.cache.lookup(digests)
            if vecs is not None:
                for t, v in zip([t for t, f in zip(missing, found, strict=True) if f], vecs, strict=True):
                    out[t] = v
            self.stats["cache_hits"] += int(found.sum())
            missing = [t for t, f in zip(missing, found, strict=True) if not f]
        if missing:
            # Longest first, as encode_texts does: batches of similar length pad little.
            order = sorted(missing, key=len, reverse=True)
            vecs = self.encoder.encode(order)
            if vecs.shape != (len(order), self.recipe.text_dim) or not np.isfinite(vecs).all():
                raise RuntimeError(
                    f"the {self.encoder.name} encoder returned {vecs.shape} or non-finite values"
                )
            for t, v in zip(order, vecs, strict=True):
                out[t] = v
            self.stats["embedded"] += len(order)
            if self.persist and self.cache is not None:
                self.cache.put([self.cache.digest(t) for t in order], vecs)
        with self._lock:
            for t in uniq:
                self._memory[t] = out[t]
                self._memory.move_to_end(t)
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
        if not texts:
            return np.zeros((0, self.recipe.text_dim), np.float32)
        return np.stack([out[t] for t in texts]).astype(np.float32, copy=False)

    # -- campaigns ----------------------------------------------------------------------------
    def platform_codes(self, platforms: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """Codes in the model's platform vocabulary; unseen platforms get the unknown code."""
        vocab = self.recipe.platform_codes
        codes = np.array([vocab.get(p, UNKNOWN_PLATFORM_CODE) for p in platforms], dtype=np.int32)
        unseen = sorted({p for p in platforms if p not in vocab})
        return codes, unseen

    def embed(
        self,
        audience: Sequence[str],
        brand: Sequence[str],
        creative: Sequence[str],
        platform: Sequence[str],
        geo: Sequence[Sequence[str]],
    ) -> dict[str, np.ndarray]:
        """Model inputs ``{modality: (N, D), "platform_code": (N,)}`` of N campaigns (validated fields)."""
        n = len(audience)
        columns = {"audience": audience, "brand": brand, "creative": creative, "platform": platform}
        if any(len(c) != n for c in (*columns.values(), geo)):
            raise ValueError("every campaign field needs one value per campaign")
        texts = [str(t) for m in TEXT_MODALITIES for t in columns[m]]
        vecs = self.encode(texts)
        out = {m: vecs[i * n : (i + 1) * n] for i, m in enumerate(TEXT_MODALITIES)}
        out["geo"] = self.pool_geo(geo)
        for m in MODALITIES:
            if out[m].shape[1] != self.recipe.dimensions[m]:
                raise DataError(
                    f"re-embedded {m} vectors are {out[m].shape[1]}-d, the model was trained on "
                    f"{self.recipe.dimensions[m]}-d"
                )
        out["platform_code"], _ = self.platform_codes(list(platform))
        return out
