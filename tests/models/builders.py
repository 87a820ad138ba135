"""Test inputs built from a generated dataset (TEST DATA, not an encoder).

``write_projected_features`` writes a ``features.parquet`` of the exact embedding contract with
:func:`campaignlab.features.projection.projection_features`: each modality's vector is a fixed random
projection of the sample's node multi-hot vector (seeded, plus a little noise). It stands in for real
text/geo embeddings so model tests run in seconds; real embeddings come from ``campaignlab embed``.
"""

from __future__ import annotations

from pathlib import Path

from campaignlab.features.projection import projection_features

TEST_DIMS = {"audience": 48, "brand": 48, "creative": 48, "geo": 40, "platform": 16}


def write_projected_features(
    dataset: Path, out: Path, *, dims: dict[str, int] | None = None, seed: int = 0
) -> Path:
    """Write ``out/features.parquet`` (+ manifest.json) from ``dataset``'s node lists."""
    return projection_features(dataset, out, dims or TEST_DIMS, seed=seed, noise=0.01)
