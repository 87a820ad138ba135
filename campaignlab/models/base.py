"""What every estimator shares: parameters, the model folder, and the fitted-state checks.

Estimators follow scikit-learn's contract: a keyword-only ``__init__`` that only stores parameters,
validation in ``fit`` (against a pydantic ``Params`` model, so a bad value names the field and what was
expected), ``fit`` returns ``self``, fitted attributes end in ``_``. A model folder holds
``model.json`` (type, params, resolved config, feature layout, versions) plus the weights file(s)
each estimator documents; nothing is pickled.
"""

from __future__ import annotations

import inspect
import math
import os
import platform as _platform
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

import campaignlab
from campaignlab import LABEL_NAMES, MODALITIES
from campaignlab.config import StrictModel, validate
from campaignlab.errors import CampaignlabError, ConfigError, DataError
from campaignlab.io import read_json
from campaignlab.models.data import Inputs

MODEL_JSON = "model.json"
Progress = Callable[[str, int, int], None]
"""progress(stage, done, total), as :func:`campaignlab.progress.progress_bar` yields."""


class NotFittedError(CampaignlabError):
    """predict/save was called on an estimator that has not been fitted or loaded."""


def default_threads() -> int:
    """Thread count when ``n_jobs`` is None: the CPUs this process may use.

    The CPUs it may run on, capped by its cgroup's CPU quota: a container started with ``--cpus 1``
    (the local runner) or a Kubernetes CPU limit (a Vertex step's ``cpu`` limit) sees every core of the
    host but gets one core's time, and OpenMP/torch threads beyond the quota only wait on each other
    (LightGBM ran several times slower with two threads on a one-core quota).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def cgroup_cpu_quota(root: str | os.PathLike[str] = "/sys/fs/cgroup") -> float | None:
    """CPUs' worth of time this process's cgroup may use (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us``
    / ``cpu.cfs_period_us`` in v1), or None when there is no quota or no cgroup file to read."""
    base = Path(root)
    try:
        quota, _, period = (base / "cpu.max").read_text().strip().partition(" ")
        return None if quota == "max" else int(quota) / int(period or 100_000)
    except (OSError, ValueError):
        pass
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        try:
            quota_us = int((base / sub / "cpu.cfs_quota_us").read_text())
            period_us = int((base / sub / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    return None


def torch_device(requested: str = "auto") -> Any:
    """The ``torch.device`` to compute on: ``auto`` takes the GPU when torch sees one, else the CPU.

    A torch step scheduled on a GPU machine (an accelerator requested in the pipeline, and the CUDA
    build of the image, see ``docs/pipelines.md``) so runs on the GPU without any flag; ``cpu`` keeps a
    run on the CPU. Asking for ``cuda`` where there is none is an error, not a silent CPU run.

    Raises:
        ConfigError: ``requested`` is unknown, or ``cuda`` while torch sees no CUDA device.
    """
    import torch

    if requested not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device: got {requested!r} -> expected 'auto', 'cpu' or 'cuda'")
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if requested == "cuda":
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ConfigError(
            f"device: got 'cuda' -> no CUDA device is visible to torch {torch.__version__} ({build}); "
            "run on a GPU machine with the CUDA image (TORCH_VARIANT=cuda) or use device 'auto' or 'cpu'"
        )
    return torch.device("cpu")


def versions(*extra: str) -> dict[str, str]:
    """Versions recorded in model.json (the packages that produced the weights)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"campaignlab": campaignlab.__version__, "python": _platform.python_version()}
    for pkg in ("numpy", *extra):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover
            out[pkg] = "missing"
    return out


class EstimatorParams(StrictModel):
    """Parameters every estimator has; each estimator's ``Params`` adds its own.

    An estimator's ``Params`` model is the one place that names its parameters and holds their
    defaults and bounds: the keyword-only constructor and the module config dataclass read them from it.
    """

    random_state: int = 42
    n_jobs: int | None = Field(None, ge=1)


class Estimator(ABC):
    """Base of the registered estimators (see :mod:`campaignlab.models.registry`).

    The constructor is generated from ``Params`` (scikit-learn's contract: keyword-only, it only stores
    the parameters, each defaulting to the ``Params`` field's default; ``fit`` validates them), and
    ``inspect.signature(EstimatorClass)`` shows those keyword-only parameters with their defaults.
    """

    name: ClassVar[str]
    """Registry name, also the ``type`` in model.json and ``--model`` of ``campaignlab train``."""
    Params: ClassVar[type[EstimatorParams]]
    """Pydantic model of the parameters: names, defaults, bounds (the only place that states them)."""
    tuning_metric: ClassVar[str] = "macro_f1"
    """What ``--tune`` maximises on the validation split (a function of campaignlab.evaluation.metrics)."""

    # the parameters every estimator has (see EstimatorParams); the others are typed by each subclass
    random_state: int
    n_jobs: int | None

    def __init__(self, **params: Any) -> None:
        self._reject_unknown(params)
        for name, field in self.Params.model_fields.items():
            value = params[name] if name in params else field.get_default(call_default_factory=True)
            setattr(self, name, value)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Params" in cls.__dict__:  # the documented signature: keyword-only, the Params defaults
            cls.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
                [
                    inspect.Parameter(
                        name,
                        inspect.Parameter.KEYWORD_ONLY,
                        default=field.get_default(call_default_factory=True),
                        annotation=field.annotation,
                    )
                    for name, field in cls.Params.model_fields.items()
                ]
            )

    # -- parameters -------------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        return list(cls.Params.model_fields)

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        """Every parameter with its default (the ``Params`` model's)."""
        return cls.Params().model_dump()

    def _reject_unknown(self, params: dict[str, Any]) -> None:
        unknown = sorted(set(params) - set(self.param_names()))
        if unknown:
            raise CampaignlabError(
                f"{self.name}: unknown parameter(s) {unknown}; expected some of {self.param_names()}"
            )

    def get_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.param_names()}

    def set_params(self, **params: Any) -> Estimator:
        self._reject_unknown(params)
        for k, v in params.items():
            setattr(self, k, v)
        return self

    @classmethod
    def validate_params(cls, params: dict[str, Any], source: str | None = None) -> dict[str, Any]:
        """Validate a parameter mapping (e.g. from a YAML file) without building an estimator."""
        return validate(cls.Params, params, source or f"{cls.name} params").model_dump()

    def _checked_params(self) -> dict[str, Any]:
        return self.validate_params(self.get_params())

    # -- learning ---------------------------------------------------------------------------
    @abstractmethod
    def fit(self, X: Inputs, y: np.ndarray, *, progress: Progress | None = None) -> Estimator:
        """Fit on inputs ``X`` (see :data:`campaignlab.models.data.Inputs`) and labels ``y`` (0/1/2)."""

    @abstractmethod
    def predict_proba(self, X: Inputs) -> np.ndarray:
        """(N, 3) class probabilities, columns negative, average, positive."""

    def predict(self, X: Inputs) -> np.ndarray:
        """(N,) int8 labels (0 Negative, 1 Average, 2 Positive)."""
        return self.predict_proba(X).argmax(1).astype(np.int8)

    @classmethod
    def suggest_params(cls, trial: Any) -> dict[str, Any]:
        """Parameters for one Optuna trial (tuning search space)."""
        raise NotImplementedError(f"{cls.name} is tuned by grid, not Optuna")

    @classmethod
    def grid(cls) -> list[dict[str, Any]] | None:
        """Grid of parameter sets when the estimator is tuned by grid search (None: Optuna)."""
        return None

    # -- persistence ------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{self.name} is not fitted: call fit() or load() first")

    @abstractmethod
    def save(self, folder: str | Path) -> None:
        """Write the weights and ``model.json`` into the existing folder ``folder``."""

    @classmethod
    @abstractmethod
    def load(cls, folder: str | Path) -> Estimator:
        """Rebuild a fitted estimator from a folder written by :meth:`save`."""

    def _model_json(self, **extra: Any) -> dict[str, Any]:
        return {
            "type": self.name,
            "params": self.get_params(),
            "classes": list(LABEL_NAMES),
            "modalities": list(MODALITIES),
            **extra,
        }


def read_model_json(folder: str | Path, expected_type: str | None = None) -> dict[str, Any]:
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"model folder {str(folder)!r} does not exist")
    meta = read_json(folder / MODEL_JSON)
    if not isinstance(meta, dict) or "type" not in meta:
        raise DataError(f"{str(folder / MODEL_JSON)!r} has no 'type' field")
    if expected_type is not None and meta["type"] != expected_type:
        raise DataError(f"{str(folder / MODEL_JSON)!r}: type {meta['type']!r} -> expected {expected_type!r}")
    return dict(meta)
