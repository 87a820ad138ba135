"""``campaignlab train|evaluate|predict``: one config model and one plain function per command.

The CLI (and the KFP components) are thin layers over :func:`train`, :func:`evaluate` and
:func:`predict`; a notebook can call them directly.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from campaignlab.config import StrictModel
from campaignlab.errors import DataError
from campaignlab.features.recipe import check_recipe, write_recipe
from campaignlab.io import atomic_dir, check_writable_parent, read_json, write_json, write_parquet
from campaignlab.models import registry
from campaignlab.models.base import Estimator, Progress
from campaignlab.models.data import Features, load_features
from campaignlab.serving.recommend import write_training_candidates

ModelName = Literal["hierarchical_lgbm", "shared_latent", "robust_modality"]


class TrainConfig(StrictModel):
    """Config of ``campaignlab train``.

    Attributes:
        model: registered estimator name.
        features: features folder (``campaignlab embed`` output); only its ``train`` rows are used.
        out: model folder to write (replaced atomically).
        params: estimator parameters (validated against the estimator's parameter model).
        tune: number of Optuna trials (grid points for ``shared_latent``); 0 trains ``params`` as given.
        tune_subset: most training rows a tuning trial sees (stratified subset; None: all).
        tune_validation_fraction: share of the (subset of the) training rows scoring each trial.
        seed: ``random_state`` of the estimator and the tuner (``params.random_state`` wins if set).
        threads: CPU threads for torch / LightGBM (None: the CPUs this process may use).
    """

    model: ModelName
    features: Path
    out: Path
    params: dict[str, Any] = Field(default_factory=dict)
    tune: int = Field(0, ge=0)
    tune_subset: int | None = Field(20_000, ge=30)
    tune_validation_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 42
    threads: int | None = Field(None, ge=1)

    @field_validator("params")
    @classmethod
    def _known_params(cls, v: dict[str, Any], info: Any) -> dict[str, Any]:
        name = info.data.get("model")
        if name is not None:
            registry.get(name).validate_params(v, f"params of {name}")
        return v


class EvaluateConfig(StrictModel):
    """Config of ``campaignlab evaluate`` (``split``: rows to score, 'test' by default)."""

    model: Path
    features: Path
    out: Path
    split: Literal["train", "test", "all"] = "test"
    threads: int | None = Field(None, ge=1)


class PredictConfig(StrictModel):
    """Config of ``campaignlab predict`` (``split``: rows to predict, every row by default)."""

    model: Path
    features: Path
    out: Path
    split: Literal["train", "test", "all"] = "all"
    threads: int | None = Field(None, ge=1)


def _load(model_dir: Path, threads: int | None) -> Estimator:
    est = registry.load_model(model_dir)
    if threads is not None:
        est.set_params(n_jobs=threads)
    return est


def train(cfg: TrainConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Fit (optionally tune first) on the train split and write the model folder; return a summary."""
    from campaignlab.models.tuning import tune

    check_writable_parent(cfg.out)
    feats = load_features(cfg.features).select("train")
    cls = registry.get(cfg.model)
    params: dict[str, Any] = {"random_state": cfg.seed, "n_jobs": cfg.threads, **cfg.params}
    cls.validate_params(params)
    tuning = None
    if cfg.tune:
        tuning = tune(
            cfg.model,
            feats.inputs,
            feats.label,
            n_trials=cfg.tune,
            base_params=params,
            seed=cfg.seed,
            subset_rows=cfg.tune_subset,
            validation_fraction=cfg.tune_validation_fraction,
            progress=progress,
        )
        params = {**params, **tuning.best_params}
    t0 = time.perf_counter()
    est = cls(**params).fit(feats.inputs, feats.label, progress=progress)
    seconds = time.perf_counter() - t0
    summary = {
        "model": cfg.model,
        "train_rows": len(feats),
        "train_seconds": seconds,
        "params": est.get_params(),
        "tuned": tuning is not None,
    }
    if hasattr(est, "history_"):
        summary["best_epoch"] = est.history_.best_epoch
        summary["val_macro_f1"] = est.history_.best_val_macro_f1
    with atomic_dir(cfg.out) as tmp:
        est.save(tmp)
        meta = read_json(tmp / "model.json")
        meta["train_config"] = cfg.model_dump(mode="json")
        meta["training"] = summary
        meta["features_manifest"] = _manifest_summary(cfg.features)
        write_json(tmp / "model.json", meta)
        write_recipe(tmp, cfg.features)  # how to embed new campaigns for this model (recipe.json)
        # The values seen in training: what `campaignlab recommend` enumerates by default.
        write_training_candidates(tmp, cfg.features, cfg.seed)
        if tuning is not None:
            write_json(tmp / "tuning.json", tuning.to_json())
    return summary


def _manifest_summary(folder: Path) -> dict[str, Any]:
    """Where the training features came from (kept small: the encoder and the dataset, not every count)."""
    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    m = read_json(path)
    keep = ("encoder", "model", "task_type", "dimensions", "versions")
    return {k: m[k] for k in keep if isinstance(m, dict) and k in m}


def _rows(features: Path, split: str) -> Features:
    return load_features(features).select(split)


def evaluate(cfg: EvaluateConfig) -> dict[str, Any]:
    """Score a model folder on one split; write the evaluation folder; return ``metrics.json``'s content."""
    from campaignlab.evaluation.report import write_evaluation
    from campaignlab.models.base import versions

    check_writable_parent(cfg.out)
    check_recipe(cfg.model, cfg.features)  # features embedded with another recipe are refused
    est = _load(cfg.model, cfg.threads)
    rows = _rows(cfg.features, cfg.split)
    proba = est.predict_proba(rows.inputs)
    pred = est.predict(rows.inputs)
    meta = {
        "config": cfg.model_dump(mode="json"),
        "model_type": est.name,
        "versions": versions(),
    }
    with atomic_dir(cfg.out) as tmp:
        metrics = write_evaluation(
            tmp,
            rows.label,
            pred,
            proba,
            rows.sample_id,
            title=f"{est.name} on {cfg.split}",
            meta=meta,
        )
    return metrics


def predict(cfg: PredictConfig) -> int:
    """Write the predictions Parquet (``sample_id``, ``label``, ``prob_*``); return the row count."""
    from campaignlab.evaluation.report import predictions_table

    if cfg.out.exists() and cfg.out.is_dir():
        raise DataError(f"--out {str(cfg.out)!r} is a folder; expected a .parquet file path")
    check_recipe(cfg.model, cfg.features)  # features embedded with another recipe are refused
    est = _load(cfg.model, cfg.threads)
    rows = _rows(cfg.features, cfg.split)
    table = predictions_table(rows.sample_id, est.predict(rows.inputs), est.predict_proba(rows.inputs))
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(table, cfg.out)
    return table.num_rows
