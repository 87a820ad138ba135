"""Train one model family on a features folder (``campaignlab train --model NAME``).

One component per model, each in the image of its dependency set, so a pipeline can run the three
trainers in parallel and each pulls only what it needs. The three differ only in the model name, the
image and the description, so one function builds them.
"""

from typing import Any, Optional

from kfp import dsl

from components.flags import optional
from components.images import GBM_IMAGE, TORCH_IMAGE


def _trainer(name: str, image: str, what: str, tuning: str) -> Any:
    """The ``train_<name>`` container component (``campaignlab train --model <name>``)."""

    def component(
        features: dsl.Input[dsl.Dataset],
        model: dsl.Output[dsl.Model],
        tune: Optional[int] = None,  # noqa: UP045  kfp reads typing.Optional, not `int | None`
    ):
        return dsl.ContainerSpec(
            image=image,
            command=["campaignlab", "train"],
            args=["--model", name, "--features", features.path, optional("tune", tune), "--out", model.path],
        )

    component.__name__ = component.__qualname__ = f"train_{name}"
    component.__doc__ = f"""{what}

    Args:
        features: a features folder written by ``embed``.
        model: the model folder (model.json and the fitted files).
        tune: {tuning} before the fit (unset or 0: the estimator's defaults, no tuning).
    """
    return dsl.container_component(component)


train_hierarchical_lgbm = _trainer(
    "hierarchical_lgbm",
    GBM_IMAGE,
    "Hierarchical LightGBM baseline (Positive vs rest, then Negative vs Average).",
    "Optuna trials",
)
train_shared_latent = _trainer(
    "shared_latent",
    TORCH_IMAGE,
    "Shared-latent fusion network (architecture 1 of the multimodal report).",
    "grid points tried",
)
train_robust_modality = _trainer(
    "robust_modality",
    TORCH_IMAGE,
    "Modality-robust fusion network (architecture 2 of the multimodal report).",
    "Optuna trials",
)


@dsl.container_component
def train_model(
    features: dsl.Input[dsl.Dataset],
    trained: dsl.Output[dsl.Model],
    model: str = "robust_modality",
    tune: Optional[int] = None,  # noqa: UP045  kfp reads typing.Optional, not `int | None`
):
    """Train the family named at run time (the retraining challenger); the torch image has LightGBM too.

    Args:
        features: a features folder written by ``embed``.
        trained: the model folder.
        model: hierarchical_lgbm, shared_latent or robust_modality (``campaignlab train --model``).
        tune: Optuna trials (unset or 0: the estimator's defaults, no tuning).
    """
    return dsl.ContainerSpec(
        image=TORCH_IMAGE,
        command=["campaignlab", "train"],
        args=["--model", model, "--features", features.path, optional("tune", tune), "--out", trained.path],
    )
