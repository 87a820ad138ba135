"""Per-modality explanations: how much each of the five modalities moved the predicted class's probability.

Every family answers the same question in the same unit, so explanations can be read side by side:
``attribution[m]`` is modality ``m``'s share of ``P(predicted class | campaign) - P(predicted class |
reference)``; the five shares add up to that difference exactly (Shapley efficiency).

* **Networks** (``shared_latent``, ``robust_modality``): grouped Shapley values with one group per
  modality (a 5-player game whose players are the modalities). A modality "absent" from a coalition is
  replaced by the training mean of its vectors (the networks' input standardisation maps it to zero:
  "an average campaign's" modality). With five groups there are only 2^5 = 32 coalitions, so the
  default method (``exact``) evaluates all of them in one batched forward pass and combines them with
  the Shapley weights: exact, deterministic, and ~30x faster than sampling permutations. The same
  values come from Captum's :class:`~captum.attr.ShapleyValues` with a ``feature_mask`` of one group
  per modality (the tests check they agree to 1e-6); ``method="captum"`` runs Captum's
  :class:`~captum.attr.ShapleyValueSampling` instead (``samples`` permutations, fixed seed).
* **Hierarchical LightGBM**: each stage's own TreeSHAP contributions (``pred_contrib=True``), summed per
  modality (the Audience, Brand, Creative, Geo embedding columns and the Platform category). The two
  stages' margins are combined into the predicted class's probability (``P(pos) = s(m1)``,
  ``P(neg) = (1 - s(m1)) s(m2)``, ``P(avg) = (1 - s(m1))(1 - s(m2))``); the change from the stages'
  expected margins is split between the stages by the exact two-player Shapley value and inside a
  stage in proportion to its margin contributions (DeepLIFT's rescale rule). The reference is the
  campaign at both stages' expected margins.

The global summary of a run is the mean absolute attribution per modality (overall and per predicted
tier), drawn as a bar chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from campaignlab import LABEL_NAMES, MODALITIES

DEFAULT_SAMPLES = 12
"""Permutations ShapleyValueSampling draws per call (each costs five forward passes of the batch)."""


@dataclass
class Explanation:
    """Attributions of a batch.

    Attributes:
        attribution: (N, 5) float64, modality columns in ``MODALITIES`` order (probability units).
        reference: (N,) float64, the predicted class's probability at the reference campaign.
        method: how they were computed.
    """

    attribution: np.ndarray
    reference: np.ndarray
    method: str

    def rows(self) -> list[dict[str, float]]:
        """One ``{modality: attribution}`` mapping per row."""
        return [{m: float(v) for m, v in zip(MODALITIES, row, strict=True)} for row in self.attribution]


METHODS = ("exact", "captum")


def explain(
    est: Any,
    X: dict[str, np.ndarray],
    target: np.ndarray,
    *,
    method: str = "exact",
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> Explanation:
    """Per-modality attribution of ``target``'s probability for every row of ``X``.

    Args:
        est: a fitted registered estimator.
        X: model inputs (``{modality: (N, D)}``, ``platform_code``).
        target: (N,) class whose probability is explained (usually the predicted one).
        method: networks: ``exact`` (all 32 coalitions) or ``captum`` (ShapleyValueSampling).
        samples: permutations of ``captum`` (LightGBM's TreeSHAP values are exact).
        seed: seed of the permutations.
    """
    if method not in METHODS:
        from campaignlab.errors import ConfigError

        raise ConfigError(f"explain method: got {method!r} -> expected one of {list(METHODS)}")
    target = np.asarray(target, dtype=np.int64)
    if len(target) == 0:
        return Explanation(np.zeros((0, len(MODALITIES))), np.zeros(0), "empty")
    from campaignlab.models.hierarchical_lgbm import HierarchicalLGBMClassifier

    if isinstance(est, HierarchicalLGBMClassifier):
        return _explain_lgbm(est, X, target)
    if hasattr(est, "module_"):
        if method == "captum":
            return _explain_torch_captum(est, X, target, samples=samples, seed=seed)
        return _explain_torch_exact(est, X, target)
    raise TypeError(f"no explanation method for {type(est).__name__}")


# --- networks ---------------------------------------------------------------------------------------


def shapley_weights(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Coalitions (2^m, m) bool and the (m, 2^m) matrix ``C`` with ``phi = C @ v(coalitions)``.

    ``phi_i = sum_{S not containing i} |S|! (m-|S|-1)! / m! * (v(S + i) - v(S))``, rewritten as one
    weight per coalition: ``+w(|S|-1)`` where ``i`` is in ``S``, ``-w(|S|)`` where it is not.
    """
    from math import factorial

    coalitions = np.array([[(s >> i) & 1 for i in range(m)] for s in range(2**m)], dtype=bool)
    size = coalitions.sum(1)
    w = np.array([factorial(k) * factorial(m - k - 1) / factorial(m) for k in range(m)])
    plus = w[np.clip(size - 1, 0, m - 1)]  # weight of S as "S + i" (i in S)
    minus = w[np.clip(size, 0, m - 1)]  # weight of S as "S" (i not in S)
    c = np.where(coalitions.T, plus[None, :], -minus[None, :])
    return coalitions, c


def _module_and_reference(est: Any) -> tuple[Any, dict[str, Any]]:
    module = est.module_
    module.eval()
    est._set_threads()
    # (D_m,) training means: the standardisation inside the module maps them to zero.
    base = {m: getattr(module.stats, f"{m}_mean").detach() for m in MODALITIES}
    return module, base


def _explain_torch_exact(
    est: Any, X: dict[str, np.ndarray], target: np.ndarray, max_rows: int = 4096
) -> Explanation:
    import torch

    from campaignlab.models.torch_training import to_tensors

    module, base = _module_and_reference(est)
    xs = to_tensors(X)
    coalitions, weights = shapley_weights(len(MODALITIES))
    k = len(coalitions)  # 32
    keep = torch.from_numpy(coalitions)  # (K, M)
    n = len(target)
    tgt = torch.as_tensor(target)
    values = np.zeros((k, n))  # v(S) per coalition and row
    step = max(1, max_rows // k)
    with torch.no_grad():
        for s in range(0, n, step):
            rows = slice(s, min(n, s + step))
            r = rows.stop - rows.start
            parts = {}
            for i, m in enumerate(MODALITIES):
                x = xs[m][rows]  # (R, D)
                mix = torch.where(keep[:, i, None, None], x[None], base[m][None, None])  # (K, R, D)
                parts[m] = mix.reshape(k * r, -1)
            logits = module.forward_head(module.forward_features(parts))
            prob = torch.softmax(logits.double(), dim=1).reshape(k, r, 3)
            values[:, rows] = prob.gather(2, tgt[rows].expand(k, r)[..., None])[..., 0].numpy()
    phi = (weights @ values).T  # (N, M)
    return Explanation(phi, values[0].copy(), "exact grouped Shapley values (32 coalitions)")


def _explain_torch_captum(
    est: Any, X: dict[str, np.ndarray], target: np.ndarray, *, samples: int, seed: int
) -> Explanation:
    import torch
    from captum.attr import ShapleyValueSampling

    from campaignlab.models.torch_training import to_tensors

    module, base = _module_and_reference(est)
    xs = to_tensors(X)
    inputs = tuple(xs[m] for m in MODALITIES)
    baselines = tuple(base[m].reshape(1, -1) for m in MODALITIES)
    masks = tuple(torch.full((1, x.shape[1]), i, dtype=torch.long) for i, x in enumerate(inputs))

    def prob(*parts: torch.Tensor) -> torch.Tensor:
        logits = module.forward_head(module.forward_features(dict(zip(MODALITIES, parts, strict=True))))
        return torch.softmax(logits.double(), dim=1)  # (B, 3)

    n = len(target)
    tgt = torch.as_tensor(target)
    # Several permutation steps per forward pass keep small batches fast; big ones stay within memory.
    per_eval = int(max(1, min(len(MODALITIES), 2048 // max(n, 1))))
    svs = ShapleyValueSampling(prob)
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        attr = svs.attribute(
            inputs,
            baselines=baselines,
            target=tgt,
            feature_mask=masks,
            n_samples=samples,
            perturbations_per_eval=per_eval,
            show_progress=False,
        )
        ref = prob(*(b.expand(n, -1) for b in baselines)).gather(1, tgt[:, None])[:, 0]
    # Captum gives every column of a group the group's value: take the first of each modality.
    out = np.stack([a[:, 0].double().numpy() for a in attr], axis=1)
    return Explanation(
        out, ref.numpy().astype(np.float64), f"captum.ShapleyValueSampling(n_samples={samples})"
    )


# --- LightGBM: TreeSHAP per stage -----------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _class_prob(c: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """The hierarchy's probability of class ``c`` (per row) from the two stages' margins."""
    p1, p2 = _sigmoid(m1), _sigmoid(m2)
    return np.where(c == 2, p1, np.where(c == 0, (1 - p1) * p2, (1 - p1) * (1 - p2)))


def _explain_lgbm(est: Any, X: dict[str, np.ndarray], target: np.ndarray) -> Explanation:
    from campaignlab.models.base import default_threads
    from campaignlab.models.data import check_inputs
    from campaignlab.models.hierarchical_lgbm import EMBEDDED

    est._check_fitted()
    check_inputs(X, est.dims_)
    design = est._design(X)
    # Column -> modality: the embedding blocks in EMBEDDED order, then the platform category.
    owner = np.concatenate(
        [np.full(est.dims_[m], MODALITIES.index(m)) for m in EMBEDDED] + [[MODALITIES.index("platform")]]
    )
    threads = est.n_jobs or default_threads()
    phis, margins, bases = [], [], []
    for booster in (est.stage1_, est.stage2_):
        contrib = np.asarray(booster.predict(design, pred_contrib=True, num_threads=threads), np.float64)
        per_mod = np.zeros((len(design), len(MODALITIES)))
        np.add.at(per_mod.T, owner, contrib[:, :-1].T)  # sum each modality's columns
        phis.append(per_mod)
        bases.append(contrib[:, -1])
        margins.append(contrib.sum(1))
    (phi1, phi2), (m1, m2), (b1, b2) = phis, margins, bases
    g = lambda a, b: _class_prob(target, a, b)  # noqa: E731
    # Exact two-player Shapley split of the probability change between the stages.
    s1 = 0.5 * ((g(m1, b2) - g(b1, b2)) + (g(m1, m2) - g(b1, m2)))
    s2 = (g(m1, m2) - g(b1, b2)) - s1
    out = np.zeros_like(phi1)
    for phi, s, delta in ((phi1, s1, m1 - b1), (phi2, s2, m2 - b2)):
        scale = np.divide(s, delta, out=np.zeros_like(s), where=np.abs(delta) > 1e-12)
        out += phi * scale[:, None]
    return Explanation(out, g(b1, b2), "lightgbm pred_contrib (TreeSHAP) per stage, rescaled to probability")


# --- global summary -------------------------------------------------------------------------------


def global_summary(attribution: np.ndarray, label: np.ndarray) -> dict[str, Any]:
    """Mean absolute attribution per modality, overall and per predicted tier, and the rows behind them."""
    attribution = np.asarray(attribution, np.float64).reshape(-1, len(MODALITIES))
    label = np.asarray(label)

    def mean_abs(rows: np.ndarray) -> dict[str, float]:
        if len(rows) == 0:
            return {m: 0.0 for m in MODALITIES}
        return {m: float(v) for m, v in zip(MODALITIES, np.abs(rows).mean(0), strict=True)}

    return {
        "rows": len(attribution),
        "mean_abs_attribution": mean_abs(attribution),
        "mean_attribution": (
            {m: float(v) for m, v in zip(MODALITIES, attribution.mean(0), strict=True)}
            if len(attribution)
            else {m: 0.0 for m in MODALITIES}
        ),
        "by_tier": {
            name: {"rows": int((label == c).sum()), "mean_abs_attribution": mean_abs(attribution[label == c])}
            for c, name in enumerate(LABEL_NAMES)
        },
    }


def attribution_plot(summary: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Bar chart of the mean absolute attribution per modality, overall and per predicted tier (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from campaignlab.evaluation.plots import CLASS_COLOURS
    from campaignlab.io import atomic_write_bytes

    fig, ax = plt.subplots(figsize=(7.5, 4.0), dpi=110)
    x = np.arange(len(MODALITIES))
    series = [(f"all ({summary['rows']})", summary["mean_abs_attribution"], "#1f5fa8")]
    for c, name in enumerate(LABEL_NAMES):
        tier = summary["by_tier"][name]
        if tier["rows"]:
            series.append((f"{name} ({tier['rows']})", tier["mean_abs_attribution"], CLASS_COLOURS[c]))
    width = 0.8 / len(series)
    for i, (label, values, colour) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, [values[m] for m in MODALITIES], width,
               label=label, color=colour)  # fmt: skip
    ax.set_xticks(x, [m.capitalize() for m in MODALITIES])
    ax.set_ylabel("mean |attribution| (probability)")
    ax.set_title(title or f"Per-modality attribution over {summary['rows']} predictions")
    ax.legend(frameon=False, fontsize=8, title="predicted tier", title_fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)
