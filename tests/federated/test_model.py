"""GeneralisedJointModel_3cls_feat_drop and the shared train/test functions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from campaignlab import MODALITIES
from campaignlab.federated.model import (
    JointModelConfig,
    TrainParams,
    build_model,
    class_probabilities,
    loss_fn,
    train,
)
from campaignlab.federated.model import test as evaluate
from campaignlab.models.data import Features

DIMS = {"audience": 12, "brand": 10, "creative": 8, "geo": 6, "platform": 12}


def toy_data(n: int = 240, seed: int = 0) -> Features:
    """Labels decided by the sign of a brand x creative interaction (needs the joint embedding)."""
    rng = np.random.default_rng(seed)
    x = {m: rng.normal(size=(n, d)).astype(np.float32) for m, d in DIMS.items()}
    s = x["brand"][:, 0] * x["creative"][:, 0]
    y = np.where(s > 0.3, 2, np.where(s < -0.3, 0, 1)).astype(np.int8)
    return Features(
        sample_id=np.array([f"s{i}" for i in range(n)], dtype=object),
        split=np.full(n, "train", dtype=object),
        label=y,
        modalities=x,
        platform_code=rng.integers(0, 12, n).astype(np.int32),
    )


@pytest.mark.parametrize("p_mod", [0.0, 0.5])
def test_forward_backward_shapes(p_mod: float):
    torch.manual_seed(0)
    model = build_model(
        JointModelConfig(
            dims=DIMS, hidden_embed_dim=16, embed_dim=8, hidden_dim=8, modality_dropout_prob=p_mod
        )
    )
    assert type(model).__name__ == "GeneralisedJointModel_3cls_feat_drop"
    x = {m: torch.randn(7, d) for m, d in DIMS.items()}
    joint = model.forward_features(x)
    assert joint.shape == (7, 8)
    out = model.forward_head(joint)
    assert out["tier"].shape == (7, 3) and out["positive"].shape == (7,) and out["negative"].shape == (7,)
    loss = loss_fn(out, torch.tensor([0, 1, 2, 0, 1, 2, 1]))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    probs = class_probabilities(out)
    assert torch.allclose(probs.sum(-1), torch.ones(7), atol=1e-5) and (probs >= 0).all()


def test_class_probabilities_combine_heads():
    # Tier head undecided; the binary heads say "Positive, not Negative" -> Positive wins.
    out = {"tier": torch.zeros(1, 3), "positive": torch.tensor([5.0]), "negative": torch.tensor([-5.0])}
    p = class_probabilities(out)[0]
    assert int(p.argmax()) == 2 and p[2] > 0.6
    out = {
        "tier": torch.tensor([[4.0, 0.0, 0.0]]),
        "positive": torch.tensor([-5.0]),
        "negative": torch.tensor([5.0]),
    }
    assert int(class_probabilities(out)[0].argmax()) == 0


def test_modality_dropout_only_in_training():
    torch.manual_seed(0)
    model = build_model(
        JointModelConfig(
            dims=DIMS,
            hidden_embed_dim=8,
            embed_dim=4,
            hidden_dim=4,
            dropout_prob=0.0,
            modality_dropout_prob=0.9,
        )
    )
    x = {m: torch.randn(64, d) for m, d in DIMS.items()}
    model.eval()
    assert torch.equal(model.forward_features(x), model.forward_features(x))
    model.train()
    assert not torch.equal(model.forward_features(x), model.forward_features(x))


def test_train_learns_and_is_deterministic():
    data, held = toy_data(600, 0), toy_data(200, 1)
    cfg = JointModelConfig(dims=DIMS, hidden_embed_dim=32, embed_dim=16, hidden_dim=16, dropout_prob=0.1)
    params = TrainParams(epochs=12, batch_size=32, lr=5e-3, weight_decay=1e-4, seed=5)

    def run() -> tuple[dict, dict]:
        torch.manual_seed(0)
        model = build_model(cfg)
        before = evaluate(model, held)
        train(model, data, params)
        return before, evaluate(model, held)

    before, after = run()
    assert after["loss"] < before["loss"] - 0.3
    assert after["macro_f1"] > 0.6 > before["macro_f1"]
    assert set(after) >= {"loss", "macro_f1", "accuracy", "f1_negative", "f1_average", "f1_positive"}
    assert after["macro_f1"] == pytest.approx(
        np.mean([after["f1_negative"], after["f1_average"], after["f1_positive"]])
    )
    _, again = run()
    assert again == after  # same seed, same weights, same scores
    assert list(MODALITIES) == ["audience", "brand", "creative", "geo", "platform"]


def test_modality_dropout_is_arch2s():
    from campaignlab.models.robust_modality import ModalityDropout

    model = build_model(JointModelConfig(dims=DIMS, modality_dropout_prob=0.2))
    assert type(model.modality_dropout) is ModalityDropout and model.modality_dropout.p == 0.2


def test_platform_one_hot_is_built_from_platform_code():
    dims = {**DIMS, "platform": 12}  # one-hot width = number of platform values
    model = build_model(
        JointModelConfig(
            dims=dims, hidden_embed_dim=8, embed_dim=4, hidden_dim=4, one_hot=("platform",), n_platforms=12
        )
    )
    data = toy_data(20)
    res = evaluate(model, data)  # the platform embedding column is ignored, platform_code is used
    assert res["num-examples"] == 20
    data.modalities["platform"][:] = 99.0
    assert evaluate(model, data) == res


def test_lr_schedule_warmup_then_cosine():
    from campaignlab.federated.model import lr_factor

    # 10 steps, 2 of warm-up: 0.5, 1.0, then cosine from 1 down towards 0.
    f = [lr_factor(s, 10, 2, "cosine") for s in range(10)]
    assert f[:2] == [0.5, 1.0] and f[2] == pytest.approx(1.0)
    assert all(a > b for a, b in itertools.pairwise(f[2:])) and f[-1] < 0.05
    assert [lr_factor(s, 10, 0, "constant") for s in range(10)] == [1.0] * 10


def test_proximal_term_keeps_the_local_model_near_the_global_one():
    # FedProx: the larger mu, the closer the trained weights stay to the weights train() started from.
    data = toy_data(300, 0)
    cfg = JointModelConfig(dims=DIMS, hidden_embed_dim=16, embed_dim=8, hidden_dim=8)

    def drift(mu: float) -> float:
        torch.manual_seed(0)
        model = build_model(cfg)
        start = [p.detach().clone() for p in model.parameters()]
        train(model, data, TrainParams(epochs=3, batch_size=32, lr=5e-3, seed=1, proximal_mu=mu))
        with torch.no_grad():
            return float(sum(((p - s) ** 2).sum() for p, s in zip(model.parameters(), start, strict=True)))

    d0, d1, d10 = drift(0.0), drift(1.0), drift(10.0)
    assert d0 > d1 > d10
