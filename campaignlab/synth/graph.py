"""The campaign graph: nodes are modality values, signed edges join value pairs of the 12 edge types.

How the graph is built (deterministic given the seed and :class:`GraphConfig`):

1. Nodes: the vocabulary of each modality (vocab.py) plus ``num_zips`` real ZIP codes.
2. Candidate pairs: every pair of nodes that can appear together in a campaign and whose modality pair
   is one of the 12 edge types. A campaign holds exactly one gender, one age group and one platform, so
   gender-gender, age-age and platform-platform pairs are never candidates; geo-geo and geo-platform
   pairs carry no edges by definition.
3. Edge counts: ``edge_density`` x (number of candidate pairs) edges in all, shared among the edge
   types in proportion to ``edge_type_frequencies`` (the federated report's table), each type capped at
   its number of candidate pairs. Which pairs of a type get an edge is drawn uniformly.
4. Edge signs: every node gets a latent vector z ~ N(0, I_d); an edge (u, v) is positive when
   ``z_u . z_v / sqrt(d) + sign_bias + noise > 0`` with noise ~ N(0, sign_noise^2). Values that "work
   together" are close in latent space, which is the structure the report's shared-latent model assumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from campaignlab import MODALITIES
from campaignlab.synth import vocab
from campaignlab.synth.config import GraphConfig
from campaignlab.synth.presets import EDGE_TYPES

GROUPS = ("gender", "age", "interest", "brand", "creative", "geo", "platform")
GROUP_MODALITY = {
    "gender": "audience",
    "age": "audience",
    "interest": "audience",
    "brand": "brand",
    "creative": "creative",
    "geo": "geo",
    "platform": "platform",
}
SINGLE_PICK_GROUPS = ("gender", "age", "platform")
"""Groups a campaign takes exactly one value from: pairs inside them never occur."""


def edge_type_of(m1: str, m2: str) -> str:
    """Canonical edge-type name of a modality pair (modalities in MODALITIES)."""
    a, b = sorted((m1, m2), key=MODALITIES.index)
    return f"{a}-{b}"


@dataclass
class Graph:
    """Nodes and signed edges, plus dense lookup matrices for the sampler and the verifier."""

    node_modality: np.ndarray  # (N,) str
    node_group: np.ndarray  # (N,) str
    node_value: np.ndarray  # (N,) str: display value (a ZIP code for geo)
    node_phrase: list[str]  # (N,) phrase the text renderer uses
    src: np.ndarray  # (E,) int64, src < dst
    dst: np.ndarray  # (E,) int64
    sign: np.ndarray  # (E,) int8, +1 or -1
    zip_info: dict[str, vocab.ZipInfo]

    @property
    def num_nodes(self) -> int:
        return len(self.node_value)

    def sign_matrix(self) -> np.ndarray:
        """(N, N) int8: +1 / -1 for an edge, 0 for a missing pair. Symmetric."""
        return sign_matrix(self.num_nodes, self.src, self.dst, self.sign)

    def pair_type_matrix(self) -> np.ndarray:
        """(N, N) int8: index into EDGE_TYPES of each node pair's modality pair, or -1 if none."""
        mods = list(MODALITIES)
        mod_idx = np.array([mods.index(m) for m in self.node_modality])
        table = np.full((5, 5), -1, dtype=np.int8)
        for i, a in enumerate(mods):
            for j, b in enumerate(mods):
                t = edge_type_of(a, b)
                if t in EDGE_TYPES:
                    table[i, j] = EDGE_TYPES.index(t)
        return table[mod_idx[:, None], mod_idx[None, :]]

    def group_nodes(self, group: str) -> np.ndarray:
        return np.flatnonzero(self.node_group == group)


def sign_matrix(n: int, src: np.ndarray, dst: np.ndarray, sign: np.ndarray) -> np.ndarray:
    s = np.zeros((n, n), dtype=np.int8)
    s[src, dst] = sign
    s[dst, src] = sign
    return s


def build_nodes(
    cfg: GraphConfig, seed: int
) -> tuple[list[tuple[str, str, str, str]], dict[str, vocab.ZipInfo]]:
    """(modality, group, value, phrase) per node in node-id order, and ZIP facts by ZIP code."""
    nodes: list[tuple[str, str, str, str]] = []
    nodes += [("audience", "gender", g, g) for g in vocab.GENDERS]
    nodes += [("audience", "age", a, a) for a in vocab.AGE_GROUPS]
    nodes += [("audience", "interest", i, i) for i in vocab.INTERESTS]
    nodes += [("brand", "brand", a, p) for a, p in vocab.BRAND_ATTRIBUTES]
    nodes += [("creative", "creative", e, p) for e, p in vocab.CREATIVE_ELEMENTS]
    zips = vocab.pick_zips(cfg.num_zips, seed)
    nodes += [("geo", "geo", z.zip_code, f"{z.city}, {z.state}") for z in zips]
    nodes += [("platform", "platform", p, p) for p in vocab.PLATFORMS]
    return nodes, {z.zip_code: z for z in zips}


def build_graph(cfg: GraphConfig, seed: int) -> Graph:
    """Build the campaign graph deterministically from ``cfg`` and ``seed``."""
    ss = np.random.SeedSequence([seed, 0x6A7])
    rng_zip, rng_edges, rng_latent, rng_noise = (np.random.default_rng(s) for s in ss.spawn(4))
    nodes, zip_info = build_nodes(cfg, int(rng_zip.integers(0, 2**31 - 1)))
    modality = np.array([n[0] for n in nodes])
    group = np.array([n[1] for n in nodes])
    value = np.array([n[2] for n in nodes])
    n = len(nodes)

    iu, ju = np.triu_indices(n, k=1)
    same_single = (group[iu] == group[ju]) & np.isin(group[iu], SINGLE_PICK_GROUPS)
    pair_type = np.array([edge_type_of(a, b) for a, b in zip(modality[iu], modality[ju], strict=True)])
    candidate = ~same_single & np.isin(pair_type, EDGE_TYPES)
    iu, ju, pair_type = iu[candidate], ju[candidate], pair_type[candidate]

    weights = {t: cfg.edge_type_frequencies.get(t, 0.0) for t in EDGE_TYPES}
    total_w = sum(weights.values())
    total_edges = cfg.edge_density * len(iu)
    chosen: list[np.ndarray] = []
    for t in EDGE_TYPES:
        idx = np.flatnonzero(pair_type == t)
        k = min(len(idx), round(total_edges * weights[t] / total_w))
        chosen.append(np.sort(rng_edges.choice(idx, size=k, replace=False)) if k else idx[:0])
    sel = np.sort(np.concatenate(chosen))
    src, dst = iu[sel].astype(np.int64), ju[sel].astype(np.int64)

    d = cfg.latent_dim
    z = rng_latent.standard_normal((n, d))
    score = np.einsum("ed,ed->e", z[src], z[dst]) / np.sqrt(d) + cfg.sign_bias
    score += rng_noise.standard_normal(len(src)) * cfg.sign_noise
    sign = np.where(score > 0, 1, -1).astype(np.int8)
    return Graph(modality, group, value, [n_[3] for n_ in nodes], src, dst, sign, zip_info)
