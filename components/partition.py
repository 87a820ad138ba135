"""Split a features folder into federated clients (``campaignlab partition``)."""

from kfp import dsl

from campaignlab.federated.config import default_config
from components.images import CORE_IMAGE

_D = default_config()


@dsl.container_component
def partition(
    features: dsl.Input[dsl.Dataset],
    partitions: dsl.Output[dsl.Dataset],
    num_clients: int = _D.client.num_clients,
    data_split: str = _D.general.data_split,
    alpha: float = _D.general.alpha,
):
    """Write one training file per client plus the server's test set.

    Args:
        features: a features folder written by ``embed``.
        partitions: the partition folder.
        num_clients: number of clients (``federate``'s client.num_clients).
        data_split: homogeneous (stratified, equal) or heterogeneous (Dirichlet label skew).
        alpha: Dirichlet concentration of the heterogeneous split (smaller = more skew).
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "partition"],
        args=[
            features.path,
            "--num-clients", num_clients,
            "--data-split", data_split,
            "--alpha", alpha,
            "--out", partitions.path,
        ],
    )  # fmt: skip
