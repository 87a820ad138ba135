"""Tuning: Optuna for LightGBM and Arch2, a grid for Arch1, validation rows taken from train only."""

from __future__ import annotations

import pytest

from campaignlab.models.data import Features
from campaignlab.models.shared_latent import SharedLatentClassifier
from campaignlab.models.tuning import tune
from tests.models.conftest import FAST_PARAMS, QUICK


@pytest.mark.parametrize(
    ("name", "method", "metric", "searched"),
    [
        ("hierarchical_lgbm", "optuna-tpe", "priority_weighted_f1", "stage2_min_data_in_leaf"),
        ("shared_latent", "grid", "macro_f1", "sim_weight"),
        ("robust_modality", "optuna-tpe", "macro_f1", "modality_dropout"),
    ],
)
def test_tune_records_every_trial(
    name: str, method: str, metric: str, searched: str, projected: Features
) -> None:
    train = projected.select("train")
    base = {**FAST_PARAMS[name], **QUICK[name]}
    # LightGBM's searched n_estimators (100-600) would dominate the runtime: fewer rows for it
    subset = 300 if name == "hierarchical_lgbm" else 600
    res = tune(name, train.inputs, train.label, n_trials=2, base_params=base, seed=3, subset_rows=subset)
    assert (res.method, res.metric, res.n_trials) == (method, metric, 2)
    assert res.subset_rows == subset and res.train_rows + res.validation_rows == subset
    assert res.validation_rows == pytest.approx(0.2 * subset, abs=3)
    assert [t["number"] for t in res.trials] == [0, 1]
    assert all(searched in t["params"] and 0 <= t["value"] <= 1 for t in res.trials)
    assert res.best_value == max(t["value"] for t in res.trials)
    assert res.best_params in [t["params"] for t in res.trials]
    again = tune(name, train.inputs, train.label, n_trials=2, base_params=base, seed=3, subset_rows=subset)
    assert [t["params"] for t in again.trials] == [t["params"] for t in res.trials]  # seeded search
    if name == "hierarchical_lgbm":
        assert {"pos_threshold", "stage1_num_leaves", "stage1_learning_rate", "stage2_n_estimators"} <= set(
            res.best_params
        )


def test_arch1_grid_spans_sizes_similarity_weight_and_batch_size() -> None:
    grid = SharedLatentClassifier.grid()
    assert len(grid) == 18
    assert {g["size"] for g in grid} == {"small", "medium", "high"}
    assert len({g["sim_weight"] for g in grid}) == 3 and len({g["batch_size"] for g in grid}) == 2
    assert len({tuple(sorted(g.items())) for g in grid}) == 18
