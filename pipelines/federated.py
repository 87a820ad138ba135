"""Federated pipeline: generate, embed, partition, federated and centralized training, compare."""

from kfp import dsl

from campaignlab.federated.config import default_config
from components import compare_federated, embed, federate, partition
from pipelines import resources
from pipelines.data import dataset_step
from pipelines.params import run_defaults

_R = resources.defaults("generate", "embed", "federate")

# The federated training defaults have one source, campaignlab/federated/default.yaml; the data and
# embedding defaults are in pipelines/configs/federated.yaml.
_D = default_config()
_DEFAULTS = run_defaults("federated")


@dsl.pipeline(name="campaignlab-federated", description="Federated (Flower) vs centralized training.")
def federated(
    preset: str = _DEFAULTS["preset"],
    seed: int = _DEFAULTS["seed"],
    scale: float = _DEFAULTS["scale"],
    noise: str = _DEFAULTS["noise"],
    pairs: str = _DEFAULTS["pairs"],
    encoder: str = _DEFAULTS["encoder"],
    task_type: str = _DEFAULTS["task_type"],
    dim: int = _DEFAULTS["dim"],
    num_clients: int = _DEFAULTS["num_clients"],
    data_split: str = _D.general.data_split,
    alpha: float = _D.general.alpha,
    strategy: str = _D.server.strategy,
    num_rounds: int = _D.server.num_rounds,
    local_epochs: int = _D.model.local_epochs,
    optuna_n_trials: int = _DEFAULTS["optuna_n_trials"],
    num_cpus: float = _DEFAULTS["num_cpus"],
    generate_cpu: str = _R["generate_cpu"],
    generate_memory: str = _R["generate_memory"],
    embed_cpu: str = _R["embed_cpu"],
    embed_memory: str = _R["embed_memory"],
    embed_accelerator_type: str = _R["embed_accelerator_type"],
    embed_accelerator_count: int = _R["embed_accelerator_count"],
    federate_cpu: str = _R["federate_cpu"],
    federate_memory: str = _R["federate_memory"],
    federate_accelerator_type: str = _R["federate_accelerator_type"],
    federate_accelerator_count: int = _R["federate_accelerator_count"],
    data_uri: str = _DEFAULTS["data_uri"],
    dataset_uri: str = _DEFAULTS["dataset_uri"],
    mapping: dict = _DEFAULTS["mapping"],
    split: str = _DEFAULTS["split"],
    test_fraction: float = _DEFAULTS["test_fraction"],
    max_rejected: float = _DEFAULTS["max_rejected"],
):
    """Partition the data over ``num_clients``, train the joint model federated and centrally at the same
    epoch budget and from the same initial weights, score both on the server test set, compare.

    Args:
        preset: generator preset (v25, v26, v28).
        seed: random seed (generator, partition, training).
        scale: share of the preset's sample counts.
        noise: clean, low, medium or high.
        pairs: none, common_first, rare_first or middle_ground.
        encoder: local or vertex text embeddings.
        task_type: text embedding task type.
        dim: text embedding dimension.
        num_clients: number of federated clients.
        data_split: homogeneous or heterogeneous (Dirichlet) partition.
        alpha: Dirichlet alpha of the heterogeneous split.
        strategy: server strategy (Mean = FedAvg, FedAvgM, FedAdam, ...).
        num_rounds: federated rounds.
        local_epochs: client epochs per round (the centralized model trains rounds x epochs).
        optuna_n_trials: Optuna trials before training (0 = none).
        num_cpus: CPUs per simulated client.
        generate_cpu, generate_memory: CPU and memory limits of generate (Vertex picks the machine).
        embed_cpu, embed_memory: limits of embed.
        embed_accelerator_type, embed_accelerator_count: GPUs for embed (e.g. NVIDIA_TESLA_T4 and 1; ''
            and 0: none). The local encoder then runs on the GPU (CUDA images: TORCH_VARIANT=cuda).
        federate_cpu, federate_memory: limits of the Flower simulation (one Ray worker per client).
        federate_accelerator_type, federate_accelerator_count: GPUs for it (the clients train on them).
        data_uri: your raw campaigns (CSV/Parquet/JSON Lines file or folder; gs:// on Vertex), ingested
            with ``mapping``; empty: generated data (preset ... pairs).
        dataset_uri: an already ingested (or generated) dataset folder, used as it is.
        mapping: the raw campaigns' columns and value conventions (the mapping file's keys).
        split: random or time: which campaigns form the server's test split, for ``data_uri``.
        test_fraction: share of the campaigns in the server's test split, for ``data_uri``.
        max_rejected: largest share of rejected rows before ingestion fails, for ``data_uri``.
    """
    dataset = dataset_step(
        data_uri=data_uri, dataset_uri=dataset_uri, mapping=mapping, split=split,
        test_fraction=test_fraction, max_rejected=max_rejected,
        generate_cpu=generate_cpu, generate_memory=generate_memory,
        preset=preset, seed=seed, scale=scale, noise=noise, pairs=pairs,
    )  # fmt: skip
    embedded = embed(dataset=dataset, encoder=encoder, task_type=task_type, dim=dim).set_display_name("embed")
    resources.limit(embedded, embed_cpu, embed_memory, embed_accelerator_type, embed_accelerator_count)
    features = embedded.outputs["features"]
    parts = partition(
        features=features, num_clients=num_clients, data_split=data_split, alpha=alpha
    ).set_display_name("partition")
    run = federate(
        partitions=parts.outputs["partitions"],
        strategy=strategy,
        num_rounds=num_rounds,
        num_clients=num_clients,
        local_epochs=local_epochs,
        optuna_n_trials=optuna_n_trials,
        random_seed=seed,
        data_split=data_split,
        alpha=alpha,
        num_cpus=num_cpus,
    ).set_display_name("federated and centralized training")
    resources.limit(run, federate_cpu, federate_memory, federate_accelerator_type, federate_accelerator_count)
    compare_federated(run=run.outputs["run"]).set_display_name("compare")
