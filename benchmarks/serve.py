"""Online prediction speed: `campaignlab serve` on 127.0.0.1 against the CLI's batch predict (baseline).

Scenarios (one client, sequential requests, so the latencies are the service's own):

* 1 and 64 instances per request;
* **warm**: the campaigns' texts were seen before (the service's in-memory cache answers);
* **cold**: every request carries texts never seen (the local encoder embeds them).

Every request asks for per-modality attributions (the default). Baseline in the same run: `campaignlab
predict --campaigns` on the same campaigns (a new process: model load, re-embedding from the shared
cache, scoring, writing files), reported as campaigns/s.

Usage:
    .venv/bin/python benchmarks/serve.py [--model DIR] [--requests 200] [--threads 1] [--work-dir DIR]

Without ``--model`` it trains a robust_modality model on a small generated dataset first (cached in the
work dir). Writes ``docs/results/serve.md`` (command, date, machine) unless ``--no-write``. Target: p50
under 100 ms for one instance.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]


def prepare(work: Path, seed: int, model: Path | None) -> tuple[Path, Path]:
    """A small v25 dataset and (unless ``model`` is given) a robust_modality model trained on it."""
    from campaignlab.features.embed import embed_dataset
    from campaignlab.models.commands import TrainConfig, train
    from campaignlab.synth import dataset
    from campaignlab.synth.config import resolve_generator_config

    data = work / "data"
    if not (data / "samples.parquet").is_file():
        cfg = resolve_generator_config({"preset": "v25", "scale": 0.02, "seed": seed})
        dataset.write(dataset.generate(cfg), data, plot=False)
    if model is not None:
        return data, model
    feats = work / "features"
    if not (feats / "features.parquet").is_file():
        embed_dataset(data, feats, "local", cache_dir=work / "cache")
    model = work / "model"
    if not (model / "recipe.json").is_file():
        train(
            TrainConfig(
                model="robust_modality",
                features=feats,
                out=model,
                params={"max_epochs": 20, "n_jobs": 1},
                seed=seed,
            )
        )
    return data, model


def campaigns(data: Path, n: int) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    t = pq.read_table(data / "samples.parquet").to_pylist()
    rows = [r for r in t if r["split"] == "test"] + [r for r in t if r["split"] == "train"]
    return [
        {"campaign_id": r["sample_id"], "audience": r["audience"], "brand": r["brand"],
         "creative": r["creative"], "platform": r["platform"], "geo": list(r["geo"])}
        for r in rows[:n]
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "p99": float(np.percentile(a, 99)),
    }


def run_scenario(url: str, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    import httpx

    lat = []
    with httpx.Client(timeout=300) as http:
        t0 = time.perf_counter()
        for b in batches:
            s = time.perf_counter()
            r = http.post(url, json={"instances": b})
            lat.append((time.perf_counter() - s) * 1000)
            if r.status_code != 200 or len(r.json()["predictions"]) != len(b):
                raise RuntimeError(f"request failed: {r.status_code} {r.text[:300]}")
        wall = time.perf_counter() - t0
    n = sum(len(b) for b in batches)
    return {
        "requests": len(batches),
        "req_s": len(batches) / wall,
        "campaigns_s": n / wall,
        **percentiles(lat),
    }


def cold(rows: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """The same campaigns with texts never seen: a unique suffix on brand and creative."""
    return [{**r, "brand": f"{r['brand']} ({tag}-{i})", "creative": f"{r['creative']} ({tag}-{i})"}
            for i, r in enumerate(rows)]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="a model folder (default: train a small robust_modality one)")
    ap.add_argument("--requests", type=int, default=200, help="requests per 1-instance scenario")
    ap.add_argument("--batch-requests", type=int, default=30, help="requests per 64-instance scenario")
    ap.add_argument("--threads", type=int, default=1, help="model threads in the service")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--work-dir", type=Path, default=REPO / "runs" / "bench_serve")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    import httpx

    data, model = prepare(args.work_dir, args.seed, args.model)
    cache = args.work_dir / "cache"
    rows = campaigns(data, 64 * args.batch_requests)

    # Baseline: the CLI's batch predict on the same campaigns (fresh process, shared cache).
    src = args.work_dir / "campaigns.csv"
    with src.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({**r, "geo": ";".join(r["geo"])} for r in rows)
    cache_state = "warm cache" if (cache / "").exists() and any(cache.rglob("*.npz")) else "cold cache"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "campaignlab", "predict", "--model", str(model),
                    "--campaigns", str(src),
                    "--out", str(args.work_dir / "cli_pred"), "--cache-dir", str(cache), "--quiet",
                    "--threads", str(args.threads)], check=True, cwd=REPO, capture_output=True)  # fmt: skip
    cli_s = time.perf_counter() - t0

    port = free_port()
    log = (args.work_dir / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "campaignlab", "serve", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--cache-dir", str(cache), "--threads", str(args.threads)],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        t_start = time.perf_counter()
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.perf_counter() - t_start > 600:
                raise RuntimeError(
                    f"serve did not start: {(args.work_dir / 'serve.log').read_text()[-2000:]}"
                )
            time.sleep(0.3)
        ready_s = time.perf_counter() - t_start
        predict = url + "/predict"
        run_scenario(predict, [rows[:1]] * 5)  # a few warm-up requests
        singles = [rows[i % len(rows) : i % len(rows) + 1] for i in range(args.requests)]
        batches = [rows[(64 * i) % len(rows) :][:64] for i in range(args.batch_requests)]
        run_scenario(predict, batches[:1] + singles[: len(rows)])  # every text now in the service's memory
        results = {
            ("1", "warm"): run_scenario(predict, singles),
            ("1", "cold"): run_scenario(predict, [cold(b, f"s{i}") for i, b in enumerate(singles)]),
            ("64", "warm"): run_scenario(predict, batches),
            ("64", "cold"): run_scenario(predict, [cold(b, f"b{i}") for i, b in enumerate(batches)]),
        }
    finally:
        proc.terminate()
        proc.wait(30)

    lines = ["| instances / request | texts | requests | requests/s | campaigns/s | p50 ms | p95 ms "
             "| p99 ms |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for (size, kind), r in results.items():
        lines.append(f"| {size} | {kind} | {r['requests']} | {r['req_s']:.1f} | {r['campaigns_s']:.1f} | "
                     f"{r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} |")  # fmt: skip
    lines.append(f"| baseline: `campaignlab predict --campaigns` (new process) | {cache_state} | 1 | - | "
                 f"{len(rows) / cli_s:.1f} | - | - | - |")  # fmt: skip
    table = "\n".join(lines)
    p50 = results[("1", "warm")]["p50"]
    verdict = f"target p50 < 100 ms for one instance: {'met' if p50 < 100 else 'NOT met'} ({p50:.1f} ms warm)"
    note = (f"Model {model.name} (robust_modality unless --model), {args.threads} model thread(s); every "
            f"request with attributions. Service ready {ready_s:.1f} s after start; the CLI baseline scored "
            f"{len(rows)} "
            f"campaigns in {cli_s:.1f} s including its start-up.")  # fmt: skip
    print(table)
    print(note)
    print(verdict)
    if args.no_write:
        return
    cmd = "python benchmarks/serve.py " + " ".join(argv if argv is not None else sys.argv[1:])
    load = os.getloadavg()
    page = (
        "# Online prediction speed\n\n"
        f"Command: `{cmd.strip()}`  \nDate: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}  \n"
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other work (load average "
        f"{load[0]:.1f} at the end), Python {platform.python_version()}\n\n{table}\n\n{note}  \n{verdict}\n"
    )
    out = REPO / "docs" / "results" / "serve.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
