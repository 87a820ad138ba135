"""``GeneralisedJointModel_3cls_feat_drop`` and the train/test functions shared by every training mode.

Centralized training, the Flower ``ClientApp`` and the ``ServerApp``'s evaluation all call :func:`train`
and :func:`test` below (the Flower-baselines layout), so the only difference between the federated run
and its centralized baseline is who sees which rows.

Architecture (shapes for a batch of B samples, M = 5 modalities)::

    x[m] (B, D_m) -> encoder_m: LayerNorm, feature dropout, Linear(D_m, hidden_embed_dim), GELU,
                     dropout, Linear(hidden_embed_dim, embed_dim)                  -> z_m (B, E)
    modality dropout (training only): each z_m of each sample is zeroed with prob p_mod (one kept)
    concat z_m (B, M*E) -> Linear(M*E, E), LayerNorm, GELU, dropout               -> joint (B, E)
    three heads, each Linear(E, hidden_dim), GELU, dropout, Linear(hidden_dim, k) on the joint embedding:
      * ``tier``      k=3: Negative / Average / Positive (softmax);
      * ``positive``  k=1: is the campaign Positive (vs the rest)? (sigmoid);
      * ``negative``  k=1: is the campaign Negative (vs the rest)? (sigmoid).

Loss = cross-entropy(tier) + BCE(positive) + BCE(negative). The final class is the argmax of the mean of
the tier head's softmax and the class distribution the two binary heads imply,
``[p_neg (1 - p_pos), (1 - p_neg)(1 - p_pos), p_pos (1 - p_neg)]`` renormalised: the one-vs-rest heads
sharpen the Positive/Negative boundaries that noise blurs most, the tier head keeps Average calibrated.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from campaignlab import MODALITIES
from campaignlab.evaluation.metrics import scores
from campaignlab.models.data import Features

if TYPE_CHECKING:  # torch is imported inside functions so the CLI stays light
    import torch

MODEL_NAME = "GeneralisedJointModel_3cls_feat_drop"


@dataclass
class JointModelConfig:
    """Architecture of :func:`build_model` (the ``model:`` section's architecture fields).

    ``one_hot`` modalities (only ``platform``) are fed as a one-hot of ``platform_code`` over
    ``n_platforms`` values instead of their embedding; ``dims`` then holds ``n_platforms`` for them.
    """

    dims: dict[str, int] = field(default_factory=dict)
    hidden_embed_dim: int = 256
    embed_dim: int = 256
    hidden_dim: int = 256
    dropout_prob: float = 0.3
    modality_dropout_prob: float = 0.0
    one_hot: tuple[str, ...] = ()
    n_platforms: int = 12


@dataclass
class TrainParams:
    """Local-training hyperparameters (the ``model:`` section's training fields).

    ``lr_schedule`` ``cosine`` decays the rate to 0 over the call; ``warmup_epochs`` ramps it up linearly
    first. ``proximal_mu`` > 0 adds FedProx's ``mu / 2 * ||w - w_start||^2`` (``w_start`` = the weights the
    call started from, i.e. the global model).
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 42
    lr_schedule: str = "constant"
    warmup_epochs: float = 0.0
    proximal_mu: float = 0.0


def concat_features(parts: Sequence[Features]) -> Features:
    """Rows of several :class:`Features` one after the other (the centralized baseline's data)."""
    if not parts:
        raise ValueError("no data to concatenate")
    return Features(
        sample_id=np.concatenate([p.sample_id for p in parts]),
        split=np.concatenate([p.split for p in parts]),
        label=np.concatenate([p.label for p in parts]),
        modalities={m: np.concatenate([p.modalities[m] for p in parts]) for m in MODALITIES},
        platform_code=np.concatenate([p.platform_code for p in parts]),
    )


def input_dims(data: Features, one_hot: Sequence[str] = (), n_platforms: int = 12) -> dict[str, int]:
    """The model's input width per modality: the embedding's, or ``n_platforms`` for one-hot ones."""
    return {m: (n_platforms if m in one_hot else d) for m, d in data.dims.items()}


def build_model(cfg: JointModelConfig) -> Any:
    """Create a ``GeneralisedJointModel_3cls_feat_drop`` (a ``torch.nn.Module``) for ``cfg.dims``."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    from campaignlab.models.robust_modality import ModalityDropout

    class ModalityEncoder(nn.Module):
        def __init__(self, d_in: int) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.LayerNorm(d_in),  # text and geo vectors come on different scales
                nn.Dropout(cfg.dropout_prob),  # feature dropout on the input vector
                nn.Linear(d_in, cfg.hidden_embed_dim),
                nn.GELU(),
                nn.Dropout(cfg.dropout_prob),
                nn.Linear(cfg.hidden_embed_dim, cfg.embed_dim),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    def head(k: int) -> nn.Module:
        return nn.Sequential(
            nn.Linear(cfg.embed_dim, cfg.hidden_dim),
            nn.GELU(),
            nn.Dropout(cfg.dropout_prob),
            nn.Linear(cfg.hidden_dim, k),
        )

    class GeneralisedJointModel_3cls_feat_drop(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            missing = [m for m in MODALITIES if m not in cfg.dims]
            if missing:
                raise ValueError(f"dims lacks modalities {missing}")
            self.config = cfg
            self.encoders = nn.ModuleDict({m: ModalityEncoder(cfg.dims[m]) for m in MODALITIES})
            self.fusion = nn.Sequential(
                nn.Linear(len(MODALITIES) * cfg.embed_dim, cfg.embed_dim),
                nn.LayerNorm(cfg.embed_dim),
                nn.GELU(),
                nn.Dropout(cfg.dropout_prob),
            )
            self.heads = nn.ModuleDict({"tier": head(3), "positive": head(1), "negative": head(1)})
            # The same modality dropout as Arch2: whole modalities of a training sample zeroed.
            self.modality_dropout = ModalityDropout(cfg.modality_dropout_prob)

        def _input(self, x: dict[str, torch.Tensor], m: str) -> torch.Tensor:
            if m in cfg.one_hot:  # (B,) int codes -> (B, n_platforms)
                return F.one_hot(x["platform_code"].long(), cfg.n_platforms).float()
            return x[m]

        def forward_features(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
            z = torch.stack([self.encoders[m](self._input(x, m)) for m in MODALITIES], dim=1)  # (B, M, E)
            z = self.modality_dropout(z)
            return self.fusion(z.flatten(1))  # (B, E)

        def forward_head(self, joint: torch.Tensor) -> dict[str, torch.Tensor]:
            return {
                "tier": self.heads["tier"](joint),  # (B, 3)
                "positive": self.heads["positive"](joint).squeeze(-1),  # (B,)
                "negative": self.heads["negative"](joint).squeeze(-1),  # (B,)
            }

        def forward(self, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return self.forward_head(self.forward_features(x))

    return GeneralisedJointModel_3cls_feat_drop()


def class_probabilities(out: dict[str, torch.Tensor]) -> torch.Tensor:
    """(B, 3) final class probabilities from the three heads (see the module docstring)."""
    import torch

    tier = torch.softmax(out["tier"], dim=-1)
    pp = torch.sigmoid(out["positive"])
    pn = torch.sigmoid(out["negative"])
    q = torch.stack([pn * (1 - pp), (1 - pn) * (1 - pp), pp * (1 - pn)], dim=-1)
    q = q / q.sum(dim=-1, keepdim=True).clamp_min(1e-8)
    return 0.5 * (tier + q)


def loss_fn(out: dict[str, torch.Tensor], y: torch.Tensor) -> torch.Tensor:
    """Multi-task loss: CE on the tier head + BCE on the Positive and Negative one-vs-rest heads."""
    from torch.nn import functional as F

    return (
        F.cross_entropy(out["tier"], y)
        + F.binary_cross_entropy_with_logits(out["positive"], (y == 2).float())
        + F.binary_cross_entropy_with_logits(out["negative"], (y == 0).float())
    )


def _tensors(data: Features, device: Any = "cpu") -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    import torch

    x = {k: torch.from_numpy(np.ascontiguousarray(a)).to(device) for k, a in data.inputs.items()}
    return x, torch.from_numpy(data.label.astype(np.int64)).to(device)


def _device() -> Any:
    """Where to compute: the GPU when torch sees one (a client given ``num_gpus`` by Ray sees it), else
    the CPU. The model stays on the CPU between calls, so Flower's weight records never hold GPU tensors."""
    from campaignlab.models.base import torch_device

    return torch_device("auto")


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """Multiplier of the base lr at optimiser step ``step`` of ``total`` (linear warm-up, then schedule)."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if schedule == "cosine":
        t = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))
    return 1.0


def train(model: Any, data: Features, params: TrainParams, progress: Any = None) -> dict[str, float]:
    """Train ``model`` in place for ``params.epochs`` epochs of AdamW on ``data``.

    Returns ``{"train_loss": mean loss of the last epoch, "num-examples": N, "seconds": s}``. The
    shuffling and dropout are seeded from ``params.seed``, so the same call gives the same weights.
    """
    import torch

    if len(data) == 0:
        raise ValueError("no training rows")
    t0 = time.perf_counter()
    torch.manual_seed(params.seed)
    gen = torch.Generator().manual_seed(params.seed)  # on the CPU: the same shuffles on every device
    device = _device()
    x, y = _tensors(data, device)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    n = len(y)
    steps_per_epoch = math.ceil(n / params.batch_size)
    total = steps_per_epoch * params.epochs
    warmup = round(params.warmup_epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: lr_factor(step, total, warmup, params.lr_schedule)
    )
    start = (
        [p.detach().clone() for p in model.parameters()] if params.proximal_mu > 0 else []
    )  # FedProx's anchor: the global weights this round started from
    model.train()
    last = 0.0
    for epoch in range(params.epochs):
        order = torch.randperm(n, generator=gen)
        total_loss = 0.0
        for s in range(0, n, params.batch_size):
            idx = order[s : s + params.batch_size].to(device)
            out = model({k: v[idx] for k, v in x.items()})
            loss = loss_fn(out, y[idx])
            if start:
                prox = sum(((p - p0) ** 2).sum() for p, p0 in zip(model.parameters(), start, strict=True))
                loss = loss + 0.5 * params.proximal_mu * prox
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += float(loss.detach()) * len(idx)
        last = total_loss / n
        if progress is not None:
            progress("train epochs", epoch + 1, params.epochs)
    model.to("cpu")
    return {"train_loss": last, "num-examples": float(n), "seconds": time.perf_counter() - t0}


def predict_proba(model: Any, data: Features, batch_size: int = 4096) -> np.ndarray:
    """(N, 3) class probabilities in eval mode."""
    import torch

    device = _device()
    x, _ = _tensors(data, device)
    model.to(device).eval()
    outs = []
    with torch.no_grad():
        for s in range(0, len(data), batch_size):
            out = model({k: v[s : s + batch_size] for k, v in x.items()})
            outs.append(class_probabilities(out).cpu())
    model.to("cpu")
    return torch.cat(outs).numpy() if outs else np.zeros((0, 3), np.float32)


def test(model: Any, data: Features, batch_size: int = 4096) -> dict[str, float]:
    """Evaluate: ``loss`` (the training loss, mean per sample), macro F1, per-class F1, accuracy, N."""
    import torch

    device = _device()
    x, y = _tensors(data, device)
    model.to(device).eval()
    total = 0.0
    probs = []
    with torch.no_grad():
        for s in range(0, len(data), batch_size):
            sl = slice(s, s + batch_size)
            out = model({k: v[sl] for k, v in x.items()})
            total += float(loss_fn(out, y[sl])) * len(y[sl])
            probs.append(class_probabilities(out).cpu())
    model.to("cpu")
    pred = torch.cat(probs).argmax(dim=-1).numpy() if probs else np.zeros(0, np.int64)
    res = {"loss": total / max(len(data), 1), "num-examples": float(len(data))}
    res.update(scores(data.label, pred))  # macro F1, per-class F1, weighted F1s, accuracy
    return res


def model_config_dict(cfg: JointModelConfig) -> dict[str, Any]:
    return asdict(cfg)
