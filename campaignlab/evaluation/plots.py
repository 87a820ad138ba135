"""Plots people look at before they read numbers (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

CLASS_COLOURS = {0: "#d62728", 1: "#7f7f7f", 2: "#2ca02c"}
CLASS_NAMES = {0: "Negative", 1: "Average", 2: "Positive"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def proportions_plot(samples: Any, ranges: dict[str, Any], out: str | Path, max_points: int = 30_000) -> None:
    """Scatter of positive vs negative fraction per sample, coloured by class, with class ranges drawn."""
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    pos = np.asarray(samples["pos_frac"])
    neg = np.asarray(samples["neg_frac"])
    lab = np.asarray(samples["label"])
    if len(pos) > max_points:
        keep = np.random.default_rng(0).choice(len(pos), size=max_points, replace=False)
        pos, neg, lab = pos[keep], neg[keep], lab[keep]
    rng = np.random.default_rng(1)
    jitter = lambda a: a + rng.uniform(-0.004, 0.004, size=len(a))  # noqa: E731  fractions are discrete
    fig, ax = plt.subplots(figsize=(6.5, 6), dpi=110)
    for c in (1, 0, 2):
        m = lab == c
        ax.scatter(
            jitter(pos[m]),
            jitter(neg[m]),
            s=3,
            alpha=0.35,
            c=CLASS_COLOURS[c],
            label=f"{CLASS_NAMES[c]} ({int(m.sum())})",
            rasterized=True,
        )
    for key, c in (("neg", 0), ("avg", 1), ("pos", 2)):
        (plo, phi), (nlo, nhi) = ranges[key]["pos_frac_range"], ranges[key]["neg_frac_range"]
        ax.add_patch(
            Rectangle((plo, nlo), phi - plo, nhi - nlo, fill=False, lw=1.4, ec=CLASS_COLOURS[c], ls="--")
        )
    ax.set_xlabel("positive fraction of pairwise combinations")
    ax.set_ylabel("negative fraction of pairwise combinations")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Samples by class (dashed: class ranges)")
    ax.legend(loc="upper right", markerscale=4)
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)


def confusion_matrix_plot(
    matrix: Any, out: str | Path, title: str = "Confusion matrix", labels: tuple[str, ...] | None = None
) -> None:
    """Heat map of a (3, 3) confusion matrix (rows true, columns predicted) with counts and row shares."""
    plt = _pyplot()
    cm = np.asarray(matrix, dtype=float)
    names = list(labels) if labels is not None else [CLASS_NAMES[i] for i in range(cm.shape[0])]
    row = cm.sum(1, keepdims=True)
    share = np.divide(cm, row, out=np.zeros_like(cm), where=row > 0)  # recall per true class
    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=110)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            colour = "white" if share[i, j] > 0.6 else "black"
            ax.text(j, i, f"{int(cm[i, j])}\n{share[i, j]:.1%}", ha="center", va="center", color=colour)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of true class")
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)
