"""KFP v2 pipelines (``@dsl.pipeline`` definitions) and their compile/submit/schedule entry points.

Pipelines are looked up by name and imported on first use; importing this package imports no
pipeline, no kfp and no heavy library.
"""

from __future__ import annotations

import importlib
from typing import Any

PIPELINES: dict[str, str] = {
    "training": "pipelines.training:training",
    "federated": "pipelines.federated:federated",
    "experiments": "pipelines.experiments:experiments",
    "retraining": "pipelines.retraining:retraining",
    "prediction": "pipelines.prediction:prediction",
}
"""Pipeline name (as given to ``campaignlab pipeline compile NAME``) -> ``module:function``."""


def names() -> list[str]:
    return list(PIPELINES)


def get(name: str) -> Any:
    """The ``@dsl.pipeline`` object registered as ``name`` (a kfp GraphComponent)."""
    from campaignlab.errors import ConfigError

    if name not in PIPELINES:
        raise ConfigError(f"pipeline: got {name!r} -> expected one of {names()}")
    module, attr = PIPELINES[name].split(":")
    return getattr(importlib.import_module(module), attr)
