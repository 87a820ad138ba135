"""Where the federated gap comes from: the centralized model's test macro F1 after every epoch, beside the
global model's macro F1 after every round of a finished ``campaignlab federate`` run.

Usage::

    python benchmarks/fl_gap.py --run runs/fl_bench/runs/features_local/v28_clean_none_s1_5clients_r4e5_t0

The partition folder is the one the run recorded in its ``metrics.json`` (``--data`` overrides it).

It retrains the run's centralized baseline (same config, same initial weights, same data, same epochs)
evaluating on the server test set after each epoch, and prints, for each federated round, the number of
centralized epochs that reach the same score. One CPU thread; about as long as the baseline itself.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="a `campaignlab federate` output folder")
    ap.add_argument("--data", type=Path, help="its partition folder (default: the one in metrics.json)")
    args = ap.parse_args()

    import torch

    from campaignlab.errors import DataError
    from campaignlab.federated.config import FederatedConfig
    from campaignlab.federated.model import concat_features, test, train
    from campaignlab.federated.simulation import centralized_params, load_partition_data
    from campaignlab.federated.task import initial_model
    from campaignlab.io import read_json

    try:
        metrics = read_json(args.run / "metrics.json")
    except DataError as err:
        raise SystemExit(f"--run: {err}") from None
    cfg = FederatedConfig.model_validate(metrics["config"])
    torch.set_num_threads(1)
    data = args.data or Path(metrics["partition"]["folder"])
    clients, test_data, manifest = load_partition_data(data.resolve())
    model = initial_model(cfg, test_data, int(manifest.get("n_platforms", 12)))
    curve: list[float] = []
    t0 = time.perf_counter()

    def after_epoch(_stage: str, done: int, total: int) -> None:
        curve.append(test(model, test_data)["macro_f1"])
        model.train()  # test() left it in eval mode
        print(f"  epoch {done}/{total}: {curve[-1]:.4f} ({time.perf_counter() - t0:.0f}s)", flush=True)

    train(model, concat_features(clients), centralized_params(cfg), progress=after_epoch)
    rounds = [r["macro_f1"] for r in metrics["federated"]["rounds"]]
    print("\n| FL round | FL macro F1 | centralized epochs to reach it |\n|---|---|---|")
    for i, score in enumerate(rounds):
        reach = next((e + 1 for e, c in enumerate(curve) if c >= score), None)
        print(f"| {i} | {score:.4f} | {reach if reach is not None else f'> {len(curve)}'} |")
    print(
        f"\ncentralized after {len(curve)} epochs: {curve[-1]:.4f} (the run's baseline: "
        f"{metrics['centralized']['macro_f1']:.4f}); FL after {len(rounds) - 1} rounds: {rounds[-1]:.4f}"
    )


if __name__ == "__main__":
    main()
