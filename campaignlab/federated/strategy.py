"""Server strategies: Flower's library strategies chosen by ``server.strategy``, and our wrappers.

:func:`build_strategy` maps the validated config to a ``flwr.serverapp.strategy`` instance (FedAvg for
``Mean``, FedAvgM, FedAdam, FedYogi, FedAdagrad, FedProx, FedMedian, FedTrimmedAvg, Krum), then wraps it:

* ``server.differential_privacy``: Flower's ``DifferentialPrivacyServerSideFixedClipping`` (clip each
  update, equal-weight average, Gaussian noise). :func:`dp_epsilon` gives the (epsilon, delta) the run
  spent, from Google's ``dp-accounting`` RDP accountant.
* ``server.reference_check``: :class:`ReferenceCheck`, ours, in the style of Flower's DP wrappers (it
  wraps a strategy, it does not fork its aggregation): each incoming update is applied to the model and
  scored on the server's reference rows; updates scoring well below the median are left out before the
  wrapped strategy aggregates the rest.

Strategies wrap; they never re-implement Flower's aggregation loops.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable, Iterable
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp import strategy as fs

from .config import FederatedConfig

log = logging.getLogger(__name__)

# Clients report this weight of 1 beside num-examples: central DP averages clipped updates with equal
# weights (the noise is calibrated to one client's clipped contribution).
UNIT_WEIGHT_KEY = "unit-weight"
PARTITION_KEY = "partition-id"
# Flower's name for each of ours ("Mean" is the report's name for FedAvg).
FLOWER_CLASS = {"Mean": "FedAvg"}


def build_strategy(cfg: FederatedConfig, scorer: Callable[[ArrayRecord], float] | None = None) -> fs.Strategy:
    """The configured strategy for ``cfg.client.num_clients`` nodes, wrapped as configured.

    Args:
        cfg: the validated config.
        scorer: for ``server.reference_check``: macro F1 of the model given by an ArrayRecord on the
            server's reference rows.
    """
    s = cfg.server
    n = cfg.client.num_clients
    n_fit = max(1, math.ceil(s.fraction_fit * n))
    n_eval = math.ceil(s.fraction_eval * n)
    dp = s.differential_privacy
    common: dict[str, Any] = {
        "fraction_train": s.fraction_fit,
        "fraction_evaluate": s.fraction_eval,
        "min_train_nodes": n_fit,
        "min_evaluate_nodes": n_eval,
        "min_available_nodes": n,  # wait for every data owner before round 1
        "weighted_by_key": UNIT_WEIGHT_KEY if dp is not None else "num-examples",
    }
    params = s.strategy_params.model_dump()  # ``kind`` is excluded: only Flower's own parameter names
    cls = getattr(fs, FLOWER_CLASS.get(s.strategy, s.strategy))
    strategy: fs.Strategy = cls(**common, **params)
    if s.reference_check is not None:
        if scorer is None:
            raise ValueError("server.reference_check needs a scorer over the reference rows")
        strategy = ReferenceCheck(
            strategy, scorer, tolerance=s.reference_check.tolerance, min_kept=s.reference_check.min_kept
        )
    if dp is not None:
        strategy = fs.DifferentialPrivacyServerSideFixedClipping(
            strategy,
            noise_multiplier=dp.noise_multiplier,
            clipping_norm=dp.clipping_norm,
            num_sampled_clients=n_fit,
        )
    return strategy


def dp_epsilon(noise_multiplier: float, rounds: int, delta: float) -> float:
    """Client-level epsilon at ``delta`` after ``rounds`` Gaussian releases (every client every round).

    Uses Google's ``dp-accounting`` RDP accountant (add-or-remove-one neighbours, no sampling
    amplification: the full-participation setting of ``fraction_fit: 1``).
    """
    from dp_accounting import dp_event
    from dp_accounting.rdp import RdpAccountant

    acc = RdpAccountant()
    acc.compose(dp_event.SelfComposedDpEvent(dp_event.GaussianDpEvent(noise_multiplier), rounds))
    return float(acc.get_epsilon(delta))


class ReferenceCheck(fs.Strategy):
    """Leave out updates that hurt the model on a server-side reference set, then let ``strategy`` aggregate.

    The report's proposal ("a shared synthetic dataset on the central server as a reference benchmark for
    assessing the integrity of incoming model updates"): each reply's arrays are scored by ``scorer``
    (macro F1 on the reference rows); a reply is left out when it scores more than ``tolerance`` below
    the median reply. At least ``min_kept`` replies (the best) are always kept. ``left_out`` records, per
    round, the partition ids (or node ids) left out and every reply's score.
    """

    def __init__(
        self,
        strategy: fs.Strategy,
        scorer: Callable[[ArrayRecord], float],
        *,
        tolerance: float = 0.05,
        min_kept: int = 1,
    ) -> None:
        super().__init__()
        self.strategy = strategy
        self.scorer = scorer
        self.tolerance = tolerance
        self.min_kept = min_kept
        self.left_out: dict[int, dict[str, Any]] = {}

    def __getattr__(self, name: str) -> Any:
        # Attributes of the wrapped strategy (e.g. weighted_by_key, read by the DP wrapper).
        if name == "strategy":
            raise AttributeError(name)
        return getattr(self.strategy, name)

    def summary(self) -> None:
        log.info("ReferenceCheck(tolerance=%s) over:", self.tolerance)
        self.strategy.summary()

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return self.strategy.configure_train(server_round, arrays, config, grid)

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        scored: list[tuple[float, Any, Message]] = []
        for msg in replies:
            if msg.has_error():
                continue
            metrics: dict[str, Any] = dict(next(iter(msg.content.metric_records.values()), {}))
            who = int(metrics.get(PARTITION_KEY, msg.metadata.src_node_id))
            arrays = next(iter(msg.content.array_records.values()))
            scored.append((float(self.scorer(arrays)), who, msg))
        if not scored:
            return self.strategy.aggregate_train(server_round, replies)
        median = statistics.median(s for s, _, _ in scored)
        ranked = sorted(scored, key=lambda t: -t[0])
        kept = [t for t in ranked if t[0] >= median - self.tolerance]
        if len(kept) < self.min_kept:
            kept = ranked[: self.min_kept]
        kept_ids = {id(t[2]) for t in kept}
        self.left_out[server_round] = {
            "left_out": sorted(who for _, who, m in scored if id(m) not in kept_ids),
            "scores": {str(who): round(s, 4) for s, who, _ in scored},
            "median": median,
        }
        return self.strategy.aggregate_train(server_round, [m for _, _, m in kept])

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.strategy.aggregate_evaluate(server_round, replies)
