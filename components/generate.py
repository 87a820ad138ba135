"""Generate a labelled synthetic campaign dataset (``campaignlab generate``)."""

from typing import Optional

from kfp import dsl

from components.flags import optional
from components.images import CORE_IMAGE


@dsl.container_component
def generate(
    dataset: dsl.Output[dsl.Dataset],
    preset: str,
    seed: Optional[int] = None,  # noqa: UP045  kfp reads typing.Optional, not `int | None`
    scale: Optional[float] = None,  # noqa: UP045
    noise: Optional[str] = None,  # noqa: UP045
    pairs: Optional[str] = None,  # noqa: UP045
):
    """Write a dataset folder (samples.parquet, nodes.parquet, edges.parquet, manifest.json).

    Inputs left unset take the defaults of ``campaignlab generate`` (its ``GeneratorConfig``).

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
            optional("seed", seed),
            optional("scale", scale),
            optional("noise", noise),
            optional("pairs", pairs),
            "--quiet",
            "--out", dataset.path,
        ],
    )  # fmt: skip
