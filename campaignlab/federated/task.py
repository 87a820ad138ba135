"""What the ServerApp, the ClientApp and the centralized baseline share (Flower baselines' ``task.py``).

One definition each of: reading a partition file, the model built from a :class:`FederatedConfig`, and
the local-training parameters. The apps and :mod:`campaignlab.federated.simulation` call these, so no
side rebuilds the model config or the training parameters on its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from campaignlab.errors import DataError
from campaignlab.models.data import Features, load_features_file

from .config import FederatedConfig
from .model import JointModelConfig, TrainParams, build_model, input_dims


def load_partition_file(path: str | Path, n_platforms: int = 12) -> Features:
    """One partition file (a client's rows or the server test set), read like a features folder."""
    data = load_features_file(path)
    code = data.platform_code
    if len(code) and (code.min() < 0 or code.max() >= n_platforms):
        raise DataError(f"{str(path)!r}: platform_code outside [0, {n_platforms})")
    return data


def joint_model_config(cfg: FederatedConfig, data: Features, n_platforms: int = 12) -> JointModelConfig:
    """The model's architecture from the ``model:`` section and the data's widths."""
    one_hot = tuple(cfg.general.one_hot_modalities or ())
    m = cfg.model
    return JointModelConfig(
        dims=input_dims(data, one_hot, n_platforms),
        hidden_embed_dim=m.hidden_embed_dim,
        embed_dim=m.embed_dim,
        hidden_dim=m.hidden_dim,
        dropout_prob=m.dropout_prob,
        modality_dropout_prob=m.modality_dropout_prob,
        one_hot=one_hot,
        n_platforms=n_platforms,
    )


def make_model(cfg: FederatedConfig, data: Features, n_platforms: int = 12) -> Any:
    """An untrained model for ``data`` (weights are then loaded, or seeded by :func:`initial_model`)."""
    return build_model(joint_model_config(cfg, data, n_platforms))


def initial_model(cfg: FederatedConfig, data: Features, n_platforms: int = 12) -> Any:
    """The seeded initial global model (the centralized baseline starts from the same weights)."""
    import torch

    torch.manual_seed(cfg.general.random_seed)
    return make_model(cfg, data, n_platforms)


def train_params(
    cfg: FederatedConfig, *, epochs: int | None = None, seed: int | None = None, proximal_mu: float = 0.0
) -> TrainParams:
    """Local-training parameters from the ``model:`` section (``epochs`` default: ``local_epochs``)."""
    m = cfg.model
    return TrainParams(
        epochs=m.local_epochs if epochs is None else epochs,
        batch_size=m.batch_size,
        lr=m.lr,
        weight_decay=m.weight_decay,
        seed=cfg.general.random_seed if seed is None else seed,
        lr_schedule=m.lr_schedule,
        warmup_epochs=m.warmup_epochs,
        proximal_mu=proximal_mu,
    )


def client_seed(seed: int, server_round: int, partition_id: int) -> int:
    """A distinct, reproducible seed per (run seed, round, client)."""
    return (seed * 1_000_003 + server_round * 10_007 + partition_id * 101) % (2**31 - 1)


def flip_labels(data: Features) -> Features:
    """Label-flipping attack: Negative <-> Positive (Average stays)."""
    from dataclasses import replace

    return replace(data, label=(2 - data.label).astype(np.int8))
