"""The hierarchical LightGBM baseline (multimodal report, "Hierarchical LightGBM").

Two binary LightGBM classifiers run in sequence:

* Stage 1, Positive (2) against the rest (0 and 1), trained on every row with balanced class weights.
  A sample whose positive probability exceeds ``pos_threshold`` is Positive.
* Stage 2, Negative (0) against Average (1), trained only on the non-positive rows. The remaining
  samples are Negative when stage 2's Negative probability exceeds 0.5, else Average.

Inputs: the embeddings of Audience, Brand, Creative and Geo as numeric columns, and Platform as one
categorical column, label-encoded from ``platform_code`` (codes seen in training -> 0..K-1; an unseen
code is missing). Before each stage is fitted, a majority class larger than ``downsample_ratio`` (1.4)
times the minority is randomly downsampled to that cap (seeded), so boosting is not dominated by it.

``predict_proba`` returns the hierarchy's probabilities ``[(1-p1) p2, (1-p1)(1-p2), p1]``;
``predict`` applies the thresholds above, so it can differ from ``predict_proba(X).argmax(1)``.

Model folder: ``stage1.txt``, ``stage2.txt`` (LightGBM text models) and ``model.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from campaignlab import MODALITIES
from campaignlab.errors import DataError
from campaignlab.io import atomic_write_bytes, write_json
from campaignlab.models.base import (
    Estimator,
    EstimatorParams,
    Progress,
    default_threads,
    read_model_json,
    versions,
)
from campaignlab.models.data import Inputs, check_inputs, check_labels

EMBEDDED = tuple(m for m in MODALITIES if m != "platform")
"""Modalities fed to LightGBM as embedding columns; Platform enters as one categorical column."""
STAGE_KEYS = ("num_leaves", "n_estimators", "learning_rate", "min_data_in_leaf")


class HierarchicalLGBMParams(EstimatorParams):
    """The estimator's parameters and their defaults (the constructor takes exactly these)."""

    pos_threshold: float = Field(0.5, gt=0, lt=1)
    stage1_num_leaves: int = Field(31, ge=2)
    stage1_n_estimators: int = Field(300, ge=1)
    stage1_learning_rate: float = Field(0.05, gt=0)
    stage1_min_data_in_leaf: int = Field(20, ge=1)
    stage2_num_leaves: int = Field(31, ge=2)
    stage2_n_estimators: int = Field(300, ge=1)
    stage2_learning_rate: float = Field(0.05, gt=0)
    stage2_min_data_in_leaf: int = Field(20, ge=1)
    feature_fraction: float = Field(1.0, gt=0, le=1)
    downsample_ratio: float | None = Field(1.4, ge=1)


def downsample_majority(y: np.ndarray, ratio: float | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of a binary-labelled set after capping the majority at ``ratio`` x the minority.

    Returns every index when the majority is within the ratio (or ``ratio`` is None); the kept
    indices are sorted, so the original row order is preserved.
    """
    idx = np.arange(len(y))
    if ratio is None:
        return idx
    counts = np.bincount(y, minlength=2)
    minority, majority = int(counts.argmin()), int(counts.argmax())
    if counts[minority] == 0 or counts[majority] <= ratio * counts[minority]:
        return idx
    cap = int(np.floor(ratio * counts[minority]))
    maj = np.flatnonzero(y == majority)
    keep = rng.choice(maj, size=cap, replace=False)
    return np.sort(np.concatenate([np.flatnonzero(y == minority), keep]))


class HierarchicalLGBMClassifier(Estimator):
    """Two-stage LightGBM (see the module docstring)."""

    name: ClassVar[str] = "hierarchical_lgbm"
    Params: ClassVar[type[EstimatorParams]] = HierarchicalLGBMParams
    tuning_metric: ClassVar[str] = "priority_weighted_f1"

    pos_threshold: float

    # -- features ---------------------------------------------------------------------------
    def _design(self, X: Inputs) -> np.ndarray:
        """(N, sum D_m + 1) float32: embedding columns, then the label-encoded platform."""
        lookup = {int(c): i for i, c in enumerate(self.platform_classes_)}
        plat = np.array([lookup.get(int(c), np.nan) for c in np.asarray(X["platform_code"])], np.float32)
        return np.hstack([np.asarray(X[m], np.float32) for m in EMBEDDED] + [plat[:, None]])

    def _feature_names(self) -> list[str]:
        return [f"{m}_{i}" for m in EMBEDDED for i in range(self.dims_[m])] + ["platform"]

    def _stage_params(self, p: dict[str, Any], stage: int) -> dict[str, Any]:
        return {
            "objective": "binary",
            "num_leaves": p[f"stage{stage}_num_leaves"],
            "learning_rate": p[f"stage{stage}_learning_rate"],
            "min_data_in_leaf": p[f"stage{stage}_min_data_in_leaf"],
            "feature_fraction": p["feature_fraction"],
            "seed": p["random_state"] + stage,
            "deterministic": True,  # same seed and threads -> same trees
            "force_row_wise": True,
            "num_threads": p["n_jobs"] or default_threads(),
            "verbosity": -1,
        }

    # -- learning ---------------------------------------------------------------------------
    def fit(
        self, X: Inputs, y: np.ndarray, *, progress: Progress | None = None
    ) -> HierarchicalLGBMClassifier:
        import lightgbm as lgb

        p = self._checked_params()
        n = check_inputs(X)
        y = check_labels(y, n)
        self.dims_ = {m: int(X[m].shape[1]) for m in MODALITIES}
        self.platform_classes_ = sorted({int(c) for c in np.asarray(X["platform_code"])})
        design = self._design(X)
        names = self._feature_names()
        rng = np.random.default_rng(p["random_state"])
        t0 = time.perf_counter()
        boosters, counts = [], {}
        for stage in (1, 2):
            if stage == 1:
                rows, target = np.arange(n), (y == 2).astype(np.int64)  # Positive vs rest
            else:
                rows = np.flatnonzero(y != 2)
                target = (y[rows] == 0).astype(np.int64)  # Negative (1) vs Average (0)
            keep = downsample_majority(target, p["downsample_ratio"], rng)
            rows, target = rows[keep], target[keep]
            weight = None
            if stage == 1:  # balanced class weights: n / (2 * count_c)
                cnt = np.bincount(target, minlength=2)
                weight = (len(target) / (2 * cnt))[target]
            counts[f"stage{stage}"] = {"rows": len(rows), "positive_target": int(target.sum())}
            data = lgb.Dataset(
                design[rows],
                label=target,
                weight=weight,
                feature_name=names,
                categorical_feature=["platform"],
                free_raw_data=True,
            )
            total = p[f"stage{stage}_n_estimators"]
            callbacks = []
            if progress is not None:
                label = f"training {self.name} stage {stage}"

                def cb(env: Any, label: str = label, total: int = total) -> None:
                    progress(label, env.iteration + 1, total)

                callbacks.append(cb)
            booster = lgb.train(
                self._stage_params(p, stage), data, num_boost_round=total, callbacks=callbacks
            )
            # predict from the text model itself, so a saved and reloaded model predicts identically
            boosters.append(lgb.Booster(model_str=booster.model_to_string()))
        self.stage1_, self.stage2_ = boosters
        self.train_counts_ = counts
        self.seconds_ = time.perf_counter() - t0
        self.fitted_ = True
        return self

    def _stage_probas(self, X: Inputs) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        check_inputs(X, self.dims_)
        design = self._design(X)
        threads = self.n_jobs or default_threads()
        p1 = self.stage1_.predict(design, num_threads=threads)  # P(positive)
        p2 = self.stage2_.predict(design, num_threads=threads)  # P(negative | not positive)
        return np.asarray(p1, float), np.asarray(p2, float)

    def predict_proba(self, X: Inputs) -> np.ndarray:
        p1, p2 = self._stage_probas(X)
        return np.column_stack([(1 - p1) * p2, (1 - p1) * (1 - p2), p1])

    def predict(self, X: Inputs) -> np.ndarray:
        p1, p2 = self._stage_probas(X)
        out = np.where(p2 > 0.5, 0, 1)
        out[p1 > self.pos_threshold] = 2
        return out.astype(np.int8)

    @classmethod
    def suggest_params(cls, trial: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"pos_threshold": trial.suggest_float("pos_threshold", 0.3, 0.7)}
        for s in (1, 2):
            k = f"stage{s}_"
            out[k + "num_leaves"] = trial.suggest_int(k + "num_leaves", 8, 128, log=True)
            out[k + "n_estimators"] = trial.suggest_int(k + "n_estimators", 100, 600, step=50)
            out[k + "learning_rate"] = trial.suggest_float(k + "learning_rate", 0.01, 0.2, log=True)
            out[k + "min_data_in_leaf"] = trial.suggest_int(k + "min_data_in_leaf", 5, 100, log=True)
        return out

    # -- persistence ------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        self._check_fitted()
        folder = Path(folder)
        p = self.get_params()
        for stage, booster in ((1, self.stage1_), (2, self.stage2_)):
            atomic_write_bytes(folder / f"stage{stage}.txt", booster.model_to_string().encode())
        start, layout = 0, []
        for m in EMBEDDED:
            layout.append({"name": m, "start": start, "width": self.dims_[m], "kind": "embedding"})
            start += self.dims_[m]
        layout.append({"name": "platform", "start": start, "width": 1, "kind": "categorical"})
        write_json(
            folder / "model.json",
            self._model_json(
                weights=["stage1.txt", "stage2.txt"],
                pos_threshold=self.pos_threshold,
                platform_encoding={"source": "platform_code", "classes": self.platform_classes_},
                feature_layout=layout,
                input_dims=self.dims_,
                stage_params={f"stage{s}": self._stage_params(self._checked_params(), s) for s in (1, 2)},
                n_estimators={f"stage{s}": p[f"stage{s}_n_estimators"] for s in (1, 2)},
                train_counts=self.train_counts_,
                versions=versions("lightgbm"),
            ),
        )

    @classmethod
    def load(cls, folder: str | Path) -> HierarchicalLGBMClassifier:
        import lightgbm as lgb

        folder = Path(folder)
        meta = read_model_json(folder, cls.name)
        est = cls(**meta["params"])
        boosters = []
        for stage in (1, 2):
            path = folder / f"stage{stage}.txt"
            if not path.is_file():
                raise DataError(f"LightGBM model {str(path)!r} does not exist")
            try:
                boosters.append(lgb.Booster(model_file=str(path)))
            except lgb.basic.LightGBMError as err:
                raise DataError(f"{str(path)!r} is not a LightGBM text model: {err}") from None
        est.stage1_, est.stage2_ = boosters
        est.platform_classes_ = [int(c) for c in meta["platform_encoding"]["classes"]]
        est.dims_ = {m: int(d) for m, d in meta["input_dims"].items()}
        est.train_counts_ = meta.get("train_counts", {})
        est.fitted_ = True
        return est
