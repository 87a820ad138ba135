"""Per-modality explanations must carry signal: on data whose label ignores one modality, that modality's
attribution is near zero, and the attributions rank the modalities as removing them hurts the model.

These tests fail for noise: random attributions would give the ignored modality as much weight as the
others and would not agree with the permutation ranking.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from campaignlab import MODALITIES
from campaignlab.models import registry
from campaignlab.serving.explain import explain, shapley_weights

# The label is a noisy function of four modalities with decreasing weight; platform is ignored.
WEIGHTS = {"audience": 2.0, "brand": 1.4, "creative": 0.9, "geo": 0.5, "platform": 0.0}
DIMS = {"audience": 12, "brand": 10, "creative": 8, "geo": 6, "platform": 6}
PARAMS = {
    "hierarchical_lgbm": {"stage1_n_estimators": 120, "stage2_n_estimators": 120, "n_jobs": 1},
    "shared_latent": {"size": "small", "max_epochs": 40, "patience": 8, "batch_size": 128, "n_jobs": 1},
    "robust_modality": {"proj_hidden": 32, "proj_dim": 16, "head_hidden": 32, "max_epochs": 40, "patience": 8,
                        "batch_size": 128, "modality_dropout": 0.0, "n_jobs": 1},
}  # fmt: skip


def make_data(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Inputs and labels: tiers are the score's tertiles; the platform vectors and code are pure noise."""
    rng = np.random.default_rng(seed)
    X = {m: rng.standard_normal((n, d)).astype(np.float32) for m, d in DIMS.items()}
    X["platform_code"] = rng.integers(0, 6, n).astype(np.int32)
    score = sum(w * X[m][:, 0] for m, w in WEIGHTS.items()) + 0.2 * rng.standard_normal(n)
    y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple]:
    X, y = make_data(2400, 0)
    Xt, yt = make_data(300, 1)
    out = {}
    for name, params in PARAMS.items():
        est = registry.get(name)(**params, random_state=0).fit(X, y)
        out[name] = (est, Xt, yt)
    return out


def permutation_drop(est, X: dict[str, np.ndarray], target: np.ndarray, seed: int = 0) -> np.ndarray:
    """Mean drop of the target class's probability when one modality is shuffled across rows."""
    rng = np.random.default_rng(seed)
    base = est.predict_proba(X)[np.arange(len(target)), target]
    drops = []
    for m in MODALITIES:
        perm = rng.permutation(len(target))
        Xp = dict(X)
        Xp[m] = X[m][perm]
        if m == "platform":
            Xp["platform_code"] = X["platform_code"][perm]
        drops.append(np.mean(base - est.predict_proba(Xp)[np.arange(len(target)), target]))
    return np.array(drops)


@pytest.mark.parametrize("family", list(PARAMS))
def test_ignored_modality_gets_near_zero_attribution(family: str, fitted: dict) -> None:
    est, X, y = fitted[family]
    pred = est.predict(X)
    assert (pred == y).mean() > 0.6, "the model must have learnt the signal for this test to mean anything"
    e = explain(est, X, pred)
    mean_abs = dict(zip(MODALITIES, np.abs(e.attribution).mean(0), strict=True))
    strongest = max(mean_abs.values())
    # The modality the label ignores: a small fraction of the strongest one.
    assert mean_abs["platform"] < 0.15 * strongest, mean_abs
    # The one that matters most is found first, and the order follows the label's weights.
    assert max(mean_abs, key=mean_abs.__getitem__) == "audience", mean_abs
    rho = spearmanr([mean_abs[m] for m in MODALITIES], [WEIGHTS[m] for m in MODALITIES]).statistic
    assert rho >= 0.9, (rho, mean_abs)


@pytest.mark.parametrize("family", list(PARAMS))
def test_attribution_order_agrees_with_the_permutation_drop(family: str, fitted: dict) -> None:
    est, X, _ = fitted[family]
    pred = est.predict(X)
    e = explain(est, X, pred)
    drop = permutation_drop(est, X, pred)
    rho = spearmanr(np.abs(e.attribution).mean(0), drop).statistic
    assert rho >= 0.8, (rho, np.abs(e.attribution).mean(0), drop)


@pytest.mark.parametrize("family", list(PARAMS))
def test_attributions_add_up_to_the_probability_moved(family: str, fitted: dict) -> None:
    est, X, _ = fitted[family]
    pred = est.predict(X)
    e = explain(est, X, pred)
    p = est.predict_proba(X)[np.arange(len(pred)), pred]
    np.testing.assert_allclose(e.attribution.sum(1), p - e.reference, atol=1e-6)
    # A row's explanation does not depend on the batch it came in.
    one = explain(est, {k: v[3:4] for k, v in X.items()}, pred[3:4])
    np.testing.assert_allclose(one.attribution[0], e.attribution[3], atol=1e-6)


def test_exact_shapley_matches_captums_shapley_values(fitted: dict) -> None:
    import torch
    from captum.attr import ShapleyValues

    from campaignlab.models.torch_training import to_tensors

    est, X, _ = fitted["robust_modality"]
    X = {k: v[:25] for k, v in X.items()}
    pred = est.predict(X)
    ours = explain(est, X, pred).attribution
    module = est.module_
    xs = to_tensors(X)
    inputs = tuple(xs[m] for m in MODALITIES)
    baselines = tuple(getattr(module.stats, f"{m}_mean").reshape(1, -1) for m in MODALITIES)
    masks = tuple(torch.full((1, x.shape[1]), i) for i, x in enumerate(inputs))

    def prob(*parts: torch.Tensor) -> torch.Tensor:
        return torch.softmax(module(dict(zip(MODALITIES, parts, strict=True))).double(), dim=1)

    with torch.no_grad():
        theirs = ShapleyValues(prob).attribute(
            inputs, baselines=baselines, target=torch.as_tensor(pred.astype(np.int64)), feature_mask=masks
        )
    np.testing.assert_allclose(ours, np.stack([t[:, 0].numpy() for t in theirs], 1), atol=1e-6)
    # Captum's sampling estimator (the `captum` method) lands close to the exact values.
    sampled = explain(est, X, pred, method="captum", samples=30).attribution
    assert np.corrcoef(sampled.ravel(), ours.ravel())[0, 1] > 0.95


def test_shapley_weights_on_games_worked_out_by_hand() -> None:
    coalitions, c = shapley_weights(3)
    additive = coalitions.astype(float) @ np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(c @ additive, [1.0, 2.0, 3.0])  # an additive game pays each its own value
    both = (coalitions[:, 0] & coalitions[:, 1]).astype(float)  # pays 1 only when players 0 and 1 are in
    np.testing.assert_allclose(c @ both, [0.5, 0.5, 0.0])


def test_lgbm_attributions_use_pred_contrib(fitted: dict) -> None:
    """The LightGBM explanation of the Positive class is stage 1's TreeSHAP, rescaled to probability."""
    est, X, _ = fitted["hierarchical_lgbm"]
    target = np.full(len(X["platform_code"]), 2)
    e = explain(est, X, target)
    contrib = est.stage1_.predict(est._design(X), pred_contrib=True)
    margin, bias = contrib.sum(1), contrib[:, -1]
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    scale = (sig(margin) - sig(bias)) / (margin - bias)
    audience = contrib[:, : DIMS["audience"]].sum(1) * scale
    np.testing.assert_allclose(e.attribution[:, 0], audience, atol=1e-9)
    np.testing.assert_allclose(e.reference, sig(bias), atol=1e-12)
