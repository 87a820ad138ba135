"""Generate a labelled synthetic campaign dataset (``campaignlab generate``)."""

from kfp import dsl

from components.images import CORE_IMAGE


@dsl.container_component
def generate(
    dataset: dsl.Output[dsl.Dataset],
    preset: str = "v25",
    seed: int = 42,
    scale: float = 0.01,
    noise: str = "clean",
    pairs: str = "none",
):
    """Write a dataset folder (samples.parquet, nodes.parquet, edges.parquet, manifest.json).

    Args:
        dataset: the dataset folder.
        preset: v25, v26 or v28.
        seed: random seed; the same seed gives the same bytes.
        scale: multiplies every class count of the preset (1.0 = the report's sizes).
        noise: clean, low, medium or high.
        pairs: none, common_first, rare_first or middle_ground.
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "generate"],
        args=[
            "--preset", preset,
            "--seed", seed,
            "--scale", scale,
            "--noise", noise,
            "--pairs", pairs,
            "--quiet",
            "--out", dataset.path,
        ],
    )  # fmt: skip
