"""Arch1, the shared latent space network (multimodal report, "Shared latent space").

Every modality gets its own projection block (Linear -> ReLU -> LayerNorm) into one latent width P. A
cosine embedding loss with target +1 over every pair of modality projections pulls the projections of
one campaign together; the projections are concatenated and classified by an MLP head (Linear -> ReLU ->
Dropout 0.3 -> Linear). Loss = cross-entropy + ``sim_weight`` x mean pairwise cosine loss; AdamW; early
stopping on validation macro F1. Tuned by grid search over layer sizes (small/medium/high), the
similarity weight and the batch size.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from campaignlab.models.base import EstimatorParams
from campaignlab.models.torch_training import MultimodalModule, TorchEstimator, TorchTrainParams

SIZES: dict[str, tuple[int, int]] = {"small": (64, 128), "medium": (128, 256), "high": (256, 512)}
"""Layer-size presets: name -> (projection width P, head hidden width H)."""


class SharedLatentParams(TorchTrainParams):
    """The estimator's parameters and their defaults (the constructor and the module config read them)."""

    size: Literal["small", "medium", "high"] = "medium"  # (P, H) from SIZES unless set below
    proj_dim: int | None = Field(None, ge=1)
    hidden_dim: int | None = Field(None, ge=1)
    dropout: float = Field(0.3, ge=0, lt=1)  # the report's head dropout
    sim_weight: float = Field(0.1, ge=0)  # weight of the cross-modal similarity loss


_DEFAULTS = SharedLatentParams()


@dataclass
class SharedLatentConfig:
    """Architecture of :class:`SharedLatentNet`; its defaults are :class:`SharedLatentParams`'."""

    input_dims: dict[str, int] = field(default_factory=dict)  # modality -> D_m
    proj_dim: int = SIZES[_DEFAULTS.size][0]  # P, the shared latent width
    hidden_dim: int = SIZES[_DEFAULTS.size][1]  # H, the head's hidden width
    dropout: float = _DEFAULTS.dropout
    sim_weight: float = _DEFAULTS.sim_weight


class SharedLatentNet(MultimodalModule):
    def __init__(self, config: SharedLatentConfig) -> None:
        super().__init__(config.input_dims)
        self.config = config
        p = config.proj_dim
        self.proj = nn.ModuleDict(
            {
                m: nn.Sequential(nn.Linear(d, p), nn.ReLU(), nn.LayerNorm(p))
                for m, d in config.input_dims.items()
            }
        )
        m = len(config.input_dims)
        self.head = nn.Sequential(
            nn.Linear(m * p, config.hidden_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_dim, 3),
        )
        self.pairs = list(itertools.combinations(range(m), 2))

    def forward_features(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.stats(x)
        return torch.stack([self.proj[m](x[m]) for m in self.modalities], dim=1)  # (B, M, P)

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        return self.head(feats.flatten(1))  # (B, M*P) -> (B, 3)

    def similarity_loss(self, feats: torch.Tensor) -> torch.Tensor:
        """Mean over modality pairs of CosineEmbeddingLoss(target=+1), i.e. mean(1 - cos)."""
        z = nn.functional.normalize(feats, dim=-1)  # (B, M, P)
        cos = z @ z.transpose(1, 2)  # (B, M, M)
        i, j = zip(*self.pairs, strict=True)
        return (1 - cos[:, list(i), list(j)]).mean()

    def aux_loss(self, feats: torch.Tensor) -> torch.Tensor:
        return self.config.sim_weight * self.similarity_loss(feats)


class SharedLatentClassifier(TorchEstimator):
    """Arch1 estimator; ``size`` picks (P, H) from :data:`SIZES` unless ``proj_dim``/``hidden_dim`` set."""

    name: ClassVar[str] = "shared_latent"
    Params: ClassVar[type[EstimatorParams]] = SharedLatentParams
    module_cls: ClassVar[Any] = SharedLatentNet
    config_cls: ClassVar[Any] = SharedLatentConfig

    def _module_config(self, p: dict[str, Any], dims: dict[str, int]) -> SharedLatentConfig:
        proj, hidden = SIZES[p["size"]]
        return SharedLatentConfig(
            input_dims=dims,
            proj_dim=p["proj_dim"] or proj,
            hidden_dim=p["hidden_dim"] or hidden,
            dropout=p["dropout"],
            sim_weight=p["sim_weight"],
        )

    @classmethod
    def grid(cls) -> list[dict[str, Any]]:
        """The report's grid: layer sizes x similarity weight x batch size (18 points)."""
        return [
            {"size": s, "sim_weight": w, "batch_size": b}
            for s in SIZES
            for w in (0.05, 0.1, 0.5)
            for b in (128, 256)
        ]
