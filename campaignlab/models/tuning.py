"""Hyper-parameter search as the multimodal report does it ("Experimentation").

* LightGBM and Arch2: Optuna (TPE, seeded) for ``n_trials`` trials.
* Arch1: grid search; ``n_trials`` grid points are evaluated, in a seeded order.

Every trial fits on a stratified part of the *training* rows and is scored on a held-out validation
part of those same rows (the test split is never seen). The search runs on a representative
(stratified) subset of at most ``subset_rows`` training rows, the report's efficiency strategy for
LightGBM, applied to every model; the caller then refits the best parameters on all training rows.
LightGBM maximises the report's ``priority_weighted_f1`` (positives 0.5, negatives 0.4, averages 0.1);
the networks maximise ``macro_f1`` (both from :mod:`campaignlab.evaluation.metrics`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from campaignlab.evaluation import metrics as metric_fns
from campaignlab.models import registry
from campaignlab.models.base import Progress
from campaignlab.models.data import Inputs, stratified_split, stratified_subset, take_inputs


@dataclass
class TuningResult:
    model: str
    method: str
    metric: str
    n_trials: int
    seed: int
    subset_rows: int
    train_rows: int
    validation_rows: int
    best_params: dict[str, Any]
    best_value: float
    trials: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def tune(
    name: str,
    X: Inputs,
    y: np.ndarray,
    *,
    n_trials: int,
    base_params: dict[str, Any] | None = None,
    seed: int = 42,
    subset_rows: int | None = 20_000,
    validation_fraction: float = 0.2,
    progress: Progress | None = None,
) -> TuningResult:
    """Search ``name``'s parameters; ``base_params`` are fixed and the searched ones override them."""
    import optuna

    cls = registry.get(name)
    base = dict(base_params or {})
    y = np.asarray(y).astype(np.int64)
    sub = stratified_subset(y, subset_rows, seed) if subset_rows else np.arange(len(y))
    tr, va = stratified_split(y[sub], validation_fraction, seed)
    X_tr, y_tr = take_inputs(X, sub[tr]), y[sub[tr]]
    X_va, y_va = take_inputs(X, sub[va]), y[sub[va]]
    score = getattr(metric_fns, cls.tuning_metric)
    trials: list[dict[str, Any]] = []

    def run(params: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        est = cls(**{**base, **params})
        est.fit(X_tr, y_tr)
        value = float(score(y_va, est.predict(X_va)))
        trials.append(
            {"number": len(trials), "params": params, "value": value, "seconds": time.perf_counter() - t0}
        )
        if progress is not None:
            progress(f"tuning {name}", len(trials), n_trials)
        return value

    grid = cls.grid()
    if grid is not None:
        method = "grid"
        order = np.random.default_rng(seed).permutation(len(grid))[:n_trials]
        for i in order:
            run(grid[int(i)])
    else:
        method = "optuna-tpe"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(lambda trial: run(cls.suggest_params(trial)), n_trials=n_trials)
    best = max(trials, key=lambda t: t["value"])
    return TuningResult(
        model=name,
        method=method,
        metric=cls.tuning_metric,
        n_trials=len(trials),
        seed=seed,
        subset_rows=len(sub),
        train_rows=len(tr),
        validation_rows=len(va),
        best_params=best["params"],
        best_value=best["value"],
        trials=trials,
    )
