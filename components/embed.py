"""Embed a dataset's modalities into feature vectors (``campaignlab embed``)."""

from typing import Optional

from kfp import dsl

from components.flags import optional
from components.images import EMBED_IMAGE


@dsl.container_component
def embed(
    dataset: dsl.Input[dsl.Dataset],
    features: dsl.Output[dsl.Dataset],
    encoder: Optional[str] = None,  # noqa: UP045  kfp reads typing.Optional, not `str | None`
    task_type: Optional[str] = None,  # noqa: UP045
    dim: Optional[int] = None,  # noqa: UP045
):
    """Write a features folder (features.parquet, manifest.json).

    Inputs left unset take the defaults of ``campaignlab embed`` (its ``EmbedConfig``).

    Args:
        dataset: a dataset folder written by ``generate``.
        features: the features folder.
        encoder: ``local`` (all-MiniLM-L6-v2 in the image, offline) or ``vertex`` (Vertex AI text
            embeddings; the pipeline's service account needs ``aiplatform.endpoints.predict``).
        task_type: the Vertex embedding task type (e.g. CLASSIFICATION); ignored by ``local``.
        dim: text embedding dimension (vertex 1..768; local 384).
    """
    return dsl.ContainerSpec(
        image=EMBED_IMAGE,
        command=["campaignlab", "embed"],
        args=[
            dataset.path,
            optional("encoder", encoder),
            optional("task_type", task_type),
            optional("dim", dim),
            "--out", features.path,
        ],
    )  # fmt: skip
