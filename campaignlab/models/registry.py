"""Registered estimators: name -> class, used by the CLI, the benchmark and the tests.

Classes are imported on first use so that listing names never loads torch or LightGBM.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from campaignlab.errors import ConfigError
from campaignlab.io import require_complete
from campaignlab.models.base import MODEL_JSON, Estimator, read_model_json

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
    """Load a published model folder (``campaignlab train`` output; its model.json names the type).

    ``Estimator.save`` / ``Estimator.load`` read and write the model files of a plain folder; this is
    the reader of model *outputs*: it refuses a folder that was not completely published.
    """
    require_complete(folder, "model folder", needs=(MODEL_JSON,))
    meta = read_model_json(folder)
    return get(meta["type"]).load(folder)
