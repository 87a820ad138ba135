"""Federated training with Flower's simulation engine (``campaignlab federate``).

The command trains the joint model federated (FedAvg over the partition's clients) and, as its
baseline, the same model centrally on the union of the client rows for the same epoch budget (the
federated report's protocol); both are scored on the partition's server test set. Its run folder
(metrics.json with ``federated.final`` and ``centralized``, fl_curve.png, results_table.md, the two
models) is the ``run`` artifact; ``compare_federated`` ranks the two.

The command reads the report's YAML (server, client, model, general, backend): the container writes
it from the component's inputs, so every run parameter is a visible, cached pipeline input.
"""

from kfp import dsl

from components.images import FL_IMAGE

# "$0".."$9" are the args below (sh -c convention). data_version is read from the partition's
# manifest so that it always matches (the config must name the partition's data version).
_SCRIPT = """\
manifest=$(ls "$0"/manifest.json "$0"/*/manifest.json 2>/dev/null | head -n1)
data_version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data_version"])' "$manifest")
cat > /tmp/federate.yaml <<EOF
server:
  num_rounds: $3
client:
  num_clients: $4
model:
  local_epochs: $5
  optuna_n_trials: $6
general:
  use_wandb: false
  random_seed: $7
  data_split: $8
  alpha: $9
  data_version: "$data_version"
backend:
  client_resources:
    num_cpus: ${10}
EOF
campaignlab federate --config /tmp/federate.yaml --data "$0" --out "$1" --quiet
cp "$1/results_table.md" "$2"
"""


@dsl.container_component
def federate(
    partitions: dsl.Input[dsl.Dataset],
    run: dsl.Output[dsl.Model],
    results: dsl.Output[dsl.Markdown],
    num_rounds: int = 4,
    clients: int = 5,
    local_epochs: int = 5,
    tune_trials: int = 0,
    seed: int = 42,
    split: str = "homogeneous",
    alpha: float = 0.1,
    cpus_per_client: float = 1.0,
):
    """Federated (FedAvg) and centralized training of the joint model at the same epoch budget.

    Args:
        partitions: a partition folder written by ``partition``.
        run: the run folder (metrics.json, fl_curve.png, results_table.md, federated/global_model.pt,
            centralized_model.pt).
        results: the final table (centralized vs federated) as Markdown.
        num_rounds: federated rounds.
        clients: number of clients (must equal the partition's).
        local_epochs: epochs each client trains per round.
        tune_trials: Optuna trials on client 0's data before the federation (0 = none).
        seed: random seed.
        split: homogeneous or heterogeneous (must equal the partition's).
        alpha: Dirichlet alpha (must equal a heterogeneous partition's).
        cpus_per_client: Ray CPUs per simulated client.
    """
    return dsl.ContainerSpec(
        image=FL_IMAGE,
        command=["sh", "-ec", _SCRIPT],
        args=[
            partitions.path,
            run.path,
            results.path,
            num_rounds,
            clients,
            local_epochs,
            tune_trials,
            seed,
            split,
            alpha,
            cpus_per_client,
        ],
    )
