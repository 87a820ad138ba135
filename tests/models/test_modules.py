"""The networks' parts: shapes forward and backward, modality dropout, similarity loss, downsampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from campaignlab import MODALITIES
from campaignlab.models import registry
from campaignlab.models.hierarchical_lgbm import downsample_majority
from campaignlab.models.robust_modality import ModalityDropout, RobustModalityConfig, RobustModalityNet
from campaignlab.models.shared_latent import SharedLatentConfig, SharedLatentNet
from campaignlab.models.torch_training import MultimodalModule, TorchEstimator

DIMS = {"audience": 12, "brand": 10, "creative": 10, "geo": 7, "platform": 5}
TORCH_MODELS = [n for n in registry.names() if issubclass(registry.get(n), TorchEstimator)]


def batch(b: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(b, d, generator=g) for m, d in DIMS.items()}


def build(name: str) -> MultimodalModule:
    est = registry.get(name)(proj_dim=8, random_state=0)
    config = est._module_config(est._checked_params(), DIMS)
    return est._build(config)


def test_every_network_is_registered() -> None:
    assert TORCH_MODELS == ["shared_latent", "robust_modality"]


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_forward_backward_shapes_and_finite(name: str) -> None:
    net = build(name).train()
    x = batch()
    feats = net.forward_features(x)
    assert feats.shape == (6, len(MODALITIES), 8)  # (B, M, P)
    logits = net.forward_head(feats)
    assert logits.shape == (6, 3)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0, 1, 2])) + net.aux_loss(feats)
    loss.backward()
    assert torch.isfinite(loss)
    grads = {n: p.grad for n, p in net.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values()), (
        "a parameter got no gradient"
    )
    for m in MODALITIES:  # every modality's projection learns
        assert any(g.abs().sum() > 0 for n, g in grads.items() if n.startswith(f"proj.{m}."))
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(x), net(x))  # eval is deterministic (no dropout)


def test_modality_dropout_zeroes_whole_modalities_only_in_training() -> None:
    torch.manual_seed(0)
    drop = ModalityDropout(0.4).train()
    feats = torch.ones(2000, 5, 3)
    out = drop(feats)
    per_modality = out.sum(-1)  # (B, M): 3 where kept, 0 where dropped
    assert set(per_modality.unique().tolist()) == {0.0, 3.0}  # whole modalities, not single units
    assert (per_modality > 0).any(1).all()  # never every modality of a sample
    share = (per_modality == 0).float().mean().item()
    assert 0.33 < share < 0.42  # about p, a little less because one modality is always kept
    assert torch.equal(drop.eval()(feats), feats)


def test_similarity_loss_is_mean_pairwise_cosine_loss() -> None:
    cfg = SharedLatentConfig(input_dims={"a": 2, "b": 2, "c": 2}, proj_dim=2, sim_weight=0.5)
    net = SharedLatentNet(cfg)
    same = torch.tensor([[[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]])  # (1, 3, 2) all aligned
    assert net.similarity_loss(same).item() == pytest.approx(0.0, abs=1e-7)
    # pairs (a,b): cos 0 -> 1; (a,c): cos -1 -> 2; (b,c): cos 0 -> 1; mean 4/3
    mixed = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]])
    assert net.similarity_loss(mixed).item() == pytest.approx(4 / 3)
    ref = torch.nn.CosineEmbeddingLoss()
    one = torch.ones(1)
    expected = (
        ref(mixed[:, 0], mixed[:, 1], one)
        + ref(mixed[:, 0], mixed[:, 2], one)
        + ref(mixed[:, 1], mixed[:, 2], one)
    ) / 3
    assert net.similarity_loss(mixed).item() == pytest.approx(expected.item())
    assert net.aux_loss(mixed).item() == pytest.approx(0.5 * 4 / 3)


def test_robust_projection_follows_the_report() -> None:
    literal = RobustModalityNet(RobustModalityConfig(input_dims={"a": 4}))
    assert [type(m).__name__ for m in literal.proj["a"]] == ["Linear", "Dropout", "Linear", "LayerNorm"]
    relu = RobustModalityNet(RobustModalityConfig(input_dims={"a": 4}, proj_activation="relu"))
    kinds = [type(m).__name__ for m in relu.proj["a"]]
    assert kinds == ["Linear", "ReLU", "Dropout", "Linear", "LayerNorm"]
    head = [type(m).__name__ for m in literal.head]
    assert head == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]


def test_shared_latent_blocks_follow_the_report() -> None:
    net = SharedLatentNet(SharedLatentConfig(input_dims={"a": 4, "b": 3}))
    assert [type(m).__name__ for m in net.proj["b"]] == ["Linear", "ReLU", "LayerNorm"]
    assert [type(m).__name__ for m in net.head] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert net.head[2].p == 0.3


def test_downsampling_caps_the_majority_at_1_4_times_the_minority() -> None:
    y = np.array([0] * 10 + [1] * 3)
    keep = downsample_majority(y, 1.4, np.random.default_rng(0))
    assert np.bincount(y[keep]).tolist() == [4, 3]  # floor(1.4 * 3) = 4 majority rows kept
    assert (np.diff(keep) > 0).all()  # row order kept
    assert set(np.flatnonzero(y == 1)) <= set(keep)  # every minority row kept
    within = np.array([0] * 7 + [1] * 5)  # 7 <= 1.4 * 5: untouched
    assert len(downsample_majority(within, 1.4, np.random.default_rng(0))) == 12
    assert len(downsample_majority(y, None, np.random.default_rng(0))) == 13
