"""A content-addressed embedding cache on disk, safe for concurrent writers.

Layout: ``ROOT/<namespace>/<block>.npz``. The namespace is a hash of what determines a vector besides
the text (encoder, model, task type, dimensionality); inside it each text is addressed by the SHA-256
of the namespace key and the text. A block holds ``keys`` (n, 32) uint8 digests and ``vectors``
(n, D) float32.

Why blocks and not one file per text: a full dataset has ~10^5 texts, and one small file each is slow
to write and to list. Why it is safe with two processes writing at once: every writer only ever creates
new block files under a unique name (write to a temporary file, then ``os.replace``), and readers only
ever see complete blocks; the same text written twice just appears twice with the same vector.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import uuid
from pathlib import Path

import numpy as np

DIGEST_BYTES = 32


def default_cache_dir() -> Path:
    """``$CAMPAIGNLAB_CACHE/embeddings`` if set, else ``~/.cache/campaignlab/embeddings``."""
    base = os.environ.get("CAMPAIGNLAB_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "campaignlab"
    return root / "embeddings"


class EmbeddingCache:
    """Vectors of texts under one namespace (encoder, model, task type, dimensionality).

    Args:
        root: cache folder (created on first write).
        namespace: the settings that determine a vector besides its text.
    """

    def __init__(self, root: str | Path, namespace: dict[str, object]) -> None:
        self.root = Path(root)
        self.namespace_key = json.dumps(namespace, sort_keys=True, separators=(",", ":"))
        ns_hash = hashlib.sha256(self.namespace_key.encode()).hexdigest()[:24]
        self.folder = self.root / ns_hash
        self.dim: int | None = None
        self._index: dict[bytes, tuple[int, int]] = {}
        self._blocks: list[np.ndarray] = []
        self._loaded_files: set[str] = set()

    def digest(self, text: str) -> bytes:
        """Content address of ``text`` within this namespace."""
        h = hashlib.sha256(self.namespace_key.encode())
        h.update(b"\x00")
        h.update(text.encode("utf-8"))
        return h.digest()

    def refresh(self) -> None:
        """Load any block files written (by us or another process) since the last refresh."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.npz")):
            if path.name in self._loaded_files:
                continue
            try:
                with np.load(path) as z:
                    keys, vecs = z["keys"], z["vectors"]
            except (OSError, ValueError, KeyError):
                # A foreign or damaged file is ignored, never fatal: its texts are simply re-embedded.
                continue
            self._loaded_files.add(path.name)
            if vecs.ndim != 2 or keys.shape != (len(vecs), DIGEST_BYTES):
                continue
            if self.dim is None:
                self.dim = int(vecs.shape[1])
            elif vecs.shape[1] != self.dim:
                continue
            b = len(self._blocks)
            self._blocks.append(np.asarray(vecs, dtype=np.float32))
            for i, k in enumerate(keys):
                self._index[k.tobytes()] = (b, i)

    def __len__(self) -> int:
        return len(self._index)

    def lookup(self, digests: list[bytes]) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``(found mask (n,) bool, vectors of the found ones (k, D) or None)``."""
        found = np.array([d in self._index for d in digests], dtype=bool)
        if not found.any():
            return found, None
        rows = [self._index[d] for d, f in zip(digests, found, strict=True) if f]
        vecs = np.stack([self._blocks[b][i] for b, i in rows])
        return found, vecs

    def put(self, digests: list[bytes], vectors: np.ndarray) -> None:
        """Add vectors as one new block file (atomic; concurrent writers never clash)."""
        if len(digests) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        keys = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(digests), DIGEST_BYTES)
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "namespace.json"
        if not meta.exists():
            _atomic_bytes(meta, (self.namespace_key + "\n").encode())
        name = f"{uuid.uuid4().hex}.npz"
        fd, tmp = tempfile.mkstemp(prefix=".block-", suffix=".npz.tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, keys=keys, vectors=vectors)
            os.replace(tmp, self.folder / name)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self._loaded_files.add(name)
        if self.dim is None:
            self.dim = int(vectors.shape[1])
        b = len(self._blocks)
        self._blocks.append(vectors)
        for i, d in enumerate(digests):
            self._index[d] = (b, i)


def _atomic_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
