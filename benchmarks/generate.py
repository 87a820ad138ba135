"""Generator speed: samples/s and acceptance for each full preset, against the 60 s target for v28.

Usage: python benchmarks/generate.py [--presets v25 v26 v28] [--scale 1.0] [--seed 42]

The baseline in the same run is an un-aimed sampler (values drawn uniformly, then rejection), which is
how a naive generator would reach the classes: its acceptance per class shows what the aiming buys.
Writes ``docs/results/generator.md`` (``--no-page``: print only).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

from campaignlab.synth import dataset
from campaignlab.synth.config import resolve_generator_config
from campaignlab.synth.graph import build_graph
from campaignlab.synth.presets import LABELS
from campaignlab.synth.sampler import AimedSampler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_page import table, write_page  # a sibling script (benchmarks/ is not a package)


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
    ap.add_argument("--no-page", action="store_true", help="do not write docs/results/generator.md")
    args = ap.parse_args()
    print(f"{'preset':7} {'samples':>8} {'seconds':>8} {'samples/s':>10}  acceptance aimed (naive uniform)")
    rows, verdict = [], ""
    for preset in args.presets:
        cfg = resolve_generator_config({"preset": preset, "scale": args.scale, "seed": args.seed})
        t0, c0 = time.perf_counter(), time.process_time()
        ds = dataset.generate(cfg)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0  # CPU time: load-independent
        naive = naive_acceptance(cfg)
        aimed = ds.manifest["acceptance"]
        acc = ", ".join(f"{k} {aimed[k]:.3f} ({naive[k]:.4f})" for k in LABELS)
        n = ds.manifest["num_samples"]
        print(f"{preset:7} {n:8d} {secs:8.1f} {n / secs:10.0f}  {acc}")
        rows.append(
            [
                preset,
                f"{n:,}",
                f"{secs:.1f}",
                f"{cpu:.1f}",
                f"{n / secs:,.0f}",
                " / ".join(f"{aimed[k]:.3f}" for k in LABELS),
                " / ".join(f"{naive[k]:.4f}" for k in LABELS),
            ]
        )
        if preset == "v28" and args.scale == 1.0:
            verdict = f"{'PASS' if secs < 60 else 'FAIL'} ({secs:.1f} s wall, {cpu:.1f} s CPU)"
            print(f"        target: full v28 in under 60 s -> {verdict}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    if args.no_page:
        return
    labels = " / ".join(LABELS)
    headers = ["preset", "samples", "seconds", "CPU s", "samples/s", f"aimed: {labels}", f"uniform: {labels}"]
    body = (
        f"Generator speed and acceptance, scale {args.scale:g}, seed {args.seed}. Baseline in the same run: "
        "the same sampler drawing values uniformly (plain rejection sampling). The two last columns are the "
        "acceptance per class: what the aiming buys. CPU s is the process's CPU time, which a busy machine "
        "inflates much less than the wall time (see the load average above).\n\n"
        + table(headers, rows)
        + (f"\nTarget: the full v28 preset in under 60 s: {verdict}." if verdict else "")
        + f"\nPeak memory (max RSS of the whole run): {peak:.0f} MiB.\n"
    )
    write_page("generator", "Generator speed", body)


if __name__ == "__main__":
    main()
