"""campaignlab: predict marketing-campaign outcome tiers from multimodal data.

The core library is pure Python (no kfp, no docker). Heavy dependencies (torch, lightgbm, flwr,
sentence-transformers) are imported lazily inside the modules that need them.
"""

from importlib.metadata import PackageNotFoundError, version

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
