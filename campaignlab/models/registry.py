"""Registered estimators: name -> class, used by the CLI, the benchmark and the tests.

Classes are imported on first use so that listing names never loads torch or LightGBM.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from campaignlab.errors import ConfigError
from campaignlab.models.base import Estimator, read_model_json

REGISTRY: dict[str, str] = {
    "hierarchical_lgbm": "campaignlab.models.hierarchical_lgbm:HierarchicalLGBMClassifier",
    "shared_latent": "campaignlab.models.shared_latent:SharedLatentClassifier",
    "robust_modality": "campaignlab.models.robust_modality:RobustModalityClassifier",
}
"""Registry name -> ``module:Class``. Names are also ``--model`` values and model.json ``type``s."""


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> type[Estimator]:
    """The estimator class registered as ``name``."""
    if name not in REGISTRY:
        raise ConfigError(f"model: got {name!r} -> expected one of {names()}")
    module, cls = REGISTRY[name].split(":")
    found: type[Estimator] = getattr(importlib.import_module(module), cls)
    return found


def load_model(folder: str | Path) -> Estimator:
    """Load any saved model folder (its model.json names the type)."""
    meta = read_model_json(folder)
    return get(meta["type"]).load(folder)
