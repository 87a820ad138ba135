"""Recommendations against ground truth: is the recommended campaign truly Positive?

On generated data the generator's graph says what any combination's true class is: a campaign is truly
Positive when the shares of positive and negative pairs among all its values lie in the Positive class's
ranges. So for brand + audience queries drawn from the test split, every candidate combination of
platform, creative and geo set (the model's training candidates: all platforms, the 40 most frequent
creatives and geo sets) gets its true class, and each model family's top-1 and top-K recommendations
(``campaignlab.serving.recommend``, objective ``positive``) are checked against it, beside

* **random**: a candidate combination drawn uniformly (its hit rate is exactly the share of truly
  Positive combinations);
* **most often Positive in training**: combinations ranked by the mean training Positive rate of their
  platform, creative and geo set (Laplace-smoothed, ``candidates.json``);
* **oracle**: the share of queries for which any candidate combination is truly Positive (the ceiling).

Each family's test macro F1 is shown next to its recommendation quality: the multimodal report's "the
most accurate predictor is not always the most effective recommender", answered with numbers.

Usage:
    .venv/bin/python benchmarks/recommend.py [--scale 0.03] [--queries 30] [--top 5] [--work-dir DIR]

Writes ``docs/results/recommend.md`` (command, date, machine) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
PARAMS: dict[str, dict[str, Any]] = {
    "hierarchical_lgbm": {"stage1_n_estimators": 200, "stage2_n_estimators": 200, "n_jobs": 1},
    "shared_latent": {"max_epochs": 30, "patience": 6, "n_jobs": 1},
    "robust_modality": {"max_epochs": 30, "patience": 6, "n_jobs": 1},
}


def prepare(args: argparse.Namespace) -> tuple[Path, Path, dict[str, Path]]:
    """Dataset, features and one trained model per family (cached in the work dir)."""
    from campaignlab.features.embed import embed_dataset
    from campaignlab.models.commands import EvaluateConfig, TrainConfig, evaluate, train
    from campaignlab.synth import dataset
    from campaignlab.synth.config import resolve_generator_config

    work = args.work_dir
    data = work / f"{args.preset}_{args.scale}_{args.seed}"
    if not (data / "samples.parquet").is_file():
        cfg = resolve_generator_config({"preset": args.preset, "scale": args.scale, "seed": args.seed})
        dataset.write(dataset.generate(cfg), data, plot=False)
    feats = work / f"features_{args.preset}_{args.scale}_{args.seed}"
    if not (feats / "features.parquet").is_file():
        print(f"embedding {data} ...", file=sys.stderr)
        embed_dataset(data, feats, "local", cache_dir=work / "cache")
    models = {}
    for name, params in PARAMS.items():
        out = work / f"model_{name}_{args.preset}_{args.scale}_{args.seed}"
        if not (out / "recipe.json").is_file():
            print(f"training {name} ...", file=sys.stderr)
            train(TrainConfig(model=name, features=feats, out=out, params=params, seed=args.seed))
        if not (out.parent / f"{out.name}_eval" / "metrics.json").is_file():
            evaluate(EvaluateConfig(model=out, features=feats, out=out.parent / f"{out.name}_eval"))
        models[name] = out
    return data, feats, models


def ground_truth(data: Path, cands: Any, queries: list[dict[str, Any]]) -> np.ndarray:
    """(Q, P, C, G) bool: is the query's brand + audience with each candidate truly Positive?"""
    import pyarrow.parquet as pq

    from campaignlab.io import read_json
    from campaignlab.serving.recommend import geo_key
    from campaignlab.synth.graph import sign_matrix

    nodes = pq.read_table(data / "nodes.parquet").to_pydict()
    edges = pq.read_table(data / "edges.parquet").to_pydict()
    n = len(nodes["node_id"])
    s = sign_matrix(n, np.asarray(edges["src"]), np.asarray(edges["dst"]), np.asarray(edges["sign"]))
    pos_m, neg_m = (s == 1).astype(np.int64), (s == -1).astype(np.int64)
    rng = read_json(data / "manifest.json")["effective_ranges"]["pos"]
    (plo, phi), (nlo, nhi) = rng["pos_frac_range"], rng["neg_frac_range"]

    t = pq.read_table(data / "samples.parquet").to_pydict()
    # Node ids of each candidate part, looked up from the training rows that carried it.
    plat_nodes, creative_nodes, geo_nodes = {}, {}, {}
    for i in range(len(t["sample_id"])):
        plat_nodes.setdefault(t["platform"][i], list(t["platform_nodes"][i]))
        creative_nodes.setdefault(t["creative"][i], list(t["creative_nodes"][i]))
        geo_nodes.setdefault(geo_key([str(z) for z in t["geo"][i]]), list(t["geo_nodes"][i]))
    parts = {
        "P": [plat_nodes[p] for p in cands.platforms],
        "C": [creative_nodes[c] for c in cands.creatives],
        "G": [geo_nodes[geo_key(g)] for g in cands.geo],
    }

    def inner(m: np.ndarray, sets: list[list[int]]) -> np.ndarray:
        return np.array([m[np.ix_(a, a)].sum() // 2 for a in sets])

    def cross(m: np.ndarray, xs: list[list[int]], ys: list[list[int]]) -> np.ndarray:
        return np.array([[m[np.ix_(a, b)].sum() for b in ys] for a in xs])

    size = {k: np.array([len(a) for a in v]) for k, v in parts.items()}
    out = np.zeros((len(queries), len(parts["P"]), len(parts["C"]), len(parts["G"])), dtype=bool)
    stats = {}
    for name, m in (("pos", pos_m), ("neg", neg_m)):
        stats[name] = (
            {k: inner(m, v) for k, v in parts.items()},
            cross(m, parts["P"], parts["C"]),
            cross(m, parts["P"], parts["G"]),
            cross(m, parts["C"], parts["G"]),
        )
    for qi, q in enumerate(queries):
        fixed = q["nodes"]
        k = len(fixed) + size["P"][:, None, None] + size["C"][None, :, None] + size["G"][None, None, :]
        pairs = k * (k - 1) // 2
        frac = {}
        for name, m in (("pos", pos_m), ("neg", neg_m)):
            ins, pc, pg, cg = stats[name]
            f = m[np.ix_(fixed, fixed)].sum() // 2
            fp = np.array([m[np.ix_(fixed, a)].sum() for a in parts["P"]])
            fc = np.array([m[np.ix_(fixed, a)].sum() for a in parts["C"]])
            fg = np.array([m[np.ix_(fixed, a)].sum() for a in parts["G"]])
            total = (
                f
                + (ins["P"] + fp)[:, None, None]
                + (ins["C"] + fc)[None, :, None]
                + (ins["G"] + fg)[None, None, :]
                + pc[:, :, None]
                + pg[:, None, :]
                + cg[None, :, :]
            )
            frac[name] = total / pairs
        out[qi] = (frac["pos"] >= plo) & (frac["pos"] <= phi) & (frac["neg"] >= nlo) & (frac["neg"] <= nhi)
    return out


def draw_queries(data: Path, n: int, seed: int) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    t = pq.read_table(data / "samples.parquet").to_pydict()
    test = [i for i, s in enumerate(t["split"]) if s == "test"]
    pick = np.random.default_rng(seed).choice(test, size=min(n, len(test)), replace=False)
    return [
        {
            "sample_id": t["sample_id"][i],
            "brand": t["brand"][i],
            "audience": t["audience"][i],
            "nodes": list(t["audience_nodes"][i]) + list(t["brand_nodes"][i]),
        }
        for i in sorted(pick.tolist())
    ]


def hit_rates(order: np.ndarray, truth: np.ndarray, top: int) -> tuple[float, float]:
    """Top-1 hit rate and top-K precision over queries; ``order`` (Q, N) ranks flat combination indices."""
    flat = truth.reshape(len(truth), -1)
    top1 = np.mean([flat[q, order[q, 0]] for q in range(len(flat))])
    topk = np.mean([flat[q, order[q, :top]].mean() for q in range(len(flat))])
    return float(top1), float(topk)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="v25")
    ap.add_argument("--scale", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="model threads while scoring")
    ap.add_argument("--work-dir", type=Path, default=REPO / "runs" / "bench_recommend")
    ap.add_argument("--no-write", action="store_true", help="do not write docs/results/recommend.md")
    args = ap.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    from campaignlab.io import read_json
    from campaignlab.serving.predictor import Predictor
    from campaignlab.serving.recommend import embed_grid, geo_key, score_grid, training_candidates

    data, _, models = prepare(args)
    cands = training_candidates(next(iter(models.values())))
    assert cands is not None
    queries = draw_queries(data, args.queries, args.seed)
    truth = ground_truth(data, cands, queries)
    n_comb = truth[0].size
    rows: list[dict[str, Any]] = []

    # Baselines.
    share = truth.reshape(len(truth), -1).mean(1)
    rows.append({"method": "random choice", "top1": float(share.mean()), "topk": float(share.mean())})
    rate = cands.positive_rate
    prior = (
        np.array([rate["platform"][p] for p in cands.platforms])[:, None, None]
        + np.array([rate["creative"][c] for c in cands.creatives])[None, :, None]
        + np.array([rate["geo"][geo_key(g)] for g in cands.geo])[None, None, :]
    ).reshape(-1)
    prior_order = np.tile(np.argsort(-prior, kind="stable"), (len(queries), 1))
    top1, topk = hit_rates(prior_order, truth, args.top)
    rows.append({"method": "most often Positive in training", "top1": top1, "topk": topk})

    for name, model in models.items():
        t1 = time.perf_counter()
        pred = Predictor(model, threads=args.threads, cache_dir=args.work_dir / "cache")
        order = []
        for q in queries:
            grid = embed_grid(pred, q["brand"], q["audience"], cands)
            _, score = score_grid(pred, grid, "positive")
            order.append(np.argsort(-score, kind="stable"))
        top1, topk = hit_rates(np.array(order), truth, args.top)
        metrics = read_json(model.parent / f"{model.name}_eval" / "metrics.json")
        rows.append({"method": name, "macro_f1": metrics["macro_f1"], "top1": top1, "topk": topk,
                     "seconds": time.perf_counter() - t1})  # fmt: skip
    oracle = float(truth.reshape(len(truth), -1).any(1).mean())
    rows.append({"method": "oracle (any candidate truly Positive)", "top1": oracle, "topk": None})

    k = args.top
    lines = [
        f"| method | test macro F1 | top-1 truly Positive | top-{k} truly Positive | scoring s |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        f1 = f"{r['macro_f1']:.4f}" if "macro_f1" in r else ""
        tk = f"{r['topk']:.3f}" if r["topk"] is not None else ""
        secs = f"{r['seconds']:.1f}" if "seconds" in r else ""
        lines.append(f"| {r['method']} | {f1} | {r['top1']:.3f} | {tk} | {secs} |")
    table = "\n".join(lines)
    print(table)
    total = time.perf_counter() - t0
    summary = (
        f"{len(queries)} brand + audience queries from the {args.preset} test split (scale {args.scale}, "
        "seed "
        f"{args.seed}); {len(cands.platforms)} platforms x {len(cands.creatives)} creatives x "
        f"{len(cands.geo)} geo sets = {n_comb} candidate combinations per query; objective positive; "
        f"{total:.0f} s in all."
    )
    print(summary)
    (args.work_dir / "recommend.json").write_text(json.dumps({"rows": rows, "args": vars(args)}, default=str))
    if args.no_write:
        return
    cmd = "python benchmarks/recommend.py " + " ".join(argv if argv is not None else sys.argv[1:])
    page = (
        "# Recommendations against the generator's ground truth\n\n"
        f"Command: `{cmd.strip()}`  \nDate: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}  \n"
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared), "
        f"Python {platform.python_version()}\n\n"
        f"{summary}\n\n{table}\n\n"
        "A hit is a recommended combination whose pairwise positive/negative shares lie in the Positive "
        "class's ranges of the generator (`effective_ranges.pos` of the dataset manifest). `random choice` "
        "is exact (the share of truly Positive combinations); `most often Positive in training` ranks "
        "combinations by the mean "
        "Laplace-smoothed training Positive rate of their platform, creative and geo set.\n"
    )
    out = REPO / "docs" / "results" / "recommend.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
