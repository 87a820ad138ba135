"""Embed a dataset's modalities into feature vectors (``campaignlab embed``)."""

from kfp import dsl

from components.images import EMBED_IMAGE


@dsl.container_component
def embed(
    dataset: dsl.Input[dsl.Dataset],
    features: dsl.Output[dsl.Dataset],
    encoder: str = "local",
    task: str = "classification",
    dim: int = 384,
):
    """Write a features folder (features.parquet, manifest.json).

    Args:
        dataset: a dataset folder written by ``generate``.
        features: the features folder.
        encoder: ``local`` (all-MiniLM-L6-v2 in the image, offline) or ``vertex`` (Vertex AI text
            embeddings; the pipeline's service account needs ``aiplatform.endpoints.predict``).
        task: the embedding task type (e.g. classification).
        dim: text embedding dimension.
    """
    return dsl.ContainerSpec(
        image=EMBED_IMAGE,
        command=["campaignlab", "embed"],
        args=[
            dataset.path,
            "--encoder", encoder,
            "--task", task,
            "--dim", dim,
            "--out", features.path,
        ],
    )  # fmt: skip
