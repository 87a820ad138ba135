"""Presets from the reports: label ranges and class counts, noise levels, pair-preference sets.

All numbers here are copied from the reports (see README, "Generator"):

* v25/v26/v28 ranges and class counts: multimodal report, "Dataset" table.
* Edge-type frequencies: federated report, Experiment 3 table (mean frequency over 10,000 random
  subgraphs of 1,000 edges), ranked from most common to most rare.
* Noise: federated report, Experiment 2 ("relaxation of the opposing acceptable range"). The report
  gives no amounts; ours are documented in :data:`NOISE_POINTS`.
"""

from __future__ import annotations

from typing import Any

LABELS = ("neg", "avg", "pos")
"""Config keys of the classes, in label order: 0 neg, 1 avg, 2 pos."""

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "v25": {
        "pos": {"pos_frac_range": [0.45, 1.0], "neg_frac_range": [0.0, 0.25], "num_samples": 18_000},
        "neg": {"pos_frac_range": [0.0, 0.25], "neg_frac_range": [0.45, 1.0], "num_samples": 18_000},
        "avg": {"pos_frac_range": [0.25, 0.5], "neg_frac_range": [0.25, 0.5], "num_samples": 24_000},
    },
    "v26": {
        "pos": {"pos_frac_range": [0.45, 0.9], "neg_frac_range": [0.1, 0.35], "num_samples": 18_000},
        "neg": {"pos_frac_range": [0.1, 0.35], "neg_frac_range": [0.45, 0.9], "num_samples": 18_000},
        "avg": {"pos_frac_range": [0.25, 0.65], "neg_frac_range": [0.25, 0.65], "num_samples": 24_000},
    },
    "v28": {
        "pos": {
            "pos_frac_range": [0.3387, 0.4387],
            "neg_frac_range": [0.1192, 0.2444],
            "num_samples": 24_000,
        },
        "neg": {
            "pos_frac_range": [0.1035, 0.2259],
            "neg_frac_range": [0.3833, 0.4833],
            "num_samples": 24_000,
        },
        "avg": {
            "pos_frac_range": [0.1035, 0.2259],
            "neg_frac_range": [0.1192, 0.2444],
            "num_samples": 72_000,
        },
    },
}

# Edge types: modality pairs that carry edges. No geo-geo, geo-platform or platform-platform edges.
EDGE_TYPE_FREQUENCIES: dict[str, float] = {
    "brand-creative": 8.48,
    "audience-creative": 7.29,
    "creative-geo": 6.57,
    "audience-brand": 5.90,
    "audience-geo": 5.84,
    "brand-geo": 5.55,
    "creative-creative": 3.24,
    "brand-brand": 3.18,
    "creative-platform": 1.88,
    "brand-platform": 1.52,
    "audience-audience": 1.18,
    "audience-platform": 1.16,
}
EDGE_TYPES: tuple[str, ...] = tuple(EDGE_TYPE_FREQUENCIES)
"""The 12 edge types, most common first (the report's ranking)."""

NOISE_POINTS: dict[str, float] = {"clean": 0.0, "low": 0.05, "medium": 0.10, "high": 0.15}
"""How far (in fraction points) a noise level widens the *opposing* range of each class.

Positive: the upper bound of ``neg_frac_range`` rises by the amount. Negative: the upper bound of
``pos_frac_range`` rises by it. Average: both upper bounds rise by half of it. Bounds are capped at 1.
"""


def pair_preference_sets() -> dict[str, dict[str, list[str]]]:
    """The named pair-preference sets built from the frequency ranking (federated report, Exp. 3).

    common_first: the two most frequent types high, the two rarest low. rare_first: the inverse.
    middle_ground: of the four middle-ranked types (ranks 5-8 of 12), the first two high, the last two low.
    """
    ranked = list(EDGE_TYPES)
    n = len(ranked)
    mid = ranked[n // 2 - 2 : n // 2 + 2]
    return {
        "common_first": {"high": ranked[:2], "low": ranked[-2:]},
        "rare_first": {"high": ranked[-2:], "low": ranked[:2]},
        "middle_ground": {"high": mid[:2], "low": mid[2:]},
    }


def apply_noise(
    ranges: dict[str, dict[str, list[float]]], points: float
) -> dict[str, dict[str, list[float]]]:
    """Return class ranges with the opposing range relaxed by ``points`` (see :data:`NOISE_POINTS`)."""
    out = {k: {r: list(v) for r, v in spec.items()} for k, spec in ranges.items()}

    def widen(lbl: str, key: str, amount: float) -> None:
        lo, hi = out[lbl][key]
        out[lbl][key] = [lo, round(min(1.0, hi + amount), 6)]

    widen("pos", "neg_frac_range", points)
    widen("neg", "pos_frac_range", points)
    widen("avg", "pos_frac_range", points / 2)
    widen("avg", "neg_frac_range", points / 2)
    return out
