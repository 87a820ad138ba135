"""Train one model family on a features folder (``campaignlab train --model NAME``).

One component per model, each in the image of its dependency set, so a pipeline can run the three
trainers in parallel and each pulls only what it needs.
"""

from typing import Any, Optional

from kfp import dsl

from components.flags import optional
from components.images import GBM_IMAGE, TORCH_IMAGE


def _train(image: str, name: str, features: Any, model: Any, tune: Any) -> dsl.ContainerSpec:
    return dsl.ContainerSpec(
        image=image,
        command=["campaignlab", "train"],
        args=["--model", name, "--features", features.path, optional("tune", tune), "--out", model.path],
    )


@dsl.container_component
def train_hierarchical_lgbm(
    features: dsl.Input[dsl.Dataset],
    model: dsl.Output[dsl.Model],
    tune: Optional[int] = None,  # noqa: UP045  kfp reads typing.Optional, not `int | None`
):
    """Hierarchical LightGBM baseline (one model per modality, then a meta model).

    Args:
        features: a features folder written by ``embed``.
        model: the model folder (model.json and the fitted files).
        tune: Optuna trials before the fit (unset or 0: the defaults, no tuning).
    """
    return _train(GBM_IMAGE, "hierarchical_lgbm", features, model, tune)


@dsl.container_component
def train_shared_latent(
    features: dsl.Input[dsl.Dataset],
    model: dsl.Output[dsl.Model],
    tune: Optional[int] = None,  # noqa: UP045
):
    """Shared-latent fusion network (architecture 1 of the multimodal report).

    Args:
        features: a features folder written by ``embed``.
        model: the model folder.
        tune: grid points tried before the fit (unset or 0: the defaults, no tuning).
    """
    return _train(TORCH_IMAGE, "shared_latent", features, model, tune)


@dsl.container_component
def train_robust_modality(
    features: dsl.Input[dsl.Dataset],
    model: dsl.Output[dsl.Model],
    tune: Optional[int] = None,  # noqa: UP045
):
    """Modality-robust fusion network (architecture 2 of the multimodal report).

    Args:
        features: a features folder written by ``embed``.
        model: the model folder.
        tune: Optuna trials before the fit (unset or 0: the defaults, no tuning).
    """
    return _train(TORCH_IMAGE, "robust_modality", features, model, tune)
