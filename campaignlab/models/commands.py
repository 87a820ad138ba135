"""``campaignlab train|evaluate|predict``: one config model and one plain function per command.

The CLI (and the KFP components) are thin layers over :func:`train`, :func:`evaluate` and
:func:`predict`; a notebook can call them directly.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from campaignlab.config import StrictModel
from campaignlab.errors import ConfigError, DataError
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


Split = Literal["train", "test", "all"]


class _ScoringConfig(StrictModel):
    """What ``evaluate`` and ``predict`` share: a model folder scored on rows of a features folder."""

    model: Path
    features: Path
    out: Path
    threads: int | None = Field(None, ge=1)


class EvaluateConfig(_ScoringConfig):
    """Config of ``campaignlab evaluate``.

    Attributes:
        split: rows to score ('test' by default).
        leaderboard_url: also submit the test predictions to this leaderboard (blind, server-side scores).
        leaderboard_version: the leaderboard's dataset version (required with ``leaderboard_url``).
        leaderboard_model: the model name shown in the ranking (default: the model folder's name).
        leaderboard_token: the API token (never written anywhere).
        metrics_artifact: also publish the scalar metrics here (a KFP ``system.Metrics`` file).
        confusion_matrix_artifact: also publish the confusion matrix here (``system.ClassificationMetrics``).
        report_artifact: also publish the metrics and the plot as one HTML page here.
        predictions_artifact: also copy ``predictions.parquet`` here.
        executor_input: the KFP task's executor input (``{{$}}``): with it, ``executor_output.json`` gets
            the artifact metadata the Vertex AI console shows.
    """

    split: Split = "test"
    leaderboard_url: str | None = None
    leaderboard_version: str | None = None
    leaderboard_model: str | None = None
    leaderboard_token: SecretStr | None = Field(None, exclude=True, repr=False)
    metrics_artifact: Path | None = None
    confusion_matrix_artifact: Path | None = None
    report_artifact: Path | None = None
    predictions_artifact: Path | None = None
    executor_input: str | None = Field(None, exclude=True, repr=False)

    @field_validator("leaderboard_url", "leaderboard_version", "leaderboard_model", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v == "" else v  # a pipeline passes "" for "not set"

    def check_submission(self) -> None:
        """Raise before any work when a leaderboard submission lacks what it needs."""
        if self.leaderboard_url is None:
            return
        if not self.leaderboard_version:
            raise ConfigError(
                "leaderboard_version (--leaderboard-version): got None -> required with --leaderboard-url"
            )
        if self.leaderboard_token is None or not self.leaderboard_token.get_secret_value():
            raise ConfigError(
                "leaderboard_token (--leaderboard-token): got None -> required with --leaderboard-url "
                "(or set CAMPAIGNLAB_LEADERBOARD_TOKEN)"
            )
        if self.split != "test":
            raise ConfigError(f"split: got {self.split!r} -> 'test' when submitting to a leaderboard")


class PredictConfig(_ScoringConfig):
    """Config of ``campaignlab predict`` (``split``: rows to predict, every row by default)."""

    split: Split = "all"


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
        # The platform names in the model's code order: later features are re-coded by name against it.
        meta["platform_vocabulary"] = platform_vocabulary_of(cfg.features)
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


def platform_vocabulary_of(features: Path) -> list[str] | None:
    """Platform names in code order from a features folder's manifest (None for old folders)."""
    path = features / "manifest.json"
    codes = read_json(path).get("platform_codes") if path.is_file() else None
    if not isinstance(codes, dict) or not codes:
        return None
    return [name for name, _ in sorted(codes.items(), key=lambda kv: int(kv[1]))]


def _rows(
    model: Path, features: Path, split: str, *, labelled: bool = True
) -> tuple[Features, dict[str, int]]:
    """Rows of ``split`` with ``platform_code`` re-coded to the model's training vocabulary.

    A platform the model never saw gets the reserved unknown code and an :class:`UnseenPlatformWarning`
    naming it (also returned as ``{platform: rows}``), not an error.
    """
    import dataclasses
    import warnings

    from campaignlab.models.data import UnseenPlatformWarning, align_platform_codes

    rows = load_features(features, labelled=labelled).select(split)
    model_vocab = read_json(model / "model.json").get("platform_vocabulary")
    fpath = features / "manifest.json"
    features_vocab = read_json(fpath).get("platform_codes") if fpath.is_file() else None
    codes, unseen = align_platform_codes(rows.platform_code, features_vocab, model_vocab)
    if unseen:
        listed = ", ".join(f"{p!r} ({n} rows)" for p, n in sorted(unseen.items()))
        warnings.warn(
            f"platform(s) never seen in training: {listed}; scored with the reserved 'unknown' platform code",
            UnseenPlatformWarning,
            stacklevel=3,
        )
    return dataclasses.replace(rows, platform_code=codes), unseen


def evaluate(cfg: EvaluateConfig) -> dict[str, Any]:
    """Score a model folder on one split; write the evaluation folder; return ``metrics.json``'s content.

    With artifact paths in ``cfg`` it also publishes the folder as typed KFP artifacts (see
    :mod:`campaignlab.evaluation.kfp_outputs`); a leaderboard submission is :func:`submit`'s work.
    """
    from campaignlab.evaluation.kfp_outputs import publish
    from campaignlab.evaluation.report import write_evaluation
    from campaignlab.models.base import versions

    cfg.check_submission()
    check_writable_parent(cfg.out)
    check_recipe(cfg.model, cfg.features)  # features embedded with another recipe are refused
    est = _load(cfg.model, cfg.threads)
    rows, unseen = _rows(cfg.model, cfg.features, cfg.split)
    proba = est.predict_proba(rows.inputs)
    pred = est.predict(rows.inputs)
    meta = {
        "config": cfg.model_dump(mode="json"),
        "model_type": est.name,
        "unseen_platforms": unseen,
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
    artifacts = {
        "metrics": cfg.metrics_artifact,
        "classification_metrics": cfg.confusion_matrix_artifact,
        "report": cfg.report_artifact,
        "predictions": cfg.predictions_artifact,
    }
    if cfg.executor_input or any(p is not None for p in artifacts.values()):
        publish(cfg.out, **artifacts, executor_input=cfg.executor_input)
    return metrics


def submit(cfg: EvaluateConfig) -> dict[str, Any] | None:
    """Submit the evaluation folder's predictions to ``cfg.leaderboard_url`` (None when not set).

    Returns:
        The stored submission with its server-side ``scores`` (see
        :func:`campaignlab.leaderboard.client.submit_predictions`).
    """
    if cfg.leaderboard_url is None:
        return None
    from campaignlab.leaderboard.client import submit_predictions

    cfg.check_submission()
    token = cfg.leaderboard_token.get_secret_value() if cfg.leaderboard_token else ""
    return submit_predictions(
        cfg.leaderboard_url,
        token,
        cfg.leaderboard_version or "",
        cfg.out / "predictions.parquet",
        model=cfg.leaderboard_model or cfg.model.name,
    )


def predict(cfg: PredictConfig) -> int:
    """Write the predictions Parquet (``sample_id``, ``label``, ``prob_*``); return the row count."""
    from campaignlab.evaluation.report import predictions_table

    if cfg.out.exists() and cfg.out.is_dir():
        raise DataError(f"--out {str(cfg.out)!r} is a folder; expected a .parquet file path")
    check_recipe(cfg.model, cfg.features)  # features embedded with another recipe are refused
    est = _load(cfg.model, cfg.threads)
    rows, _ = _rows(cfg.model, cfg.features, cfg.split, labelled=False)
    table = predictions_table(rows.sample_id, est.predict(rows.inputs), est.predict_proba(rows.inputs))
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(table, cfg.out)
    return table.num_rows
