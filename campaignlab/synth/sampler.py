"""The aimed, vectorised rejection sampler.

A campaign is built one value at a time, a whole batch of campaigns at once. Each campaign draws its
shape (how many values per group), a target positive and negative fraction uniformly inside the
requested class's ranges, and a random order of its slots. At each step every allowed candidate value
is scored by how close the running fractions would come to the target (plus the pair-preference term)
and one is drawn with the Gumbel-max trick at temperature ``temperature``. The finished campaign's exact
fractions are then checked against the class ranges and kept or rejected: the label is exact by
construction, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from campaignlab.errors import GenerationError
from campaignlab.synth.config import GeneratorConfig
from campaignlab.synth.graph import GROUPS, Graph
from campaignlab.synth.presets import EDGE_TYPES

CLASS_INDEX = {"neg": 0, "avg": 1, "pos": 2}


@dataclass
class ClassDraw:
    """Accepted campaigns of one class: node ids padded with -1, and exact pair counts."""

    nodes: np.ndarray  # (n, L) int64, -1 = padding; ids sorted ascending within a row
    pos: np.ndarray  # (n,) int64 positive pairs
    neg: np.ndarray  # (n,) int64 negative pairs
    pairs: np.ndarray  # (n,) int64 all pairwise combinations
    attempts: int  # campaigns built
    accepted: int  # campaigns that landed in the ranges (>= n: the last batch may overshoot)

    @property
    def acceptance(self) -> float:
        return self.accepted / max(self.attempts, 1)


class AimedSampler:
    """Draws campaigns of a requested class from a :class:`Graph`."""

    def __init__(self, graph: Graph, cfg: GeneratorConfig) -> None:
        self.cfg = cfg
        s = graph.sign_matrix()
        self.pos_m = (s == 1).astype(np.float32)  # (N, N)
        self.neg_m = (s == -1).astype(np.float32)
        self.group_idx = np.array([GROUPS.index(g) for g in graph.node_group])  # (N,)
        pref = cfg.pair_preference()
        type_w = np.zeros(len(EDGE_TYPES) + 1, dtype=np.float32)  # last slot: no edge type
        for t in pref.high:
            type_w[EDGE_TYPES.index(t)] = 1.0
        for t in pref.low:
            type_w[EDGE_TYPES.index(t)] = -1.0
        ptype = graph.pair_type_matrix().astype(np.int64)
        pref_m = type_w[np.where(ptype < 0, len(EDGE_TYPES), ptype)]  # (N, N): +1 high, -1 low, 0 other
        self.pref_strength = pref.strength if (pref.high or pref.low) else 0.0
        self.pref_pos = self.pos_m * pref_m
        self.pref_neg = self.neg_m * pref_m
        sh = cfg.shape
        self.count_ranges = {
            "gender": (1, 1),
            "age": (1, 1),
            "interest": tuple(sh.interests),
            "brand": tuple(sh.brand),
            "creative": tuple(sh.creative),
            "geo": tuple(sh.geo),
            "platform": (1, 1),
        }
        sizes = np.bincount(self.group_idx, minlength=len(GROUPS))
        for g, (_, hi) in self.count_ranges.items():
            if hi > sizes[GROUPS.index(g)]:
                raise GenerationError(
                    f"shape: {g} asks for up to {hi} values but the graph has {sizes[GROUPS.index(g)]}"
                )
        self.max_len = sum(hi for _, hi in self.count_ranges.values())

    def _batch(
        self, label: str, ranges: dict[str, list[float]], b: int, rng: np.random.Generator
    ) -> ClassDraw:
        n_nodes = self.pos_m.shape[0]
        # Per-campaign slots: the group of each step, in a random order; -1 pads shorter campaigns.
        counts = np.stack(
            [rng.integers(lo, hi + 1, size=b) for lo, hi in (self.count_ranges[g] for g in GROUPS)], axis=1
        )  # (B, G)
        total = counts.sum(1)  # (B,)
        slots = np.full((b, self.max_len), -1, dtype=np.int64)
        col = np.arange(self.max_len)
        starts = np.cumsum(counts, axis=1) - counts
        for gi in range(len(GROUPS)):
            mask = (col[None, :] >= starts[:, gi : gi + 1]) & (
                col[None, :] < (starts + counts)[:, gi : gi + 1]
            )
            slots[mask] = gi
        keys = rng.random((b, self.max_len)) + (slots < 0)  # padding sorts last
        slots = np.take_along_axis(slots, np.argsort(keys, axis=1), axis=1)

        (plo, phi), (nlo, nhi) = ranges["pos_frac_range"], ranges["neg_frac_range"]
        # Targets: the class's own axis is drawn after the opposing one, so a noise-widened opposing
        # range is aimed at as often as its width says, and the pair stays feasible (pos + neg <= 1).
        if label == "pos" or (label == "avg" and rng.random() < 0.5):
            t_neg = rng.uniform(nlo, nhi, size=b)
            t_pos = rng.uniform(plo, np.maximum(plo, np.minimum(phi, 1.0 - t_neg)), size=b)
        else:
            t_pos = rng.uniform(plo, phi, size=b)
            t_neg = rng.uniform(nlo, np.maximum(nlo, np.minimum(nhi, 1.0 - t_pos)), size=b)
        aligned = {"pos": (1.0, 0.0), "neg": (0.0, 1.0), "avg": (0.5, 0.5)}[label]

        chosen = np.zeros((b, n_nodes), dtype=bool)
        picks = np.full((b, self.max_len), -1, dtype=np.int64)
        add_pos = np.zeros((b, n_nodes), dtype=np.float32)  # (B, N): positive pairs a candidate would add
        add_neg = np.zeros((b, n_nodes), dtype=np.float32)
        add_pref = np.zeros((b, n_nodes), dtype=np.float32)
        cur_pos = np.zeros(b)
        cur_neg = np.zeros(b)
        k = np.zeros(b)
        rows = np.arange(b)
        tau = self.cfg.temperature
        for step in range(self.max_len):
            grp = slots[:, step]
            active = grp >= 0
            if not active.any():
                break
            denom = np.maximum(k * (k - 1) / 2 + k, 1.0)[:, None]  # pairs after adding one more value
            f_pos = (cur_pos[:, None] + add_pos) / denom
            f_neg = (cur_neg[:, None] + add_neg) / denom
            score = -(np.abs(f_pos - t_pos[:, None]) + np.abs(f_neg - t_neg[:, None]))
            score[k == 0] = 0.0  # the first value of a campaign is uniform
            if self.pref_strength:
                score += self.pref_strength * add_pref / denom
            allowed = (self.group_idx[None, :] == grp[:, None]) & ~chosen
            gumbel = -np.log(-np.log(rng.random((b, n_nodes)) + 1e-12) + 1e-12)
            logits = np.where(allowed, score / tau + gumbel, -np.inf)
            pick = np.argmax(logits, axis=1)
            r, p = rows[active], pick[active]
            cur_pos[r] += add_pos[r, p]
            cur_neg[r] += add_neg[r, p]
            k[r] += 1
            chosen[r, p] = True
            picks[r, step] = p
            add_pos[r] += self.pos_m[p]
            add_neg[r] += self.neg_m[p]
            if self.pref_strength:
                add_pref[r] += aligned[0] * self.pref_pos[p] + aligned[1] * self.pref_neg[p]

        pairs = (total * (total - 1) // 2).astype(np.int64)
        pos = cur_pos.astype(np.int64)
        neg = cur_neg.astype(np.int64)
        fp, fn = pos / pairs, neg / pairs
        ok = (fp >= plo) & (fp <= phi) & (fn >= nlo) & (fn <= nhi)
        nodes = np.sort(np.where(picks < 0, np.iinfo(np.int64).max, picks), axis=1)
        nodes[nodes == np.iinfo(np.int64).max] = -1
        return ClassDraw(nodes[ok], pos[ok], neg[ok], pairs[ok], attempts=b, accepted=int(ok.sum()))

    def draw(
        self, label: str, ranges: dict[str, list[float]], n: int, rng: np.random.Generator, progress=None
    ) -> ClassDraw:
        """Draw exactly ``n`` accepted campaigns of class ``label`` (``neg``/``avg``/``pos``).

        Raises:
            GenerationError: the class is unreachable within ``max_attempts_per_sample * n`` tries.
        """
        budget = self.cfg.max_attempts_per_sample * n + 1024
        parts: list[ClassDraw] = []
        got = attempts = 0
        while got < n:
            if attempts >= budget:
                rate = got / max(attempts, 1)
                raise GenerationError(
                    f"class {label!r} cannot be reached: {got} of {n} accepted after {attempts} tries "
                    f"(acceptance {rate:.4%}); ranges pos_frac={ranges['pos_frac_range']} "
                    f"neg_frac={ranges['neg_frac_range']}. Widen the ranges, add noise or change the graph."
                )
            remaining = n - got
            rate = got / attempts if attempts else 0.3
            b = int(min(8192, max(256, 1.15 * remaining / max(rate, 0.02)), budget - attempts))
            part = self._batch(label, ranges, b, rng)
            attempts += part.attempts
            parts.append(part)
            got += len(part.pos)
            if progress is not None:
                progress(min(got, n))
        cat = lambda name: np.concatenate([getattr(p, name) for p in parts])[:n]  # noqa: E731
        return ClassDraw(cat("nodes"), cat("pos"), cat("neg"), cat("pairs"), attempts, got)
