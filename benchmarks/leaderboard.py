"""Leaderboard scoring speed: submissions scored per second and p95 latency on a 36,000-row test split.

Usage: python benchmarks/leaderboard.py [--test-rows 36000] [--submissions 40] [--concurrency 8]

A real ``campaignlab leaderboard serve`` (uvicorn, SQLite file in WAL mode) runs on 127.0.0.1; each
submission is a Parquet file naming every test sample_id once (the v28 test split size: 120,000 samples
x 0.3). Figures, side by side (latencies are wall clock and grow with other load on the machine; "CPU
ms/subm" is the scoring process's own CPU time per submission, which does not):

* baseline: scoring alone in this process (read the Parquet, check every id, sklearn F1), no HTTP, no DB;
* sequential: one client, one submission at a time, over HTTP, stored in the database;
* concurrent: ``--concurrency`` clients at once (throughput under load, and its p95 latency).

The dataset is synthetic filler in the samples.parquet schema: scoring never reads the texts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from campaignlab.leaderboard.scoring import check_and_score, read_predictions
from campaignlab.leaderboard.store import Store
from campaignlab.leaderboard.versions import register_version

REPO = Path(__file__).resolve().parents[1]


def filler_dataset(folder: Path, n_test: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """samples.parquet with ``n_test`` test rows (30 % of all); returns the test ids and labels."""
    n = round(n_test / 0.3)
    rng = np.random.default_rng(seed)
    split = np.array(["train"] * n, dtype=object)
    split[rng.permutation(n)[:n_test]] = "test"
    labels = rng.choice(3, size=n, p=[0.3, 0.4, 0.3]).astype(np.int8)
    nodes = pa.array([[1, 2]] * n, pa.list_(pa.int64()))
    table = pa.table(
        {
            "sample_id": pa.array([f"c{i:07d}" for i in range(n)]),
            "split": pa.array(split.tolist()),
            "label": pa.array(labels),
            **{m: pa.array([f"{m} text"] * n) for m in ("audience", "brand", "creative", "platform")},
            "geo": pa.array([["10001"]] * n, pa.list_(pa.string())),
            **{f"{m}_nodes": nodes for m in ("audience", "brand", "creative", "geo", "platform")},
            "pos_frac": pa.array(rng.random(n)),
            "neg_frac": pa.array(rng.random(n)),
        }
    )
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "samples.parquet")
    test = split == "test"
    return [f"c{i:07d}" for i in np.flatnonzero(test)], labels[test]


def predictions(ids: list[str], truth: np.ndarray, k: int) -> bytes:
    rng = np.random.default_rng(k)
    pred = truth.copy()
    flip = rng.random(len(pred)) < 0.05 + 0.01 * (k % 20)
    pred[flip] = (pred[flip] + 1) % 3
    buf = io.BytesIO()
    probs = {f"prob_{c}": pa.array(rng.random(len(ids)).astype(np.float32)) for c in range(3)}
    pq.write_table(pa.table({"sample_id": pa.array(ids), "label": pa.array(pred), **probs}), buf)
    return buf.getvalue()


def stats(lat: list[float], wall: float, cpu: float) -> str:
    a = np.asarray(lat) * 1000
    return (
        f"{len(lat) / wall:9.1f} {np.percentile(a, 50):9.1f} {np.percentile(a, 95):9.1f} {a.max():9.1f}"
        f" {cpu / len(lat) * 1000:12.1f}"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): a figure that other load on the machine
    does not inflate, unlike wall-clock latency."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--test-rows", type=int, default=36_000)
    ap.add_argument("--submissions", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        ids, truth = filler_dataset(tmp / "dataset", args.test_rows)
        db = tmp / "lb.db"
        store = Store(f"sqlite:///{db}")
        store.migrate()
        version = register_version(store, Path(f"{db}.data"), "bench", tmp / "dataset").version
        token = store.create_token("bench")
        bodies = [predictions(ids, truth, k) for k in range(args.submissions)]
        print(
            f"test split {len(ids)} rows; predictions file {len(bodies[0]) / 1024:.0f} KiB (Parquet + prob_*)"
        )

        key = store.answer_key(version)
        n_test = len(key.ids)
        check_and_score(
            read_predictions(bodies[0], n_test), key
        )  # warm-up: imports sklearn, as the server does
        lat = []
        t0, c0 = time.perf_counter(), time.process_time()
        for body in bodies:
            t = time.perf_counter()
            check_and_score(read_predictions(body, n_test), key)
            lat.append(time.perf_counter() - t)
        base = stats(lat, time.perf_counter() - t0, time.process_time() - c0)
        store.dispose()

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable,
            "-m",
            "campaignlab",
            "leaderboard",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--daily-quota",  # one researcher submits every body twice: lift the default of 5 a day
            "100000",
        ]
        server = subprocess.Popen([*cmd, "--log-level", "warning"], cwd=REPO, env=os.environ.copy())
        try:
            for _ in range(300):
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {token}"}
            path = "/api/versions/bench/submissions"
            with httpx.Client(base_url=url, headers=headers, timeout=120) as c:
                c.post(path, content=bodies[0]).raise_for_status()  # warm-up: answer key loaded once
                lat = []
                t0, c0 = time.perf_counter(), cpu_seconds(server.pid)
                for body in bodies:
                    t = time.perf_counter()
                    c.post(path, content=body).raise_for_status()
                    lat.append(time.perf_counter() - t)
                seq = stats(lat, time.perf_counter() - t0, cpu_seconds(server.pid) - c0)

            async def run_concurrent() -> tuple[list[float], float]:
                sem = asyncio.Semaphore(args.concurrency)
                out: list[float] = []
                limits = httpx.Limits(max_connections=args.concurrency)
                async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300, limits=limits) as ac:

                    async def one(body: bytes) -> None:
                        async with sem:
                            t = time.perf_counter()
                            (await ac.post(path, content=body)).raise_for_status()
                            out.append(time.perf_counter() - t)

                    t0 = time.perf_counter()
                    await asyncio.gather(*(one(b) for b in bodies))
                    return out, time.perf_counter() - t0

            c0 = cpu_seconds(server.pid)
            lat, wall = asyncio.run(run_concurrent())
            conc = stats(lat, wall, cpu_seconds(server.pid) - c0)
            with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
                stored = len(c.get("/api/versions/bench/ranking").json()["submissions"])
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"{'mode':34} {'subm/s':>9} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'CPU ms/subm':>12}")
    print(f"{'baseline: scoring only, in-process':34} {base}")
    print(f"{'server, sequential':34} {seq}")
    print(f"{f'server, {args.concurrency} concurrent clients':34} {conc}")
    expected = 1 + 2 * args.submissions
    print(f"stored submissions: {stored} (expected {expected}) {'OK' if stored == expected else 'MISMATCH'}")


if __name__ == "__main__":
    main()
