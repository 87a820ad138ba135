"""campaignlab: predict marketing-campaign outcome tiers from multimodal data.

The core library is pure Python (no kfp, no docker). Heavy dependencies (torch, lightgbm, flwr,
sentence-transformers) are imported lazily inside the modules that need them.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# OpenMP threads (LightGBM, torch) sleep instead of spinning while they wait for work. On a shared or
# CPU-limited machine spinning threads starve each other: LightGBM with 2 threads beside one other busy
# process trained 4x slower than with 1 thread, and faster than 1 thread once waits were passive
# (benchmarks/threads.py). Set before those libraries load their OpenMP runtime; a user's value is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("campaignlab")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

LABEL_NAMES = ("negative", "average", "positive")
"""Class index -> name. 0 Negative, 1 Average, 2 Positive."""

MODALITIES = ("audience", "brand", "creative", "geo", "platform")
"""The five campaign modalities, in the canonical order used everywhere."""

TEXT_MODALITIES = tuple(m for m in MODALITIES if m != "geo")
"""The modalities a campaign describes in text (Geo is a list of ZIP codes)."""
