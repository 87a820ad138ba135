"""Embedding speed: our local path against a plain sentence-transformers ``encode`` loop, same texts.

Usage:
    python benchmarks/embed.py [--dataset DIR] [--preset v25] [--scale 1.0] [--limit N] [--work DIR]

Texts are the Audience, Brand, Creative and Platform texts of every sample of the dataset (generated
first when ``--dataset`` is not given; the full v25 preset has 60,000 samples, i.e. 240,000 texts).
Three phases, each in its own process so its peak memory (max RSS) is its own:

* ``baseline``: ``SentenceTransformer(<bundled all-MiniLM-L6-v2>).encode(texts, batch_size=32)``
  over every text, as a plain script would (``--baseline-sample N``: over a uniform random sample of N
  of those texts, which gives the same texts/s in a fraction of the time);
* ``cold``: ``campaignlab embed`` (``embed_dataset``, local encoder, auto backend) into an empty cache:
  deduplication, length-sorted batches, ONNX Runtime, plus geo pooling and writing the Parquet file;
* ``cached``: the same command again with the cache now full.

Targets: cold texts/s >= 2x baseline; cached run time < 5% of the cold run. ``--limit N`` keeps the
first N samples (for a quick look on a busy machine; the issue's figures use the full v25 texts).
Writes ``docs/results/embedding.md`` (``--no-page``: print only).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_page import table, write_page  # a sibling script (benchmarks/ is not a package)

from campaignlab import TEXT_MODALITIES as TEXT_COLUMNS


def load_texts(dataset: Path) -> list[str]:
    import pyarrow.parquet as pq

    t = pq.read_table(dataset / "samples.parquet", columns=list(TEXT_COLUMNS))
    out: list[str] = []
    for c in TEXT_COLUMNS:
        out += [str(x) for x in t.column(c).to_pylist()]
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def phase_baseline(dataset: Path, sample: int | None) -> dict:
    from sentence_transformers import SentenceTransformer

    from campaignlab.features.local import model_dir

    texts = load_texts(dataset)
    if sample and sample < len(texts):
        # A uniform random sample of the same texts: same mix of lengths and modalities, so the same
        # texts/s, at a fraction of the time (a full baseline over 240,000 texts takes hours on 2 cores).
        import random

        texts = random.Random(0).sample(texts, sample)
    model = SentenceTransformer(str(model_dir()), device="cpu")
    t0 = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    dt = time.perf_counter() - t0
    return {"texts": len(texts), "seconds": dt, "texts_per_s": len(texts) / dt, "peak_mb": peak_mb()}


def phase_embed(dataset: Path, out: Path, cache: Path) -> dict:
    from campaignlab.features.embed import embed_dataset

    texts = load_texts(dataset)
    t0 = time.perf_counter()
    m = embed_dataset(dataset, out, "local", cache_dir=cache)
    dt = time.perf_counter() - t0
    return {
        "texts": len(texts),
        "unique_texts": m["unique_texts"],
        "texts_embedded": m["texts_embedded"],
        "cache_hits": m["cache_hits"],
        "backend": m["encoder_settings"]["backend"],
        "seconds": dt,
        "text_seconds": m["seconds"]["texts"],
        "texts_per_s": len(texts) / dt,
        "peak_mb": peak_mb(),
    }


def run_phase(name: str, args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", name, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, help="dataset folder (default: generate --preset at --scale)")
    ap.add_argument("--preset", default="v25")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--limit", type=int, help="keep only the first N samples")
    ap.add_argument("--work", type=Path, help="work folder (default: a temporary one)")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument(
        "--baseline-sample", type=int, help="time the baseline on a random sample of N of the same texts"
    )
    ap.add_argument("--no-page", action="store_true", help="do not write docs/results/embedding.md")
    ap.add_argument("--phase", choices=["baseline", "embed"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.phase == "baseline":
        print(json.dumps(phase_baseline(args.dataset, args.sample)))
        return
    if args.phase == "embed":
        print(json.dumps(phase_embed(args.dataset, args.out, args.cache)))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-embed-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = args.dataset
    if dataset is None:
        from campaignlab.synth import dataset as ds
        from campaignlab.synth.config import resolve_generator_config

        dataset = work / f"{args.preset}_scale{args.scale}_seed{args.seed}"
        if not (dataset / "samples.parquet").is_file():
            t0 = time.perf_counter()
            cfg = resolve_generator_config({"preset": args.preset, "scale": args.scale, "seed": args.seed})
            ds.write(ds.generate(cfg), dataset)
            print(f"generated {dataset} in {time.perf_counter() - t0:.0f}s", flush=True)
    if args.limit:
        import shutil

        import pyarrow.parquet as pq

        limited = work / f"{dataset.name}_first{args.limit}"
        if not limited.exists():
            shutil.copytree(dataset, limited)
            pq.write_table(
                pq.read_table(dataset / "samples.parquet").slice(0, args.limit), limited / "samples.parquet"
            )
        dataset = limited

    cache = work / "cache"
    if cache.exists():
        import shutil

        shutil.rmtree(cache)
    common = ["--dataset", str(dataset), "--cache", str(cache)]
    # Warm the one-time ONNX export outside the timed runs (it is cached per machine, like the weights).
    from campaignlab.features.local import LocalEncoder

    LocalEncoder().encode(["warm-up"])

    rows = {}
    if not args.skip_baseline:
        extra = ["--sample", str(args.baseline_sample)] if args.baseline_sample else []
        rows["baseline: SentenceTransformer.encode"] = run_phase("baseline", [*common, *extra])
        print(f"baseline done in {rows['baseline: SentenceTransformer.encode']['seconds']:.0f}s", flush=True)
    rows["campaignlab embed (cold cache)"] = run_phase("embed", [*common, "--out", str(work / "f_cold")])
    rows["campaignlab embed (cached re-run)"] = run_phase("embed", [*common, "--out", str(work / "f_warm")])

    cold, warm = rows["campaignlab embed (cold cache)"], rows["campaignlab embed (cached re-run)"]
    print(
        f"\ndataset {dataset} ({cold['texts']} texts, {cold['unique_texts']} distinct); cpus {os.cpu_count()}"
    )
    print(f"{'path':36} {'seconds':>9} {'texts/s':>9} {'embedded':>9} {'peak MB':>8}")
    for name, r in rows.items():
        embedded = r.get("texts_embedded", r["texts"])
        print(f"{name:36} {r['seconds']:9.1f} {r['texts_per_s']:9.0f} {embedded:9d} {r['peak_mb']:8.0f}")
    verdicts = []
    if "baseline: SentenceTransformer.encode" in rows:
        base = rows["baseline: SentenceTransformer.encode"]
        speedup = cold["texts_per_s"] / base["texts_per_s"]
        pure = (cold["unique_texts"] / cold["text_seconds"]) / base["texts_per_s"]
        verdicts.append(
            f"speed-up over baseline: {speedup:.2f}x (target >= 2x); per distinct text: {pure:.2f}x"
        )
    share = 100 * warm["seconds"] / cold["seconds"]
    verdicts.append(f"cached re-run: {warm['seconds']:.2f}s = {share:.1f}% of the cold run (target < 5%)")
    print("\n".join(verdicts))
    if args.no_page:
        return
    body = (
        f"Embedding the Audience, Brand, Creative and Platform texts of `{dataset.name}` "
        f"({cold['texts']:,} texts, {cold['unique_texts']:,} distinct) with the local encoder "
        f"(backend {cold['backend']}), against a plain `SentenceTransformer.encode` over the same texts "
        "(baseline, same run), then the cached re-run. Each phase runs in its own process (its own peak "
        "memory).\n\n"
        + table(
            ["run", "texts", "seconds", "texts/s", "embedded", "peak MB"],
            [
                [
                    name,
                    f"{r['texts']:,}",
                    f"{r['seconds']:.1f}",
                    f"{r['texts_per_s']:,.0f}",
                    f"{r.get('texts_embedded', r['texts']):,}",
                    f"{r['peak_mb']:.0f}",
                ]
                for name, r in rows.items()
            ],
        )
        + "\n"
        + "\n".join(f"- {v}" for v in verdicts)
        + "\n"
    )
    write_page("embedding", "Embedding speed", body)


if __name__ == "__main__":
    main()
