"""Federated benchmarks: the report's three experiments and issue 16's tables, each written to a page.

Usage (``--work`` caches data, features, partitions and runs; a rerun only prints and rewrites pages)::

    python benchmarks/fl_experiments.py report  --scale 1 --experiments 1 2 3   # FedAvg beside a challenger
    python benchmarks/fl_experiments.py tune    --scale 0.2                     # strategy screen (validation)
    python benchmarks/fl_experiments.py curve   --scale 1 --beyond 10           # gap vs rounds at 20 epochs
    python benchmarks/fl_experiments.py hetero  --scale 0.1 --features projection
    python benchmarks/fl_experiments.py privacy --scale 0.1 --features projection
    python benchmarks/fl_experiments.py attack  --scale 0.1 --features projection

Pages: ``docs/results/fl_<table>.md`` (the command, date, machine, versions, the table, notes); heat maps
and curves beside them in ``docs/results/fl/``.

Every run is one ``campaignlab federate`` process over the defaults of
``campaignlab/federated/default.yaml`` (4 rounds x 5 local epochs = 20 epochs, batch 64, lr 1e-3, the
default strategy), except ``use_wandb: false``, one CPU per simulated client (2-core machines) and
``optuna_n_trials: 0``; a table names what else it changes. ``Mean`` is the report's FedAvg.

Data: preset v28, seed 42 (120K samples at scale 1, test share 0.3 = the report's 84K / 36K), embedded
with the local text encoder (``--features local``) or, for a quick look only, with fixed random
projections of the node multi-hot vectors (``--features projection``; no text model). A local-encoder
scale below 1 is a stratified subsample (same seed) of the full-size features when they are in
``--work``, so no second embedding pass is needed.

Tuning is honest: ``tune`` never sees the server test set. It re-splits the *training* rows: a
stratified 15% becomes the server's validation set, the rest is partitioned over the clients.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
RESULTS = REPO / "docs" / "results"
from campaignlab.io import COMPLETE_MARKER  # noqa: E402  a cached folder counts only once published

# The report's tables: (score, negative F1, average F1, positive F1).
REPORT: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "exp1": {
        "Centralized (Baseline)": (0.7967, 0.7074, 0.9523, 0.7305),
        "FL with 5 clients": (0.7623, 0.6841, 0.9458, 0.6571),
        "FL with 10 clients": (0.7029, 0.5781, 0.9405, 0.5902),
        "FL with 15 clients": (0.6765, 0.5345, 0.9368, 0.5581),
    },
    "exp2": {
        "none": (0.8074, 0.8205, 1.3, 0),
        "low": (0.7923, 0.8159, 2.4, 0),
        "medium": (0.7826, 0.8017, 1.9, 0),
        "high": (0.7609, 0.7811, 2.0, 0),
    },
    "exp3": {
        "common_first": (0.8748, 0.8803, 0.6, 0),
        "rare_first": (0.9343, 0.9441, 1.0, 0),
        "middle_ground": (0.8625, 0.8813, 1.9, 0),
    },
}
NOISES = ("clean", "low", "medium", "high")
PAIRS = ("common_first", "rare_first", "middle_ground")
DEFAULT = "default"  # the strategy of default.yaml, whatever it is
CH = "challenger"  # the column beside FedAvg: see challenger()


# ---------------------------------------------------------------------------------------------- data


def dataset(work: Path, scale: float, noise: str, pairs: str) -> Path:
    from campaignlab.synth import dataset as ds
    from campaignlab.synth.config import resolve_generator_config

    out = work / "datasets" / f"v28_{noise}_{pairs}_s{scale:g}"
    if not (out / COMPLETE_MARKER).is_file():
        cfg = resolve_generator_config(
            {"preset": "v28", "noise": noise, "pairs": pairs, "scale": scale, "seed": 42}
        )
        t = time.perf_counter()
        ds.write(ds.generate(cfg), out)
        print(f"  generated {out.name} in {time.perf_counter() - t:.0f}s", flush=True)
    return out


def subsample_features(src: Path, out: Path, share: float, seed: int = 42) -> Path:
    """A stratified (split x label) ``share`` of a features folder's rows, same schema and manifest."""
    import pyarrow as pa

    from campaignlab.features.table import read_features
    from campaignlab.io import atomic_dir, write_json, write_parquet

    table, manifest = read_features(src)
    split = np.asarray(table.column("split").to_pylist(), dtype=object)
    label = table.column("label").to_numpy()
    rng = np.random.default_rng(seed)
    keep = []
    for s in ("train", "test"):
        for c in (0, 1, 2):
            idx = np.flatnonzero((split == s) & (label == c))
            keep.append(rng.permutation(idx)[: round(share * len(idx))])
    rows = np.sort(np.concatenate(keep))
    with atomic_dir(out) as tmp:
        write_parquet(table.take(pa.array(rows)), tmp / "features.parquet")
        write_json(tmp / "manifest.json", {**manifest, "subsample": {"of": str(src), "share": share}})
    return out


def features(work: Path, scale: float, noise: str, pairs: str, kind: str) -> Path:
    """Features of v28 (noise, pairs) at ``scale``; local-encoder subsets come from the full size."""
    name = f"v28_{noise}_{pairs}_s{scale:g}"
    out = work / f"features_{kind}" / name
    if (out / COMPLETE_MARKER).is_file():  # cached only when completely published
        return out
    full = work / f"features_{kind}" / f"v28_{noise}_{pairs}_s1"
    t = time.perf_counter()
    if kind == "local" and scale < 1 and (full / COMPLETE_MARKER).is_file():
        subsample_features(full, out, scale)
    elif kind == "local":
        from campaignlab.features.embed import embed_dataset

        embed_dataset(dataset(work, scale, noise, pairs), out, "local", cache_dir=work / "embed_cache")
    else:
        from campaignlab.features.projection import projection_features

        dims = {"audience": 384, "brand": 384, "creative": 384, "geo": 332, "platform": 384}
        projection_features(dataset(work, scale, noise, pairs), out, dims=dims)
    print(f"  features ({kind}) {name} in {time.perf_counter() - t:.0f}s", flush=True)
    return out


def validation_features(feat: Path, share: float = 0.15, seed: int = 42) -> Path:
    """Training rows only: a stratified ``share`` relabelled ``test`` (the server's validation set)."""
    import pyarrow as pa

    from campaignlab.features.table import read_features
    from campaignlab.io import atomic_dir, write_json, write_parquet
    from campaignlab.models.data import stratified_split

    out = feat.parent / f"{feat.name}_val"
    if (out / COMPLETE_MARKER).is_file():
        return out
    table, manifest = read_features(feat)
    split = np.asarray(table.column("split").to_pylist(), dtype=object)
    train = np.flatnonzero(split == "train")
    table = table.take(pa.array(train))
    _, held = stratified_split(table.column("label").to_numpy(), share, seed)
    new_split = np.full(len(train), "train", dtype=object)
    new_split[held] = "test"
    table = table.set_column(table.schema.get_field_index("split"), "split", pa.array(new_split.tolist()))
    with atomic_dir(out) as tmp:
        write_parquet(table, tmp / "features.parquet")
        write_json(tmp / "manifest.json", {**manifest, "validation_of_train_rows": share})
    return out


def partitions(
    work: Path, feat: Path, clients: int, alpha: float | None = None, reference_rows: int = 0
) -> Path:
    from campaignlab.federated.partition import PartitionConfig, folder_name, partition

    root = work / "partitions" / feat.parent.name / feat.name
    if reference_rows:
        root = root.with_name(root.name + f"_ref{reference_rows}")
    split = "heterogeneous" if alpha else "homogeneous"
    if not (root / folder_name(split, clients, alpha) / COMPLETE_MARKER).is_file():
        cfg = PartitionConfig(
            num_clients=clients, data_split=split, alpha=alpha, seed=42, reference_rows=reference_rows
        )
        partition(feat, cfg, root)
    return root / folder_name(split, clients, alpha)


# ---------------------------------------------------------------------------------------------- runs


def run_dir(work: Path, part: Path, tag: str) -> Path:
    return work / "runs" / part.parent.parent.name / part.parent.name / part.name / tag


def federate(work: Path, part: Path, tag: str, config: dict[str, Any]) -> dict[str, Any]:
    """One ``campaignlab federate`` run in a fresh process (Ray is started and stopped per run)."""
    run = run_dir(work, part, tag)
    if (run / "metrics.json").is_file():
        return dict(json.loads((run / "metrics.json").read_text()))
    manifest = json.loads((part / "manifest.json").read_text())
    base: dict[str, Any] = {
        "client": {"num_clients": manifest["num_clients"]},  # the partition's, unless the table says
        "model": {"optuna_n_trials": 0},
        "general": {"use_wandb": False},
        "backend": {"client_resources": {"num_cpus": 1}},
    }
    from campaignlab.config import deep_merge

    cfg = deep_merge(base, config)
    cfg_path = run.parent / f"{tag}.yaml"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(yaml.safe_dump(cfg))
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "campaignlab", "federate", "--config", str(cfg_path), "--data", str(part)]
    cmd += ["--out", str(run), "--quiet"]
    code, err = None, ""
    for attempt in range(3):
        code, err = run_watched(cmd)
        if code is not None:
            break
        print(
            f"  {part.name}/{tag}: Ray's raylet died at start-up (ray#65983); retry {attempt + 1}", flush=True
        )
    if code != 0:
        raise SystemExit(f"federate failed for {run}:\n{err[-4000:]}")
    m = dict(json.loads((run / "metrics.json").read_text()))
    final = m["federated"]["final"]["macro_f1"]
    print(f"  {part.name}/{tag}: FL {final:.4f} in {time.perf_counter() - t:.0f}s", flush=True)
    return m


def run_watched(cmd: list[str]) -> tuple[int | None, str]:
    """Run ``cmd``; return (exit code, stderr), or (None, "") when Ray's raylet crashed at start-up.

    On a heavily loaded machine Ray's raylet can die waiting 15 s for its dashboard agent (ray#65983)
    and the driver then waits forever. The raylet's log says so: kill the run; the caller retries.
    """
    import signal
    import tempfile

    with tempfile.TemporaryFile("w+") as errf:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=errf,
            start_new_session=True,
            env={**os.environ, "FLWR_TELEMETRY_ENABLED": "0"},
        )
        while proc.poll() is None:
            time.sleep(10)
            logs = Path("/tmp/ray").glob(f"session_*_{proc.pid}/logs/raylet.out")
            if any("Timed out waiting for file" in p.read_text(errors="replace") for p in logs):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return None, ""
        errf.seek(0)
        return proc.returncode, errf.read()


def strategy_config(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Config for a strategy: ``default`` = default.yaml's; else the name and parameters given."""
    if name == DEFAULT:
        return {}
    return {"server": {"strategy": name, "strategy_params": params or {}}}


def default_label() -> str:
    from campaignlab.federated.config import default_config

    s = default_config().server
    params = ", ".join(f"{k} {v:g}" for k, v in s.strategy_params.model_dump().items())
    return f"{s.strategy}" + (f" ({params})" if params else "")


# The strategy screen's best candidate (docs/results/fl_tune_s0.2.md, validation rows, never the test set).
BEST_LR, BEST_MOMENTUM = 1.5, 0.5


def challenger() -> tuple[str, str, dict[str, Any]]:
    """(run tag, label, config) of the column beside FedAvg.

    The default strategy when it is not FedAvg; when the default *is* FedAvg (no candidate beat it on
    the validation rows), the screen's best candidate, so the table still shows a server optimiser.
    """
    from campaignlab.federated.config import default_config

    s = default_config().server
    if s.strategy == "Mean":
        label = f"best of the screen: FedAvgM (server lr {BEST_LR:g}, momentum {BEST_MOMENTUM:g})"
        return f"exp_FedAvgM_lr{BEST_LR:g}_m{BEST_MOMENTUM:g}", label, avgm(BEST_LR, BEST_MOMENTUM)
    return f"exp_{DEFAULT}", f"default: {default_label()}", strategy_config(DEFAULT)


def f1(m: Mapping[str, Any] | None) -> float:
    return float(m["macro_f1"]) if m else float("nan")


def rounds_str(m: Mapping[str, Any]) -> str:
    return " → ".join(f"{r['macro_f1']:.3f}" for r in m["federated"]["rounds"])


# ---------------------------------------------------------------------------------------------- pages


def versions() -> str:
    import importlib.metadata as md

    return ", ".join(f"{p} {md.version(p)}" for p in ("flwr", "torch", "campaignlab"))


def write_page(name: str, title: str, body: str, args: argparse.Namespace) -> Path:
    """``docs/results/fl_<name>.md``: results_page's header (command, date, machine), versions and data."""
    import results_page

    facts = (
        f"- Versions: {versions()}\n"
        f"- Data: preset v28, seed 42, scale {args.scale:g} ({args.features} features)\n"
        "- Runs: reused from the run cache (`--work`) when already made; the date and load above are this "
        "page's writing; each run's wall time is in its metrics.json there\n\n"
    )
    return results_page.write_page(f"fl_{name}", title, facts + body)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """results_page's Markdown table, floats shown to 4 decimals."""
    from results_page import table as markdown_table

    return markdown_table(header, [[f"{v:.4f}" if isinstance(v, float) else v for v in r] for r in rows])


# ---------------------------------------------------------------------------------------------- tables


def avgm(lr: float, momentum: float) -> dict[str, Any]:
    return strategy_config("FedAvgM", {"server_learning_rate": lr, "server_momentum": momentum})


def cmd_tune(args: argparse.Namespace, work: Path) -> None:
    """Screen server optimisers and client options on a validation split of the training rows."""
    feat = validation_features(features(work, args.scale, "clean", "none", args.features))
    part = partitions(work, feat, 5)
    candidates: list[tuple[str, dict[str, Any]]] = [
        ("FedAvgM lr 1 m 0.9", avgm(1.0, 0.9)),
        ("FedAvgM lr 1.5 m 0.5", avgm(1.5, 0.5)),
        ("FedAdam eta 3e-3", strategy_config("FedAdam", {"eta": 3e-3})),
        ("FedAdam eta 3e-2", strategy_config("FedAdam", {"eta": 3e-2})),
        ("FedYogi eta 3e-3", strategy_config("FedYogi", {"eta": 3e-3})),
        ("FedAvgM lr 2 m 0.5", avgm(2.0, 0.5)),
        ("FedAdam eta 1e-3", strategy_config("FedAdam", {"eta": 1e-3})),
        (
            "Mean + cosine lr, 1 warm-up epoch",
            {"server": {"strategy": "Mean"}, "model": {"lr_schedule": "cosine", "warmup_epochs": 1}},
        ),
    ]
    only = set(args.only or [])
    skipped: list[str] = []
    # The FedAvg (Mean) run that also trains the centralized reference is the first candidate.
    central = federate(work, part, "centralized_ref", {"server": {"strategy": "Mean"}, "general": {}})
    gap0 = 100 * (f1(central["centralized"]) - f1(central["federated"]["final"]))
    rows = [["Mean (FedAvg)", f1(central["federated"]["final"]), f"{gap0:.2f}", rounds_str(central)]]
    for label, conf in candidates:
        if only and label not in only:
            continue
        tag = "tune_" + "".join(c if c.isalnum() else "_" for c in label)
        conf = {**conf, "general": {"centralized_baseline": False}}
        if args.cached_only and not (run_dir(work, part, tag) / "metrics.json").is_file():
            skipped.append(label)
            continue
        m = federate(work, part, tag, conf)
        gap = 100 * (f1(central["centralized"]) - f1(m["federated"]["final"]))
        rows.append([label, f1(m["federated"]["final"]), f"{gap:.2f}", rounds_str(m)])
    rows.sort(key=lambda r: -r[1])
    body = (
        "Strategy screen on a **validation split of the training rows** (a stratified 15% of the clients' "
        "rows held out as the server's evaluation set; the test set is never read). 5 clients, 4 rounds "
        "x 5 local epochs. Gap = centralized (same data, 20 epochs) minus FL, on the validation rows, "
        f"in macro-F1 points. Centralized on validation: {f1(central['centralized']):.4f}.\n\n"
        + table(["candidate", "FL validation macro F1", "gap (points)", "rounds 0..4"], rows)
        + (f"\n\nNot run (time): {', '.join(skipped)}." if skipped else "")
    )
    write_page(f"tune_s{args.scale:g}", "Federated: strategy screen (validation rows)", body, args)


def cmd_report(args: argparse.Namespace, work: Path) -> None:
    """Experiments 1-3: centralized, FL with FedAvg (Mean) and FL with the challenger (see challenger())."""
    ctag, clabel, cconf = challenger()
    strategies = ["Mean", CH]
    label = {"Mean": "FedAvg (Mean)", CH: clabel}
    parts = []
    summary: dict[str, Any] = {}

    def runs(noise: str, pairs: str, n: int) -> dict[str, dict[str, Any]]:
        part = partitions(work, features(work, args.scale, noise, pairs, args.features), n)
        out: dict[str, dict[str, Any]] = {}
        out["Mean"] = federate(work, part, "exp_Mean", strategy_config("Mean"))
        # The centralized baseline is the same for every strategy: trained once, in the FedAvg run.
        out[CH] = federate(work, part, ctag, {**cconf, "general": {"centralized_baseline": False}})
        out["central"] = out["Mean"]["centralized"]
        return out

    if 1 in args.experiments:
        res = {n: runs("clean", "none", n) for n in args.clients}
        rows = [
            [
                "Centralized (Baseline)",
                f1(res[args.clients[0]]["central"]),
                "",
                "",
                REPORT["exp1"]["Centralized (Baseline)"][0],
            ]
        ]
        for n in args.clients:
            c = f1(res[n]["central"])
            fa, fd = f1(res[n]["Mean"]["federated"]["final"]), f1(res[n][CH]["federated"]["final"])
            rep = REPORT["exp1"].get(f"FL with {n} clients", (float("nan"),))[0]
            rows.append([f"FL with {n} clients", fa, fd, f"{100 * (c - fa):.1f} / {100 * (c - fd):.1f}", rep])
        ordering = all(
            bool(np.all(np.diff([f1(res[n][k]["federated"]["final"]) for n in args.clients]) <= 0))
            for k in strategies
        )
        curves = "\n".join(
            f"- {n} clients, {label[s]}: {rounds_str(res[n][s])}" for n in args.clients for s in strategies
        )
        walls = "\n".join(
            f"- {n} clients: FL {res[n]['Mean']['federated']['wall_seconds']:.0f} s (FedAvg) / "
            f"{res[n][CH]['federated']['wall_seconds']:.0f} s (challenger) vs centralized "
            f"{res[n]['central']['seconds']:.0f} s"
            for n in args.clients
        )
        parts.append(
            "## Experiment 1: clean v28, clients "
            + " / ".join(map(str, args.clients))
            + "\n\n"
            + table(
                [
                    "Training Configuration",
                    "Score FedAvg (Mean)",
                    f"Score {label[CH]}",
                    "gap FedAvg / challenger (points)",
                    "Score report",
                ],
                rows,
            )
            + (
                "\n\nThe report's ordering (FL score falls as clients multiply) with FedAvg and the "
                f"challenger: {ordering}. "
                if len(args.clients) > 1
                else "\n\n"
            )
            + "Report gaps: 3.4 / 9.4 / 12.0.\n\nGlobal model per round (0 = initial):\n\n"
            + curves
            + "\n\nWall time:\n\n"
            + walls
            + "\n"
        )
        n0 = args.clients[0]
        summary["exp1"] = {
            "gap_fedavg": 100 * (f1(res[n0]["central"]) - f1(res[n0]["Mean"]["federated"]["final"])),
            "gap_challenger": 100 * (f1(res[n0]["central"]) - f1(res[n0][CH]["federated"]["final"])),
        }
    if 2 in args.experiments or 3 in args.experiments:
        for exp, settings in ((2, [(nz, "none") for nz in NOISES]), (3, [("clean", p) for p in PAIRS])):
            if exp not in args.experiments:
                continue
            rows = []
            for noise, pairs in settings:
                key = noise if exp == 2 else pairs
                r = runs(noise, pairs, 5)
                c, fa, fd = (
                    f1(r["central"]),
                    f1(r["Mean"]["federated"]["final"]),
                    f1(r[CH]["federated"]["final"]),
                )
                rep = REPORT[f"exp{exp}"][key if exp == 3 else ("none" if key == "clean" else key)]
                rows.append(
                    [
                        key,
                        c,
                        fa,
                        fd,
                        f"{100 * (c - fa):.1f}",
                        f"{100 * (c - fd):.1f}",
                        f"{rep[0]:.4f} / {rep[1]:.4f} / {rep[2]:.1f}",
                    ]
                )
            title = "noise levels" if exp == 2 else "pair preferences (clean)"
            parts.append(
                f"## Experiment {exp}: 5 clients, {title}\n\n"
                + table(
                    [
                        title.split(" ")[0],
                        "Centralized",
                        "FL FedAvg",
                        "FL challenger",
                        "gap FedAvg",
                        "gap challenger",
                        "report FL / centralized / gap",
                    ],
                    rows,
                )
                + "\n"
            )
    body = (
        f"Default strategy: **{default_label()}** (`campaignlab/federated/default.yaml`); beside FedAvg: "
        f"**{clabel}** (the default when it is not FedAvg, else the best of `fl_tune_s0.2.md`). "
        "Score = macro F1 on the server test set; gap = centralized minus FL in macro-F1 points; each "
        "row's centralized baseline is trained in the FedAvg run (same data, same initial weights, "
        "20 epochs).\n\n" + "\n".join(parts)
    )
    write_page(
        f"experiments_s{args.scale:g}",
        "Federated: the report's experiments, FedAvg vs a server optimiser",
        body,
        args,
    )
    (work / f"report_s{args.scale:g}.json").write_text(json.dumps(summary, indent=2))


def cmd_curve(args: argparse.Namespace, work: Path) -> None:
    """Gap vs rounds at a fixed 20 local epochs: 4x5, 10x2, 20x1 (FedAvg and the challenger)."""
    part = partitions(work, features(work, args.scale, "clean", "none", args.features), 5)
    central = federate(work, part, "exp_Mean", strategy_config("Mean"))["centralized"]
    lines = [("FedAvg (Mean)", "exp_Mean", strategy_config("Mean"))]
    if not args.only_fedavg:
        ctag, clabel, cconf = challenger()
        lines.append((clabel, ctag, cconf))
    rows, curves = [], {}
    for r, e in ((4, 5), (10, 2), (20, 1)):
        for name, tag4, conf0 in lines:
            tag = tag4 if (r, e) == (4, 5) else f"curve_{tag4.removeprefix('exp_')}_r{r}e{e}"
            conf = {
                **conf0,
                "server": {**conf0.get("server", {}), "num_rounds": r},
                "model": {"local_epochs": e},
            }
            if tag != "exp_Mean":
                conf["general"] = {"centralized_baseline": False}
            m = federate(work, part, tag, conf)
            fl = f1(m["federated"]["final"])
            curves[(name, r, e)] = [x["macro_f1"] for x in m["federated"]["rounds"]]
            rows.append(
                [
                    f"{r} x {e}",
                    name,
                    fl,
                    f"{100 * (f1(central) - fl):.1f}",
                    f"{m['federated']['wall_seconds']:.0f}",
                ]
            )
    beyond = ""
    if args.beyond:  # what it would take: FedAvg at 5 local epochs for more rounds than the report's 4
        conf = {
            "server": {"strategy": "Mean", "num_rounds": args.beyond},
            "general": {"centralized_baseline": False},
        }
        m = federate(work, part, f"curve_Mean_r{args.beyond}e5", conf)
        per_round = [x["macro_f1"] for x in m["federated"]["rounds"]]
        curves[("FedAvg (Mean)", args.beyond, 5)] = per_round
        within = [i for i, v in enumerate(per_round) if f1(central) - v <= 0.02]
        beyond = (
            f"\n\n**What it would take**: FedAvg at 5 local epochs per round for {args.beyond} rounds "
            f"({5 * args.beyond} local epochs per client): "
            + " → ".join(f"{v:.3f}" for v in per_round)
            + (
                f"; first within 2.0 points of the 20-epoch centralized model after round {within[0]} "
                f"({5 * within[0]} local epochs, {within[0]} synchronisations)."
                if within
                else f"; not within 2.0 points after {args.beyond} rounds."
            )
        )
    png = curve_plot(curves, f1(central), RESULTS / "fl" / f"curve_s{args.scale:g}.png")
    body = (
        f"5 clients, clean data; 20 local epochs in total per client, split into rounds x local epochs. "
        f"Centralized (20 epochs): {f1(central):.4f}.\n\n"
        + table(["rounds x local epochs", "strategy", "FL macro F1", "gap (points)", "FL seconds"], rows)
        + "\n\nGlobal model after each round, by local epochs done so far:\n\n"
        + "\n".join(
            f"- {n}, {r} x {e}: " + " → ".join(f"{v:.3f}" for v in c) for (n, r, e), c in curves.items()
        )
        + beyond
        + f"\n\n![gap vs rounds](fl/{png.name})\n"
    )
    write_page(f"curve_s{args.scale:g}", "Federated: gap vs rounds at a fixed 20 local epochs", body, args)


def curve_plot(curves: dict[tuple[str, int, int], list[float]], central: float, out: Path) -> Path:
    """Macro F1 of the global model against local epochs done, one line per (strategy, rounds x epochs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (name, r, e), c in curves.items():
        ax.plot([i * e for i in range(len(c))], c, marker="o", ms=3, label=f"{name}, {r} x {e}")
    ax.axhline(central, color="k", ls="--", lw=1, label=f"centralized, 20 epochs ({central:.3f})")
    ax.axhline(central - 0.02, color="k", ls=":", lw=1, label="2-point target")
    ax.set_xlabel("local epochs per client so far")
    ax.set_ylabel("macro F1 (server test set)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out


def owner_partition(work: Path) -> Path:
    """The own-data example (examples/campaigns.csv) ingested, embedded and split one client per owner."""
    root = work / "owner_example"
    steps = [
        (
            "dataset",
            ["ingest", "examples/campaigns.csv", "--mapping", "examples/mapping.yaml", "--split", "time"],
        ),
        ("features", ["embed", str(root / "dataset"), "--cache-dir", str(work / "embed_cache")]),
        ("partitions", ["partition", str(root / "features"), "--by", "owner"]),
    ]
    for folder, cmd in steps:  # each step's output is published with a marker (partition: per folder)
        out = root / folder
        if not any((d / COMPLETE_MARKER).is_file() for d in (out, *out.glob("owner_*clients"))):
            run = [sys.executable, "-m", "campaignlab", *cmd, "--out", str(out)]
            subprocess.run(run, cwd=REPO, check=True)
    return next(d for d in (root / "partitions").glob("owner_*clients") if (d / COMPLETE_MARKER).is_file())


def cmd_hetero(args: argparse.Namespace, work: Path) -> None:
    """Label skew: Dirichlet alpha 1.0 / 0.5 / 0.1 at 5 and 10 clients, and the own-data example's owners."""
    feat = features(work, args.scale, "clean", "none", args.features)
    figs = RESULTS / "fl"
    figs.mkdir(parents=True, exist_ok=True)
    strategies: list[tuple[str, dict[str, Any]]] = [
        ("FedAvg (Mean)", strategy_config("Mean")),
        (f"FedProx (mu {args.proximal_mu:g})", strategy_config("FedProx", {"proximal_mu": args.proximal_mu})),
        challenger()[1:],
    ]

    def tag(label: str) -> str:
        return "het_" + "".join(c if c.isalnum() else "_" for c in label)

    rows = []
    central = federate(work, partitions(work, feat, 5), "exp_Mean", strategy_config("Mean"))["centralized"]
    for n in args.clients:
        iid = federate(work, partitions(work, feat, n), "exp_Mean", strategy_config("Mean"))
        rows.append([n, "homogeneous", "FedAvg (Mean)", f1(iid["federated"]["final"])])
        for alpha in (1.0, 0.5, 0.1):
            part = partitions(work, feat, n, alpha=alpha)
            png = f"hetero_s{args.scale:g}_{n}clients_alpha{alpha:g}.png"
            shutil.copy2(part / "label_heatmap.png", figs / png)
            for label, conf in strategies:
                general = {"data_split": "heterogeneous", "alpha": alpha, "centralized_baseline": False}
                m = federate(work, part, tag(label), {**conf, "general": general})
                rows.append([n, f"Dirichlet {alpha:g}", label, f1(m["federated"]["final"])])
    gaps = [[*r, f"{100 * (f1(central) - r[3]):.1f}"] for r in rows]
    maps = "\n".join(
        f"- {n} clients, alpha {a:g}: ![](fl/hetero_s{args.scale:g}_{n}clients_alpha{a:g}.png)"
        for n in args.clients
        for a in (1.0, 0.5, 0.1)
    )
    body = (
        f"Label skew from a Dirichlet(alpha) split of the training rows (smaller alpha = more skew). "
        f"4 rounds x 5 local epochs. Centralized on the same rows (20 epochs): {f1(central):.4f}; gap = "
        "centralized minus FL in macro-F1 points.\n\n"
        + table(["clients", "split", "strategy", "FL macro F1", "gap (points)"], gaps)
        + "\n\nPer-client label counts (rows: clients and the server test set):\n\n"
        + maps
        + "\n"
    )
    if not args.no_owner:
        part = owner_partition(work)
        owners = json.loads((part / "manifest.json").read_text()).get("owners", [])
        # The centralized baseline is trained once, in the first (FedAvg) run.
        owner_runs = [
            federate(
                work,
                part,
                tag(label),
                {**conf, "general": {"data_split": "owner", "centralized_baseline": i == 0}},
            )
            for i, (label, conf) in enumerate(strategies)
        ]
        oc = owner_runs[0]["centralized"]
        orows = [
            [label, f1(m["federated"]["final"]), f"{100 * (f1(oc) - f1(m['federated']['final'])):.1f}"]
            for (label, _), m in zip(strategies, owner_runs, strict=True)
        ]
        shutil.copy2(part / "label_heatmap.png", figs / "hetero_owner_example.png")
        body += (
            f"\n## The own-data example, one client per owner\n\n`examples/campaigns.csv` "
            f"(`examples/mapping.yaml`, time split, local text encoder) partitioned with `partition --by "
            f"owner`: {len(owners)} clients ({', '.join(owners)}). Centralized on the same rows "
            f"(20 epochs): {f1(oc):.4f}.\n\n"
            + table(["strategy", "FL macro F1", "gap (points)"], orows)
            + "\n\n![owners' label counts](fl/hetero_owner_example.png)\n"
        )
    write_page(f"hetero_s{args.scale:g}", "Federated: heterogeneous (label-skewed) clients", body, args)


def cmd_privacy(args: argparse.Namespace, work: Path) -> None:
    """Central DP (Flower's server-side fixed clipping) at a few noise levels; epsilon from dp-accounting."""
    feat = features(work, args.scale, "clean", "none", args.features)
    rows = []
    for n in args.clients:
        part = partitions(work, feat, n)
        base = federate(work, part, "exp_Mean", strategy_config("Mean"))
        rows.append([n, "none (FedAvg, no clipping)", "-", "∞", f1(base["federated"]["final"])])
        for z in args.noise:
            conf = {
                "server": {
                    "strategy": "Mean",
                    "differential_privacy": {
                        "noise_multiplier": z,
                        "clipping_norm": args.clipping_norm,
                        "delta": args.delta,
                    },
                },
                "general": {"centralized_baseline": False},
            }
            m = federate(work, part, f"dp_z{z:g}_c{args.clipping_norm:g}", conf)
            dp = m["federated"]["differential_privacy"]
            rows.append(
                [n, f"{z:g}", f"{args.clipping_norm:g}", f"{dp['epsilon']:.3g}", f1(m["federated"]["final"])]
            )
    body = (
        "Central differential privacy at the client level: Flower's "
        "`DifferentialPrivacyServerSideFixedClipping` around FedAvg (each client's update clipped to "
        "L2 norm C, equal-weight average, Gaussian noise of std z·C/n). (epsilon, delta) from Google's "
        f"`dp-accounting` RDP accountant over the 4 rounds (add/remove one client, no sampling), delta = "
        f"{args.delta:g}. 4 rounds x 5 local epochs.\n\n"
        + table(["clients", "noise multiplier z", "clipping norm C", "epsilon", "FL macro F1"], rows)
    )
    write_page(
        f"privacy_s{args.scale:g}", "Federated: central differential privacy (privacy-utility)", body, args
    )


def cmd_attack(args: argparse.Namespace, work: Path) -> None:
    """Malicious clients vs robust aggregators and our reference check."""
    feat = features(work, args.scale, "clean", "none", args.features)
    settings = [(n, bad) for n, bad in ((5, [0]), (15, [0, 1, 2])) if n in args.clients]
    attacks = [(a, 1.0 if a == "label_flip" else 10.0) for a in args.attacks]
    rows = []
    for n, bad in settings:
        part = partitions(work, feat, n, reference_rows=args.reference_rows)
        f = len(bad)
        defences: list[tuple[str, dict[str, Any]]] = [
            ("FedAvg (Mean)", strategy_config("Mean")),
            ("FedMedian", strategy_config("FedMedian")),
            ("FedTrimmedAvg (beta 0.2)", strategy_config("FedTrimmedAvg", {"beta": 0.2})),
            (f"Krum (f {f})", strategy_config("Krum", {"num_malicious_nodes": f})),
            (
                "FedAvg + reference check (ours)",
                {"server": {"strategy": "Mean", "reference_check": {"tolerance": args.tolerance}}},
            ),
        ]
        clean = federate(
            work,
            part,
            "atk_none_Mean",
            {**strategy_config("Mean"), "general": {"centralized_baseline": False}},
        )
        rows.append([f"{f} of {n}", "none", "FedAvg (Mean)", f1(clean["federated"]["final"]), ""])
        for kind, factor in attacks:
            for label, conf in defences:
                tag = f"atk_{kind}_" + "".join(c if c.isalnum() else "_" for c in label)
                srv = {**conf.get("server", {})}
                conf = {
                    "server": srv,
                    "client": {"attack": {"kind": kind, "clients": bad, "factor": factor}},
                    "general": {"centralized_baseline": False},
                }
                if args.cached_only and not (run_dir(work, part, tag) / "metrics.json").is_file():
                    rows.append([f"{f} of {n}", kind, label, "not run (time)", ""])
                    continue
                m = federate(work, part, tag, conf)
                ref = m["federated"].get("reference_check") or {}
                left = "; ".join(f"r{r}: {v['left_out']}" for r, v in ref.items()) if ref else ""
                rows.append(
                    [
                        f"{f} of {n}",
                        kind + (f" x{factor:g}" if kind != "label_flip" else ""),
                        label,
                        f1(m["federated"]["final"]),
                        left,
                    ]
                )
    body = (
        "Malicious clients (partition ids 0 / 0,1,2): `label_flip` trains on Negative<->Positive flipped "
        "labels; `scale` sends global + 10 (local - global); `sign_flip` sends global - 10 (local - global). "
        "Defences: Flower's FedMedian, FedTrimmedAvg and Krum, and our reference check (a wrapper over "
        f"FedAvg: each update is scored on {args.reference_rows} generator rows held out of the server test "
        f"set; updates more than {args.tolerance:g} macro F1 below the median update are left out). "
        "4 rounds x 5 local epochs; score on the server test set.\n\n"
        + table(["malicious", "attack", "aggregation", "FL macro F1", "left out (round: ids)"], rows)
    )
    write_page(f"attack_s{args.scale:g}", "Federated: malicious clients and defences", body, args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "table",
        nargs="?",
        default="report",
        choices=["report", "tune", "curve", "hetero", "privacy", "attack"],
    )
    ap.add_argument("--scale", type=float, default=1.0, help="share of the full-size data (1.0 = 84K/36K)")
    ap.add_argument("--experiments", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "fl_bench", help="cache and run folder")
    ap.add_argument("--features", choices=["local", "projection"], default="local")
    ap.add_argument("--clients", type=int, nargs="+", default=None, help="client counts (report, privacy)")
    ap.add_argument("--only", nargs="*", help="tune: only these candidates (labels)")
    ap.add_argument("--cached-only", action="store_true", help="tune/attack: only runs already made")
    ap.add_argument("--beyond", type=int, default=0, help="curve: also FedAvg for this many rounds x 5")
    ap.add_argument("--only-fedavg", action="store_true", help="curve: FedAvg only (no challenger)")
    ap.add_argument("--no-owner", action="store_true", help="hetero: leave out the own-data owner split")
    ap.add_argument("--proximal-mu", type=float, default=0.01, help="hetero: FedProx mu")
    ap.add_argument("--noise", type=float, nargs="+", default=[0.01, 0.1, 1.0], help="privacy: multipliers")
    ap.add_argument("--clipping-norm", type=float, default=2.0, help="privacy: C")
    ap.add_argument("--delta", type=float, default=1e-5, help="privacy: delta")
    ap.add_argument("--reference-rows", type=int, default=500, help="attack: reference set size")
    ap.add_argument(
        "--attacks",
        nargs="+",
        default=["label_flip", "sign_flip"],
        choices=["label_flip", "scale", "sign_flip"],
        help="attack: kinds",
    )
    ap.add_argument("--tolerance", type=float, default=0.05, help="attack: reference-check tolerance")
    args = ap.parse_args()
    if args.clients is None:
        args.clients = {"report": [5, 10, 15], "hetero": [5, 10]}.get(args.table, [5, 15])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.work.resolve()
    print(f"{args.table}: scale {args.scale:g}, features {args.features}; work {work}", flush=True)
    {
        "report": cmd_report,
        "tune": cmd_tune,
        "curve": cmd_curve,
        "hetero": cmd_hetero,
        "privacy": cmd_privacy,
        "attack": cmd_attack,
    }[args.table](args, work)


if __name__ == "__main__":
    main()
