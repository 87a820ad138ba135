"""Calibrate class ranges from the graph, and report edge-type frequencies (federated report, Exp. 2/3).

Method, as the report describes it: draw ``n_subgraphs`` random subgraphs of ``edges_per_subgraph``
pairwise combinations each (node pairs that can occur together in a campaign, drawn uniformly), and
measure the fractions of positive, negative and missing combinations in each. From their mean (mu)
and standard deviation (sigma):

* Average: ``pos_frac`` in mu_pos +- k sigma_pos and ``neg_frac`` in mu_neg +- k sigma_neg
  (k = ``avg_halfwidth_sd``; the report does not give it, our default is 2).
* Positive: ``pos_frac`` starts ``shift_sd`` (5) sigma_pos above the Average upper bound and is as wide
  as the Average range; ``neg_frac`` is the Average ``neg_frac`` range.
* Negative: the mirror image on the negative axis.

The same subgraphs give the edge-type frequency report: mean and standard deviation of the number of
edges of each type per subgraph, ranked most common first (compare the report's table).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from campaignlab.config import StrictModel
from campaignlab.synth.config import GraphConfig
from campaignlab.synth.graph import SINGLE_PICK_GROUPS, Graph
from campaignlab.synth.presets import EDGE_TYPES


class CalibrateConfig(StrictModel):
    """Config of ``campaignlab calibrate``: the graph (as ``generate`` builds it) and the sampling."""

    graph: GraphConfig = Field(default_factory=GraphConfig)
    n_subgraphs: int = Field(10_000, ge=10)
    edges_per_subgraph: int = Field(1_000, ge=10)
    avg_halfwidth_sd: float = Field(2.0, gt=0)
    shift_sd: float = Field(5.0, ge=0)
    seed: int = Field(42, ge=0)


def _clip(lo: float, hi: float) -> list[float]:
    return [round(float(max(0.0, lo)), 4), round(float(min(1.0, hi)), 4)]


def calibrate(graph: Graph, cfg: CalibrateConfig) -> dict[str, Any]:
    """Return the statistics, the derived class ranges and the edge-type frequency table."""
    rng = np.random.default_rng(cfg.seed)
    n = graph.num_nodes
    iu, ju = np.triu_indices(n, k=1)
    g = graph.node_group
    keep = ~((g[iu] == g[ju]) & np.isin(g[iu], SINGLE_PICK_GROUPS))
    iu, ju = iu[keep], ju[keep]
    s = graph.sign_matrix()[iu, ju]  # (P,)
    ptype = graph.pair_type_matrix()[iu, ju]  # (P,)

    pos = np.empty(cfg.n_subgraphs)
    neg = np.empty(cfg.n_subgraphs)
    type_counts = np.zeros((cfg.n_subgraphs, len(EDGE_TYPES)))
    chunk = max(1, 2_000_000 // cfg.edges_per_subgraph)
    for start in range(0, cfg.n_subgraphs, chunk):
        m = min(chunk, cfg.n_subgraphs - start)
        draw = rng.integers(0, len(iu), size=(m, cfg.edges_per_subgraph))
        sd = s[draw]
        pos[start : start + m] = (sd == 1).mean(1)
        neg[start : start + m] = (sd == -1).mean(1)
        t = np.where(sd != 0, ptype[draw], -1)
        for ti in range(len(EDGE_TYPES)):
            type_counts[start : start + m, ti] = (t == ti).sum(1)

    mu_p, sd_p, mu_n, sd_n = pos.mean(), pos.std(), neg.mean(), neg.std()
    k = cfg.avg_halfwidth_sd
    avg_p = _clip(mu_p - k * sd_p, mu_p + k * sd_p)
    avg_n = _clip(mu_n - k * sd_n, mu_n + k * sd_n)
    pos_lo = avg_p[1] + cfg.shift_sd * sd_p
    neg_lo = avg_n[1] + cfg.shift_sd * sd_n
    classes = {
        "pos": {"pos_frac_range": _clip(pos_lo, pos_lo + (avg_p[1] - avg_p[0])), "neg_frac_range": avg_n},
        "neg": {"pos_frac_range": avg_p, "neg_frac_range": _clip(neg_lo, neg_lo + (avg_n[1] - avg_n[0]))},
        "avg": {"pos_frac_range": avg_p, "neg_frac_range": avg_n},
    }
    mean_t, std_t = type_counts.mean(0), type_counts.std(0)
    order = np.argsort(-mean_t, kind="stable")
    freq = [
        {"edge_type": EDGE_TYPES[i], "mean": round(float(mean_t[i]), 3), "std": round(float(std_t[i]), 3)}
        for i in order
    ]
    return {
        "config": cfg.model_dump(),
        "fractions": {
            "positive": {"mean": float(mu_p), "std": float(sd_p)},
            "negative": {"mean": float(mu_n), "std": float(sd_n)},
            "missing": {"mean": float(1 - pos.mean() - neg.mean()), "std": float((1 - pos - neg).std())},
        },
        "classes": classes,
        "edge_type_frequencies": freq,
    }
