"""The federated report's three experiments: FL (Flower simulation) vs centralized, our tables beside theirs.

Usage::

    python benchmarks/fl_experiments.py --scale 1.0                 # full size (84K train / 36K test)
    python benchmarks/fl_experiments.py --scale 0.05 --experiments 1 --work runs/fl_bench

* Experiment 1: clients 5 / 10 / 15 on the clean data.
* Experiment 2: 5 clients on clean / low / medium / high noise.
* Experiment 3: 5 clients on common_first / rare_first / middle_ground pair preferences (clean).

Every run uses the report's YAML defaults (4 rounds x 5 local epochs = 20 epochs, batch 64, lr 1e-3, ...),
except ``use_wandb: false``, one CPU per simulated client (2-core machines) and ``optuna_n_trials``
(``--optuna-trials``, default 0: tuning is per run and would multiply the cost). The centralized baseline is
measured in the same run (same model, same initial weights, same data, same epoch budget).

Data: preset v28 (120K samples at scale 1, test share 0.3 = the report's 84K / 36K) generated with seed 42,
embedded with the local text encoder (``--features local``) or, for a quick look only, with fixed random
projections of the node multi-hot vectors (``--features projection``; no text model). Generated data,
features and partitions are cached under ``--work`` and reused. The report's Experiment 1 used its V16
dataset, which our generator does not define; we use v28 clean there too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The report's tables: (score, negative F1, average F1, positive F1).
REPORT: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "exp1": {
        "Centralized (Baseline)": (0.7967, 0.7074, 0.9523, 0.7305),
        "FL with 5 clients": (0.7623, 0.6841, 0.9458, 0.6571),
        "FL with 10 clients": (0.7029, 0.5781, 0.9405, 0.5902),
        "FL with 15 clients": (0.6765, 0.5345, 0.9368, 0.5581),
    },
    "exp2": {
        "FL with no noise": (0.8074, 0.8029, 0.8633, 0.7559),
        "Centralized with no noise": (0.8205, 0.8165, 0.8692, 0.7760),
        "FL with low noise": (0.7923, 0.7902, 0.8555, 0.7313),
        "Centralized with low noise": (0.8159, 0.8039, 0.8750, 0.7686),
        "FL with medium noise": (0.7826, 0.7718, 0.8570, 0.7189),
        "Centralized with medium noise": (0.8017, 0.7876, 0.8643, 0.7533),
        "FL with high noise": (0.7609, 0.7344, 0.8625, 0.6859),
        "Centralized with high noise": (0.7811, 0.7551, 0.8659, 0.7221),
    },
    "exp3": {
        "Centralized Common First": (0.8803, 0.8856, 0.9245, 0.8308),
        "FL Common First": (0.8748, 0.8775, 0.9150, 0.8320),
        "Centralized Rare First": (0.9441, 0.9503, 0.9579, 0.9242),
        "FL Rare First": (0.9343, 0.9470, 0.9505, 0.9054),
        "Centralized Middle Ground": (0.8813, 0.8744, 0.9143, 0.8551),
        "FL Middle Ground": (0.8625, 0.8677, 0.9009, 0.8188),
    },
}
NOISE_NAMES = {"clean": "no", "low": "low", "medium": "medium", "high": "high"}
PAIR_NAMES = {"common_first": "Common First", "rare_first": "Rare First", "middle_ground": "Middle Ground"}


def dataset(work: Path, scale: float, noise: str, pairs: str) -> Path:
    from campaignlab.synth import dataset as ds
    from campaignlab.synth.config import resolve_generator_config

    out = work / "datasets" / f"v28_{noise}_{pairs}_s{scale:g}"
    if not (out / "manifest.json").is_file():
        cfg = resolve_generator_config(
            {"preset": "v28", "noise": noise, "pairs": pairs, "scale": scale, "seed": 42}
        )
        t = time.perf_counter()
        ds.write(ds.generate(cfg), out)
        print(f"  generated {out.name} in {time.perf_counter() - t:.0f}s", flush=True)
    return out


def features(work: Path, data_dir: Path, kind: str) -> Path:
    out = work / f"features_{kind}" / data_dir.name
    if (out / "features.parquet").is_file():
        return out
    t = time.perf_counter()
    if kind == "local":
        from campaignlab.features.embed import embed_dataset

        embed_dataset(data_dir, out, "local", cache_dir=work / "embed_cache")
    else:
        from campaignlab.features.projection import projection_features

        projection_features(
            data_dir, out, dims={"audience": 384, "brand": 384, "creative": 384, "geo": 332, "platform": 384}
        )
    print(f"  features ({kind}) for {data_dir.name} in {time.perf_counter() - t:.0f}s", flush=True)
    return out


def partitions(work: Path, feat_dir: Path, clients: int) -> Path:
    from campaignlab.federated.partition import PartitionConfig, partition

    root = work / "partitions" / feat_dir.parent.name / feat_dir.name
    if not (root / f"homogeneous_{clients}clients" / "manifest.json").is_file():
        partition(feat_dir, PartitionConfig(num_clients=clients, split="homogeneous", seed=42), root)
    return root


def federate(
    work: Path, part_root: Path, data_version: str, clients: int, trials: int, rounds: int, epochs: int
) -> dict[str, Any]:
    """One `campaignlab federate` run in a fresh process (Ray is started and stopped per run)."""
    run = (
        work
        / "runs"
        / part_root.parent.name
        / f"{data_version}_{clients}clients_r{rounds}e{epochs}_t{trials}"
    )
    if (run / "metrics.json").is_file():
        return json.loads((run / "metrics.json").read_text())
    cfg = {
        "server": {"num_rounds": rounds},
        "client": {"num_clients": clients},
        "model": {"local_epochs": epochs, "optuna_n_trials": trials},
        "general": {"use_wandb": False, "data_version": data_version},
        "backend": {"client_resources": {"num_cpus": 1}},
    }
    cfg_path = work / "configs" / f"{run.name}.yaml"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(yaml.safe_dump(cfg))
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "campaignlab",
            "federate",
            "--config",
            str(cfg_path),
            "--data",
            str(part_root),
            "--out",
            str(run),
            "--quiet",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "FLWR_TELEMETRY_ENABLED": "0"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"federate failed for {run.name}:\n{proc.stderr[-4000:]}")
    print(f"  {run.name}: {time.perf_counter() - t:.0f}s", flush=True)
    return json.loads((run / "metrics.json").read_text())


def row(r: dict[str, Any]) -> tuple[float, float, float, float]:
    return (r["macro_f1"], r["f1_negative"], r["f1_average"], r["f1_positive"])


Row = tuple[float, ...]


def print_table(title: str, ours: Mapping[str, Row], report: Mapping[str, Row]) -> None:
    print(f"\n### {title}\n")
    print(
        "| Training Configuration | Score ours | Score report | Neg F1 ours / report "
        "| Avg F1 ours / report | Pos F1 ours / report |"
    )
    print("|---|---|---|---|---|---|")
    for name, o in ours.items():
        r = report.get(name)
        rs = [f"{v:.4f}" for v in r] if r else ["-"] * 4
        print(
            f"| {name} | {o[0]:.4f} | {rs[0]} | {o[1]:.4f} / {rs[1]} | {o[2]:.4f} / {rs[2]} "
            f"| {o[3]:.4f} / {rs[3]} |"
        )


def curves(results: dict[str, dict[str, Any]]) -> str:
    """Per run: the global model's macro F1 over rounds 0..R, and the simulation vs centralized seconds."""
    lines = []
    for name, m in results.items():
        per_round = " -> ".join(f"{r['macro_f1']:.3f}" for r in m["federated"]["rounds"])
        lines.append(
            f"  {name}: FL rounds {per_round}; centralized {m['centralized']['macro_f1']:.3f}; "
            f"{m['federated']['wall_seconds']:.0f}s FL vs {m['centralized']['seconds']:.0f}s centralized"
        )
    return "\n".join(lines)


def wall(results: list[dict[str, Any]]) -> str:
    fl = sum(m["federated"]["wall_seconds"] for m in results)
    ce = sum(m["centralized"]["seconds"] for m in results)
    ratio = fl / max(ce, 1e-9)
    n = len(results)
    return f"wall time: FL simulation {fl:.0f}s vs centralized {ce:.0f}s (x{ratio:.1f}) over {n} run(s)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="share of the full-size data (1.0 = 84K/36K)")
    ap.add_argument("--experiments", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "fl_bench", help="cache and run folder")
    ap.add_argument("--features", choices=["local", "projection"], default="local")
    ap.add_argument("--optuna-trials", type=int, default=0)
    ap.add_argument("--clients", type=int, nargs="+", default=[5, 10, 15], help="experiment 1 client counts")
    ap.add_argument("--rounds", type=int, default=4, help="report: 4")
    ap.add_argument("--local-epochs", type=int, default=5, help="report: 5")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.work.resolve()
    print(
        f"scale {args.scale:g}, features {args.features}, {args.rounds} rounds x {args.local_epochs} "
        f"local epochs, optuna trials {args.optuna_trials}; work {work}",
        flush=True,
    )
    summary: dict[str, Any] = {"scale": args.scale, "features": args.features}

    def run(noise: str, pairs: str, clients: int) -> dict[str, Any]:
        d = dataset(work, args.scale, noise, pairs)
        f = features(work, d, args.features)
        p = partitions(work, f, clients)
        return federate(work, p, f.name, clients, args.optuna_trials, args.rounds, args.local_epochs)

    if 1 in args.experiments:
        counts = sorted(set(args.clients))
        res = {n: run("clean", "none", n) for n in counts}
        ours = {"Centralized (Baseline)": row(res[counts[0]]["centralized"])}
        ours.update({f"FL with {n} clients": row(res[n]["federated"]["final"]) for n in counts})
        print_table("Experiment 1: centralized vs federated (clients 5/10/15)", ours, REPORT["exp1"])
        gap5 = 100 * (ours["Centralized (Baseline)"][0] - ours[f"FL with {counts[0]} clients"][0])
        fl_scores = [ours[f"FL with {n} clients"][0] for n in counts]
        monotone = bool(np.all(np.diff(fl_scores) <= 0))
        print(
            f"\n{counts[0]}-client gap: {gap5:.2f} macro-F1 points (target <= 1.0 at 5; report 3.44). "
            f"FL score falls with clients (report's ordering): {monotone}"
        )
        print(curves({f"{n} clients": res[n] for n in counts}))
        print(wall(list(res.values())))
        summary["exp1"] = {
            "table": ours,
            "gap5_points": gap5,
            "ordering_reproduced": monotone,
            "wall": wall(list(res.values())),
        }
    if 2 in args.experiments:
        res = {nz: run(nz, "none", 5) for nz in NOISE_NAMES}
        ours = {}
        for nz, m in res.items():
            ours[f"FL with {NOISE_NAMES[nz]} noise"] = row(m["federated"]["final"])
            ours[f"Centralized with {NOISE_NAMES[nz]} noise"] = row(m["centralized"])
        print_table("Experiment 2: noise (5 clients)", ours, REPORT["exp2"])
        fl = [ours[f"FL with {NOISE_NAMES[n]} noise"][0] for n in NOISE_NAMES]
        ce = [ours[f"Centralized with {NOISE_NAMES[n]} noise"][0] for n in NOISE_NAMES]
        gaps = [100 * (c - f) for c, f in zip(ce, fl, strict=True)]
        ordered = bool(np.all(np.diff(fl) <= 0) and np.all(np.diff(ce) <= 0))
        print(
            f"\ngaps (points) clean/low/medium/high: {[round(g, 2) for g in gaps]}; "
            f"scores fall with noise for both (report's ordering): {ordered}; "
            f"clean > high for both: {fl[0] > fl[-1] and ce[0] > ce[-1]}"
        )
        print(curves({f"{nz} noise": m for nz, m in res.items()}))
        print(wall(list(res.values())))
        summary["exp2"] = {"table": ours, "gaps": gaps, "ordering_reproduced": ordered}
    if 3 in args.experiments:
        res = {pp: run("clean", pp, 5) for pp in PAIR_NAMES}
        ours = {}
        for pp, m in res.items():
            ours[f"Centralized {PAIR_NAMES[pp]}"] = row(m["centralized"])
            ours[f"FL {PAIR_NAMES[pp]}"] = row(m["federated"]["final"])
        print_table("Experiment 3: pair preferences (5 clients, clean)", ours, REPORT["exp3"])
        best_fl = max(PAIR_NAMES, key=lambda p: ours[f"FL {PAIR_NAMES[p]}"][0])
        best_ce = max(PAIR_NAMES, key=lambda p: ours[f"Centralized {PAIR_NAMES[p]}"][0])
        print(f"\nbest configuration: FL {best_fl}, centralized {best_ce} (report: rare_first for both)")
        print(curves(dict(res)))
        print(wall(list(res.values())))
        summary["exp3"] = {"table": ours, "best_fl": best_fl, "best_centralized": best_ce}
    (work / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"\nresults: {work / 'results.json'}")


if __name__ == "__main__":
    main()
