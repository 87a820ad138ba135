"""Federated training with Flower's simulation engine (``campaignlab federate``).

The command trains the joint model federated (``strategy`` over the partition's clients) and, as its
baseline, the same model centrally on the union of the client rows for the same epoch budget (the
federated report's protocol); both are scored on the partition's server test set. Its run folder
(metrics.json with ``federated.final`` and ``centralized``, fl_curve.png, results_table.md, the two
models) is the ``run`` artifact; ``compare_federated`` ranks the two.

A plain container spec: each input is one ``campaignlab federate`` flag named after its config field
(``num_rounds`` -> ``--num-rounds`` -> ``server.num_rounds``), over the defaults of
``campaignlab/federated/default.yaml``, which are also this component's defaults (one source). The data
version is read by the command from the partition's manifest.
"""

from kfp import dsl

from campaignlab.federated.config import default_config
from components.images import FL_IMAGE

_D = default_config()


@dsl.container_component
def federate(
    partitions: dsl.Input[dsl.Dataset],
    run: dsl.Output[dsl.Model],
    results: dsl.Output[dsl.Markdown],
    strategy: str = _D.server.strategy,
    num_rounds: int = _D.server.num_rounds,
    num_clients: int = _D.client.num_clients,
    local_epochs: int = _D.model.local_epochs,
    optuna_n_trials: int = _D.model.optuna_n_trials,
    random_seed: int = _D.general.random_seed,
    data_split: str = _D.general.data_split,
    alpha: float = _D.general.alpha,
    num_cpus: float = _D.backend.client_resources.num_cpus,
):
    """Federated (Flower) and centralized training of the joint model at the same epoch budget.

    Args:
        partitions: a partition folder written by ``partition``.
        run: the run folder (metrics.json, fl_curve.png, results_table.md, federated/global_model.pt,
            centralized_model.pt).
        results: the final table (centralized vs federated) as Markdown.
        strategy: server.strategy (Mean = FedAvg, FedAvgM, FedAdam, ...; its parameters are the
            defaults' when it is the default strategy, else Flower's).
        num_rounds: server.num_rounds, federated rounds.
        num_clients: client.num_clients (must equal the partition's).
        local_epochs: model.local_epochs, epochs each client trains per round.
        optuna_n_trials: model.optuna_n_trials, Optuna trials on client 0's data first (0 = none).
        random_seed: general.random_seed.
        data_split: general.data_split, homogeneous or heterogeneous (must equal the partition's).
        alpha: general.alpha, Dirichlet alpha (must equal a heterogeneous partition's).
        num_cpus: backend.client_resources.num_cpus, CPUs per simulated client (use 1 on 2-core hosts).
    """
    return dsl.ContainerSpec(
        image=FL_IMAGE,
        command=["campaignlab", "federate"],
        args=[
            "--partitions", partitions.path,
            "--out", run.path,
            "--results", results.path,
            "--strategy", strategy,
            "--num-rounds", num_rounds,
            "--num-clients", num_clients,
            "--local-epochs", local_epochs,
            "--optuna-n-trials", optuna_n_trials,
            "--random-seed", random_seed,
            "--data-split", data_split,
            "--alpha", alpha,
            "--num-cpus", num_cpus,
            "--no-use-wandb",
            "--quiet",
        ],
    )  # fmt: skip
