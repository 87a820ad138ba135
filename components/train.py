"""Train one model family on a features folder (``campaignlab train --model NAME``).

One component per model, each in the image of its dependency set, so a pipeline can run the three
trainers in parallel and each pulls only what it needs.
"""

from kfp import dsl

from components.images import GBM_IMAGE, TORCH_IMAGE


@dsl.container_component
def train_hierarchical_lgbm(features: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model], tune: int = 0):
    """Hierarchical LightGBM baseline (one model per modality, then a meta model).

    Args:
        features: a features folder written by ``embed``.
        model: the model folder (model.json and the fitted files).
        tune: Optuna trials (0 = the defaults, no tuning).
    """
    return dsl.ContainerSpec(
        image=GBM_IMAGE,
        command=["campaignlab", "train"],
        args=[
            "--model",
            "hierarchical_lgbm",
            "--features",
            features.path,
            "--tune",
            tune,
            "--out",
            model.path,
        ],
    )


@dsl.container_component
def train_shared_latent(features: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model], tune: int = 0):
    """Shared-latent fusion network (architecture 1 of the multimodal report).

    Args:
        features: a features folder written by ``embed``.
        model: the model folder.
        tune: Optuna trials (0 = the defaults, no tuning).
    """
    return dsl.ContainerSpec(
        image=TORCH_IMAGE,
        command=["campaignlab", "train"],
        args=["--model", "shared_latent", "--features", features.path, "--tune", tune, "--out", model.path],
    )


@dsl.container_component
def train_robust_modality(features: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model], tune: int = 0):
    """Modality-robust fusion network (architecture 2 of the multimodal report).

    Args:
        features: a features folder written by ``embed``.
        model: the model folder.
        tune: Optuna trials (0 = the defaults, no tuning).
    """
    return dsl.ContainerSpec(
        image=TORCH_IMAGE,
        command=["campaignlab", "train"],
        args=["--model", "robust_modality", "--features", features.path, "--tune", tune, "--out", model.path],
    )


@dsl.container_component
def train_model(
    features: dsl.Input[dsl.Dataset],
    trained: dsl.Output[dsl.Model],
    model: str = "robust_modality",
    tune: int = 0,
):
    """Train the family named at run time (the retraining challenger); the torch image has LightGBM too.

    Args:
        features: a features folder written by ``embed``.
        trained: the model folder.
        model: hierarchical_lgbm, shared_latent or robust_modality (``campaignlab train --model``).
        tune: Optuna trials (0 = the defaults, no tuning).
    """
    return dsl.ContainerSpec(
        image=TORCH_IMAGE,
        command=["campaignlab", "train"],
        args=["--model", model, "--features", features.path, "--tune", tune, "--out", trained.path],
    )
