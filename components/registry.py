"""The model registry in a pipeline: pull a version out, register a model, promote a version
(``campaignlab models pull|register|promote``)."""

from kfp import dsl

from components.images import CORE_IMAGE


@dsl.container_component
def pull_model(
    model: dsl.Output[dsl.Model],
    reference: dsl.Output[dsl.Artifact],
    version: dsl.OutputPath(str),  # type: ignore[valid-type]
    registry: str,
    ref: str = "champion",
):
    """Copy a registered version's model folder and its training-data reference out of the registry.

    Args:
        model: the version's model folder.
        reference: its training data's reference (the data gate compares new data with it).
        version: the version id.
        registry: a registry folder (in a local run: under the runs root) or vertex://PROJECT/REGION/MODEL.
        ref: the version to pull: an alias (champion), a version number or latest (``models pull REF``).
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "models", "pull"],
        args=[
            ref,
            "--registry", registry,
            "--model-out", model.path,
            "--reference-out", reference.path,
            "--version-out", version,
        ],
    )  # fmt: skip


@dsl.container_component
def register_version(
    model: dsl.Input[dsl.Model],
    evaluation: dsl.Input[dsl.Artifact],
    dataset: dsl.Input[dsl.Dataset],
    features: dsl.Input[dsl.Dataset],
    version: dsl.OutputPath(str),  # type: ignore[valid-type]
    registry: str,
    alias: str = "challenger",
    run: str = "",
    artifacts: str = "",
):
    """Register a trained model as a new version (evaluation, data manifest, lineage, data reference).

    Args:
        model: the model folder.
        evaluation: its evaluation folder.
        dataset: the dataset it was trained on.
        features: the features it was trained on.
        version: the new version id.
        registry: a registry folder or vertex://PROJECT/REGION/MODEL.
        alias: alias to point at the new version.
        run: the run that produced it (recorded as lineage; the pipeline passes its job name).
        artifacts: on Vertex, the gs:// prefix for the version's files.
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "models", "register"],
        args=[
            model.path,
            "--evaluation", evaluation.path,
            "--dataset", dataset.path,
            "--features", features.path,
            "--alias", alias,
            "--run", run,
            "--registry", registry,
            dsl.IfPresentPlaceholder(input_name="artifacts", then=["--artifacts", artifacts]),
            "--version-out", version,
        ],
    )  # fmt: skip


@dsl.container_component
def promote_version(registry: str, ref: str, alias: str = "champion", reason: str = ""):
    """Point the champion alias at a version (the old champion stays registered).

    Args:
        registry: a registry folder or vertex://PROJECT/REGION/MODEL.
        ref: the version to promote (a version number, an alias or latest).
        alias: the alias to move.
        reason: recorded in the registry's history.
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "models", "promote"],
        args=[ref, "--alias", alias, "--reason", reason, "--registry", registry],
    )
