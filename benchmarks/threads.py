"""OpenMP wait policy and thread count for LightGBM on a shared CPU: why campaignlab sets
``OMP_WAIT_POLICY=PASSIVE`` and caps threads at the cgroup's CPU quota.

Trains the same LightGBM booster (random 4,200 x 1,485 float32 rows, the width of a features file, one
binary stage, ``--rounds`` trees) with 1 and 2 threads, alone and beside one busy process (what a
second trainer of the training pipeline is on a 2-core machine), with OpenMP's default (spinning) waits
and with passive waits. Each case runs in a fresh interpreter, since OpenMP reads the policy when it
loads. Writes ``docs/results/threads.md``.

    python benchmarks/threads.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_page import table, write_page

CASE = r"""
import json, sys, time
import numpy as np, lightgbm as lgb
threads, rounds = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.normal(size=(4200, 1485)).astype(np.float32)
y = (rng.random(4200) < 0.3).astype(int)
data = lgb.Dataset(X, label=y, params={"verbosity": -1})
data.construct()
params = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "min_data_in_leaf": 20,
          "seed": 1, "num_threads": threads, "verbosity": -1, "force_row_wise": True}
t0 = time.perf_counter()
lgb.train(params, data, num_boost_round=rounds)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def run_case(threads: int, rounds: int, policy: str | None) -> float:
    """Seconds to train ``rounds`` trees with ``threads`` threads under the wait ``policy``."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(threads), str(rounds)], env=env, capture_output=True, text=True,
        check=True, timeout=1800,
    )  # fmt: skip
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="trees per case")
    args = parser.parse_args()
    rows = []
    for busy in (False, True):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            for policy in (None, "PASSIVE"):
                for threads in (1, 2):
                    s = run_case(threads, args.rounds, policy)
                    print(f"busy={busy} policy={policy or 'default'} threads={threads}: {s:.1f} s")
                    load = "+1 busy process" if busy else "no extra process"
                    rows.append([load, policy or "default (spin)", threads, f"{s:.1f}"])
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
    body = (
        f"LightGBM, {args.rounds} trees on 4,200 x 1,485 random float32 rows (one binary stage of "
        "`hierarchical_lgbm`), 1 or 2 threads, with or without one extra busy process (on top of the "
        "machine load in the header), OpenMP's default "
        "waits or `OMP_WAIT_POLICY=PASSIVE`. campaignlab sets PASSIVE (`campaignlab/__init__.py`, a "
        "user's value is kept) and caps threads at the cgroup CPU quota (`default_threads`).\n\n"
        + table(["CPU", "OMP_WAIT_POLICY", "threads", "train s"], rows)
    )
    write_page("threads", "Thread count and OpenMP wait policy (LightGBM)", body)


if __name__ == "__main__":
    main()
