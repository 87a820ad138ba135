"""Generator speed: samples/s and acceptance for each full preset, against the 60 s target for v28.

Usage: python benchmarks/generate.py [--presets v25 v26 v28] [--scale 1.0] [--seed 42]

The baseline in the same run is an un-aimed sampler (values drawn uniformly, then rejection), which is
how a naive generator would reach the classes: its acceptance per class shows what the aiming buys.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from campaignlab.synth import dataset
from campaignlab.synth.config import resolve_generator_config
from campaignlab.synth.graph import build_graph
from campaignlab.synth.presets import LABELS
from campaignlab.synth.sampler import AimedSampler


def naive_acceptance(cfg, n: int = 20_000) -> dict[str, float]:
    """Acceptance of uniform random campaigns (temperature -> infinity) per class."""
    uniform = cfg.model_copy(update={"temperature": 1e9})
    sampler = AimedSampler(build_graph(cfg.graph, cfg.seed), uniform)
    rng = np.random.default_rng(0)
    ranges = cfg.effective_ranges()
    return {lbl: sampler._batch(lbl, ranges[lbl], n, rng).acceptance for lbl in LABELS}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", nargs="+", default=["v25", "v26", "v28"])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    print(f"{'preset':7} {'samples':>8} {'seconds':>8} {'samples/s':>10}  acceptance aimed (naive uniform)")
    for preset in args.presets:
        cfg = resolve_generator_config({"preset": preset, "scale": args.scale, "seed": args.seed})
        t0 = time.perf_counter()
        ds = dataset.generate(cfg)
        secs = time.perf_counter() - t0
        naive = naive_acceptance(cfg)
        acc = ", ".join(f"{k} {ds.manifest['acceptance'][k]:.3f} ({naive[k]:.4f})" for k in LABELS)
        n = ds.manifest["num_samples"]
        print(f"{preset:7} {n:8d} {secs:8.1f} {n / secs:10.0f}  {acc}")
        if preset == "v28" and args.scale == 1.0:
            verdict = "PASS" if secs < 60 else "FAIL"
            print(f"        target: full v28 in under 60 s -> {verdict} ({secs:.1f} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
