"""The torch training loop shared by Arch1 and Arch2 (and reusable by federated clients).

``train_module`` runs AdamW with optional class weights, early stopping on validation macro F1 (the best
epoch's weights are restored) and, when asked, ReduceLROnPlateau halving the learning rate after a
validation plateau. ``evaluate_module`` and ``predict_proba_module`` run it in eval mode.
:class:`TorchEstimator` wraps a module class into the estimator API and the ``model.pt`` + ``model.json``
folder (state_dict only, loaded with ``weights_only=True``).

Modules used here expose ``forward_features(x) -> (B, M, P)`` and ``forward_head(feats) -> (B, 3)``
(timm style), plus ``aux_loss(feats) -> scalar`` for terms added to cross-entropy.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn

from campaignlab import MODALITIES
from campaignlab.errors import DataError
from campaignlab.evaluation.metrics import macro_f1
from campaignlab.io import atomic_write_bytes, write_json
from campaignlab.models.base import (
    Estimator,
    EstimatorParams,
    Progress,
    default_threads,
    read_model_json,
    torch_device,
    versions,
)
from campaignlab.models.data import Inputs, check_inputs, check_labels, stratified_split, take_inputs

WEIGHTS_FILE = "model.pt"


@dataclass(kw_only=True)
class LoopConfig:
    """Optimisation settings of :func:`train_module` (estimators fill it from their parameters)."""

    lr: float
    weight_decay: float  # AdamW's decoupled decay
    batch_size: int
    max_epochs: int
    patience: int  # epochs without a better validation macro F1 before stopping
    class_weight: str | None  # "balanced" or None
    seed: int
    lr_plateau_patience: int | None = None  # None: constant learning rate (Arch1)
    lr_plateau_factor: float = 0.5  # the report halves the rate on a plateau (Arch2)


@dataclass
class History:
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_macro_f1: float = 0.0
    seconds: float = 0.0
    stopped_early: bool = False


def to_tensors(X: Inputs) -> dict[str, torch.Tensor]:
    """Modality arrays as float32 tensors (the platform code stays out: torch models use the embedding)."""
    out = {}
    for m in MODALITIES:
        a = np.ascontiguousarray(X[m], dtype=np.float32)
        out[m] = torch.from_numpy(a if a.flags.writeable else a.copy())  # Arrow buffers are read-only
    return out


def _batch(xs: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    return {m: t[idx] for m, t in xs.items()}


def _on(device: torch.device, xs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {m: t.to(device) for m, t in xs.items()}  # no copy when already there (the CPU case)


def class_weights(y: np.ndarray) -> np.ndarray:
    """'balanced' weights: n / (3 * count_c), as scikit-learn computes them."""
    counts = np.bincount(y, minlength=3).astype(float)
    return len(y) / (3 * np.maximum(counts, 1))


def predict_proba_module(
    module: MultimodalModule,
    xs: dict[str, torch.Tensor],
    batch_size: int = 4096,
    device: torch.device | None = None,
) -> np.ndarray:
    """(N, 3) softmax probabilities in eval mode (no dropout, no modality dropout).

    Computed on ``device`` (default: where the module is); the module is left where it was.
    """
    home = next(module.parameters()).device
    device = device or home
    module.to(device).eval()
    n = len(next(iter(xs.values())))
    out = []
    with torch.no_grad():
        for s in range(0, n, batch_size):
            idx = torch.arange(s, min(n, s + batch_size))
            logits = module.forward_head(module.forward_features(_on(device, _batch(xs, idx))))
            out.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
    module.to(home)
    return np.concatenate(out) if out else np.zeros((0, 3))


def evaluate_module(
    module: MultimodalModule,
    xs: dict[str, torch.Tensor],
    y: torch.Tensor,
    batch_size: int = 4096,
    device: torch.device | None = None,
) -> dict[str, float]:
    """Validation loss (cross-entropy only) and macro F1."""
    proba = predict_proba_module(module, xs, batch_size, device)
    y = y.cpu()
    p = torch.from_numpy(proba).clamp_min(1e-12)
    loss = float(torch.nn.functional.nll_loss(p.log(), y).item())
    return {"val_loss": loss, "val_macro_f1": macro_f1(y.numpy(), proba.argmax(1))}


def train_module(
    module: MultimodalModule,
    train: tuple[dict[str, torch.Tensor], torch.Tensor],
    val: tuple[dict[str, torch.Tensor], torch.Tensor],
    cfg: LoopConfig,
    progress: Progress | None = None,
    stage: str = "training",
    device: torch.device | None = None,
) -> History:
    """Train ``module`` in place; on return it holds the weights of the best validation epoch.

    The work runs on ``device`` (default: the CPU); the module is back on the CPU on return, so saving
    and copying it never depends on where it was trained.
    """
    device = device or torch.device("cpu")
    xs, y = train
    gen = torch.Generator().manual_seed(cfg.seed)  # on the CPU: the same shuffles on every device
    weight = None
    if cfg.class_weight == "balanced":
        weight = torch.tensor(class_weights(y.numpy()), dtype=torch.float32, device=device)
    # The whole (small, tabular) training set moves to the device once; batches are slices there.
    module.to(device)
    xs, y = _on(device, xs), y.to(device)
    ce = torch.nn.CrossEntropyLoss(weight=weight)
    opt = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = None
    if cfg.lr_plateau_patience is not None:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="max", factor=cfg.lr_plateau_factor, patience=cfg.lr_plateau_patience
        )
    hist = History()
    best_state = copy.deepcopy(module.state_dict())
    best, stale = -1.0, 0
    n = len(y)
    t0 = time.perf_counter()
    for epoch in range(1, cfg.max_epochs + 1):
        module.train()
        order = torch.randperm(n, generator=gen)
        total, seen = 0.0, 0
        for s in range(0, n, cfg.batch_size):
            idx = order[s : s + cfg.batch_size].to(device)
            if len(idx) < 2 and n >= 2:  # BatchNorm-free, but a 1-row batch makes a noisy step
                continue
            feats = module.forward_features(_batch(xs, idx))  # (B, M, P)
            loss = ce(module.forward_head(feats), y[idx]) + module.aux_loss(feats)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.item()) * len(idx)
            seen += len(idx)
        row = {"epoch": epoch, "train_loss": total / max(seen, 1), "lr": opt.param_groups[0]["lr"]}
        row.update(evaluate_module(module, *val, device=device))
        hist.epochs.append(row)
        if sched is not None:
            sched.step(row["val_macro_f1"])
        if row["val_macro_f1"] > best + 1e-9:
            best, stale = row["val_macro_f1"], 0
            hist.best_epoch = epoch
            best_state = copy.deepcopy(module.state_dict())
        else:
            stale += 1
        if progress is not None:
            progress(stage, epoch, cfg.max_epochs)
        if stale >= cfg.patience:
            hist.stopped_early = True
            if progress is not None:
                progress(stage, cfg.max_epochs, cfg.max_epochs)
            break
    module.load_state_dict(best_state)
    module.to("cpu").eval()
    hist.best_val_macro_f1 = best
    hist.seconds = time.perf_counter() - t0
    return hist


class TorchTrainParams(EstimatorParams):
    """Training parameters shared by the networks; each model's Params adds its architecture fields."""

    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    batch_size: int = Field(256, ge=2)
    max_epochs: int = Field(60, ge=1)
    patience: int = Field(8, ge=1)
    class_weight: Literal["balanced"] | None = None
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class TorchEstimator(Estimator):
    """Estimator API over a torch module; subclasses define the module and its config dataclass.

    Subclasses set ``module_cls``/``config_cls`` and implement :meth:`_module_config` (params and input
    widths -> config dataclass) and :meth:`_loop_config`.
    """

    module_cls: ClassVar[Any]
    config_cls: ClassVar[Any]

    # TorchTrainParams fields every torch estimator has (random_state, n_jobs: EstimatorParams)
    validation_fraction: float
    device: str

    def _module_config(self, p: dict[str, Any], dims: dict[str, int]) -> Any:
        raise NotImplementedError

    def _loop_config(self, p: dict[str, Any]) -> LoopConfig:
        keys = {f.name for f in LoopConfig.__dataclass_fields__.values()}
        cfg = {k: v for k, v in p.items() if k in keys}
        return LoopConfig(**cfg, seed=p["random_state"])

    def _set_threads(self) -> None:
        torch.set_num_threads(self.n_jobs or default_threads())

    def _build(self, config: Any) -> MultimodalModule:
        torch.manual_seed(self.random_state)
        return self.module_cls(config)

    def fit(
        self,
        X: Inputs,
        y: np.ndarray,
        *,
        eval_set: tuple[Inputs, np.ndarray] | None = None,
        progress: Progress | None = None,
    ) -> TorchEstimator:
        """Fit; early stopping watches ``eval_set`` or, without one, a stratified
        ``validation_fraction`` of the training rows (never test data)."""
        p = self._checked_params()
        n = check_inputs(X)
        y = check_labels(y, n)
        dims = {m: int(X[m].shape[1]) for m in MODALITIES}
        if eval_set is None:
            tr, va = stratified_split(y, p["validation_fraction"], p["random_state"])
            X_tr, y_tr, X_va, y_va = take_inputs(X, tr), y[tr], take_inputs(X, va), y[va]
        else:
            X_tr, y_tr = dict(X), y
            X_va, y_va = dict(eval_set[0]), eval_set[1]
            y_va = np.asarray(y_va).astype(np.int64)
            check_inputs(X_va, dims)
        self._set_threads()
        config = self._module_config(p, dims)
        module = self._build(config)
        xs_tr = to_tensors(X_tr)
        module.set_input_stats(  # standardise each input column with train statistics
            {m: t.mean(0) for m, t in xs_tr.items()}, {m: t.std(0) for m, t in xs_tr.items()}
        )
        hist = train_module(
            module,
            (xs_tr, torch.from_numpy(y_tr)),
            (to_tensors(X_va), torch.from_numpy(y_va)),
            self._loop_config(p),
            progress,
            stage=f"training {self.name}",
            device=torch_device(p["device"]),
        )
        self.module_ = module
        self.config_ = config
        self.dims_ = dims
        self.history_ = hist
        self.fitted_ = True
        return self

    def predict_proba(self, X: Inputs) -> np.ndarray:
        self._check_fitted()
        check_inputs(X, self.dims_)
        self._set_threads()
        return predict_proba_module(self.module_, to_tensors(X), device=torch_device(self.device))

    def save(self, folder: str | Path) -> None:
        import io

        self._check_fitted()
        folder = Path(folder)
        buf = io.BytesIO()
        torch.save(self.module_.state_dict(), buf)
        atomic_write_bytes(folder / WEIGHTS_FILE, buf.getvalue())
        write_json(
            folder / "model.json",
            self._model_json(
                weights=WEIGHTS_FILE,
                config=asdict(self.config_),
                input_dims=self.dims_,
                history=asdict(self.history_),
                versions=versions("torch"),
            ),
        )

    @classmethod
    def load(cls, folder: str | Path) -> TorchEstimator:
        folder = Path(folder)
        meta = read_model_json(folder, cls.name)
        est = cls(**meta["params"])
        config = cls.config_cls(**meta["config"])
        module = cls.module_cls(config)
        path = folder / meta.get("weights", WEIGHTS_FILE)
        if not path.is_file():
            raise DataError(f"model weights {str(path)!r} do not exist")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            module.load_state_dict(state)
        except (RuntimeError, KeyError, EOFError) as err:
            raise DataError(f"{str(path)!r} does not match the config in model.json: {err}") from None
        module.eval()
        est.module_ = module
        est.config_ = config
        est.dims_ = {m: int(d) for m, d in meta["input_dims"].items()}
        est.history_ = History(**meta.get("history", {}))
        est.fitted_ = True
        return est


class InputStats(nn.Module):
    """Per-column mean and std of each modality, as buffers so that the state_dict carries them."""

    def __init__(self, dims: dict[str, int]) -> None:
        super().__init__()
        self.names = list(dims)
        for m, d in dims.items():
            self.register_buffer(f"{m}_mean", torch.zeros(d))
            self.register_buffer(f"{m}_std", torch.ones(d))

    def set(self, mean: dict[str, torch.Tensor], std: dict[str, torch.Tensor]) -> None:
        for m in self.names:
            getattr(self, f"{m}_mean").copy_(mean[m])
            # constant columns must not blow up: floor the scale
            getattr(self, f"{m}_std").copy_(std[m].clamp_min(1e-3))

    def forward(self, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {m: (x[m] - getattr(self, f"{m}_mean")) / getattr(self, f"{m}_std") for m in self.names}


class MultimodalModule(nn.Module):
    """Base of the fusion networks: standardised inputs, timm-style features/head split."""

    def __init__(self, dims: dict[str, int]) -> None:
        super().__init__()
        self.modalities = list(dims)
        self.stats = InputStats(dims)

    def set_input_stats(self, mean: dict[str, torch.Tensor], std: dict[str, torch.Tensor]) -> None:
        self.stats.set(mean, std)

    def forward_features(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, M, P) per-modality representations."""
        raise NotImplementedError

    def forward_head(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, M, P) -> (B, 3) logits."""
        raise NotImplementedError

    def aux_loss(self, feats: torch.Tensor) -> torch.Tensor:
        """Term added to cross-entropy during training (0 unless the architecture has one)."""
        return feats.new_zeros(())

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
