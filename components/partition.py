"""Split a features folder into federated clients (``campaignlab partition``)."""

from kfp import dsl

from components.images import CORE_IMAGE


@dsl.container_component
def partition(
    features: dsl.Input[dsl.Dataset],
    partitions: dsl.Output[dsl.Dataset],
    clients: int = 5,
    split: str = "homogeneous",
    alpha: float = 0.1,
):
    """Write one training file per client plus the server's test set.

    Args:
        features: a features folder written by ``embed``.
        partitions: the partition folder.
        clients: number of clients.
        split: homogeneous (stratified, equal) or heterogeneous (Dirichlet label skew).
        alpha: Dirichlet concentration of the heterogeneous split (smaller = more skew).
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "partition"],
        args=[
            features.path,
            "--clients", clients,
            "--split", split,
            "--alpha", alpha,
            "--out", partitions.path,
        ],
    )  # fmt: skip
