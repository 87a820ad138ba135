"""Experiments pipeline: the same steps fanned out with ParallelFor over presets and client counts."""

from kfp import dsl

from campaignlab.federated.config import default_config
from components import (
    compare_federated,
    embed,
    evaluate,
    federate,
    generate,
    partition,
    train_hierarchical_lgbm,
)
from pipelines import resources

_R = resources.defaults("generate", "embed", "train", "evaluate", "federate")

# The federated defaults have one source, campaignlab/federated/default.yaml.
_D = default_config()


@dsl.pipeline(
    name="campaignlab-experiments", description="Sweep presets (centralized) and client counts (federated)."
)
def experiments(
    presets: list[str] = ["v25", "v26", "v28"],  # noqa: B006  KFP defaults are literals
    client_counts: list[int] = [5, 10, 15],  # noqa: B006
    seed: int = 42,
    scale: float = 0.01,
    noise: str = "clean",
    encoder: str = "local",
    dim: int = 384,
    federated_preset: str = "v28",
    data_split: str = _D.general.data_split,
    alpha: float = _D.general.alpha,
    strategy: str = _D.server.strategy,
    num_rounds: int = _D.server.num_rounds,
    local_epochs: int = _D.model.local_epochs,
    optuna_n_trials: int = _D.model.optuna_n_trials,
    num_cpus: float = _D.backend.client_resources.num_cpus,
    generate_cpu: str = _R["generate_cpu"],
    generate_memory: str = _R["generate_memory"],
    embed_cpu: str = _R["embed_cpu"],
    embed_memory: str = _R["embed_memory"],
    embed_accelerator_type: str = _R["embed_accelerator_type"],
    embed_accelerator_count: int = _R["embed_accelerator_count"],
    train_cpu: str = _R["train_cpu"],
    train_memory: str = _R["train_memory"],
    evaluate_cpu: str = _R["evaluate_cpu"],
    evaluate_memory: str = _R["evaluate_memory"],
    federate_cpu: str = _R["federate_cpu"],
    federate_memory: str = _R["federate_memory"],
    federate_accelerator_type: str = _R["federate_accelerator_type"],
    federate_accelerator_count: int = _R["federate_accelerator_count"],
):
    """Run one LightGBM baseline per preset and one federation (with its centralized baseline) per
    client count, in parallel.

    Args:
        presets: generator presets, one hierarchical LightGBM run each.
        client_counts: numbers of federated clients, one federation each (the report's 5/10/15).
        seed: random seed.
        scale: share of the preset's sample counts.
        noise: clean, low, medium or high.
        encoder: local or vertex text embeddings.
        dim: text embedding dimension.
        federated_preset: the preset the client-count sweep runs on.
        data_split: homogeneous or heterogeneous partition.
        alpha: Dirichlet alpha of the heterogeneous split.
        strategy: server strategy (Mean = FedAvg, FedAvgM, FedAdam, ...).
        num_rounds: federated rounds.
        local_epochs: client epochs per round.
        optuna_n_trials: Optuna trials before each federation (0 = none).
        num_cpus: CPUs per simulated client.
        generate_cpu, generate_memory: CPU and memory limits of generate (Vertex picks the machine).
        embed_cpu, embed_memory: limits of embed.
        embed_accelerator_type, embed_accelerator_count: GPUs for embed (e.g. NVIDIA_TESLA_T4 and 1; ''
            and 0: none). The local encoder then runs on the GPU (CUDA images: TORCH_VARIANT=cuda).
        train_cpu, train_memory: limits of each train step.
        evaluate_cpu, evaluate_memory: limits of each evaluate step.
        federate_cpu, federate_memory: limits of the Flower simulation (one Ray worker per client).
        federate_accelerator_type, federate_accelerator_count: GPUs for it (the clients train on them).
    """
    with dsl.ParallelFor(items=presets, parallelism=3, name="per-preset") as preset:
        data = generate(preset=preset, seed=seed, scale=scale, noise=noise)
        resources.limit(data, generate_cpu, generate_memory)
        feats = embed(dataset=data.outputs["dataset"], encoder=encoder, dim=dim)
        resources.limit(feats, embed_cpu, embed_memory, embed_accelerator_type, embed_accelerator_count)
        model = train_hierarchical_lgbm(features=feats.outputs["features"])
        resources.limit(model, train_cpu, train_memory)
        scored = evaluate(model=model.outputs["model"], features=feats.outputs["features"])
        resources.limit(scored, evaluate_cpu, evaluate_memory)

    fed_data = generate(preset=federated_preset, seed=seed, scale=scale, noise=noise).set_display_name(
        "generate federated data"
    )
    resources.limit(fed_data, generate_cpu, generate_memory)
    fed_feats = embed(dataset=fed_data.outputs["dataset"], encoder=encoder, dim=dim).set_display_name(
        "embed federated data"
    )
    resources.limit(fed_feats, embed_cpu, embed_memory, embed_accelerator_type, embed_accelerator_count)
    with dsl.ParallelFor(items=client_counts, parallelism=3, name="per-client-count") as n:
        parts = partition(
            features=fed_feats.outputs["features"], num_clients=n, data_split=data_split, alpha=alpha
        )
        fed = federate(
            partitions=parts.outputs["partitions"],
            strategy=strategy,
            num_clients=n,
            num_rounds=num_rounds,
            local_epochs=local_epochs,
            optuna_n_trials=optuna_n_trials,
            random_seed=seed,
            data_split=data_split,
            alpha=alpha,
            num_cpus=num_cpus,
        )
        resources.limit(
            fed, federate_cpu, federate_memory, federate_accelerator_type, federate_accelerator_count
        )
        compare_federated(run=fed.outputs["run"])
