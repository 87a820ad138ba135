"""The Flower ``ClientApp``: local training and evaluation on one data owner's partition file.

Thin over :func:`campaignlab.federated.model.train` / :func:`~campaignlab.federated.model.test`, the same
functions centralized training uses, with the model and training parameters from
:mod:`campaignlab.federated.task` (shared with the ServerApp). The ``ServerApp`` owns the run config and
sends it (flattened, see :func:`campaignlab.federated.config.to_run_config`) in every message's
``ConfigRecord`` together with ``server-round`` (and FedProx's ``proximal-mu``); the client only decides
*which file* is its data:

* a SuperNode of a real federation is started with ``--node-config "data-path=/path/client_i.parquet"``
  and reads only that file;
* a simulated SuperNode has ``partition-id`` in its node config and reads
  ``<partition-dir>/client_<partition-id>.parquet``.

``client.attack`` (experiments only) makes the listed partition ids misbehave: flipped labels, or a
scaled / sign-flipped update.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from campaignlab.models.data import Features

from .config import FederatedConfig, from_run_config
from .model import test, train
from .strategy import PARTITION_KEY, UNIT_WEIGHT_KEY
from .task import client_seed, flip_labels, load_partition_file, make_model, train_params

app = ClientApp()

_DATA_CACHE: dict[tuple[str, int], Features] = {}


def data_path(context: Context, config: ConfigRecord) -> Path:
    """This node's partition file (see the module docstring)."""
    node = context.node_config
    if "data-path" in node:
        return Path(str(node["data-path"]))
    return Path(str(config["partition-dir"])) / f"client_{int(node['partition-id'])}.parquet"


def _partition_id(context: Context) -> int:
    return int(context.node_config.get("partition-id", 0))


def _setup(msg: Message, context: Context) -> tuple[FederatedConfig, Features, Any, ConfigRecord]:
    import torch

    config = msg.content.config_records["config"]
    cfg = from_run_config(dict(config))
    # One thread per reserved CPU: simulated clients share the machine's cores.
    torch.set_num_threads(max(1, int(cfg.backend.client_resources.num_cpus)))
    n_platforms = int(cast(int, config.get("n-platforms", 12)))
    path = data_path(context, config)
    key = (str(path), n_platforms)
    if key not in _DATA_CACHE:  # Ray actors and SuperNode processes live across rounds
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = load_partition_file(path, n_platforms)
    data = _DATA_CACHE[key]
    model = make_model(cfg, data, n_platforms)
    model.load_state_dict(msg.content.array_records["arrays"].to_torch_state_dict())
    return cfg, data, model, config


def _attacked_update(
    global_state: dict[str, Any], local_state: dict[str, Any], kind: str, factor: float
) -> dict:
    """``scale``: global + factor (local - global); ``sign_flip``: global - factor (local - global)."""
    sign = 1.0 if kind == "scale" else -1.0
    return {k: global_state[k] + sign * factor * (local_state[k] - global_state[k]) for k in local_state}


@app.train()
def train_handler(msg: Message, context: Context) -> Message:
    """Train the received global model for ``local_epochs`` on the local file; reply with the weights."""
    cfg, data, model, config = _setup(msg, context)
    server_round = int(cast(int, config.get("server-round", 1)))
    pid = _partition_id(context)
    attack = cfg.client.attack if cfg.client.attack and pid in cfg.client.attack.clients else None
    if attack is not None and attack.kind == "label_flip":
        data = flip_labels(data)
    global_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    params = train_params(
        cfg,
        seed=client_seed(cfg.general.random_seed, server_round, pid),
        proximal_mu=float(cast(float, config.get("proximal-mu", 0.0))),  # sent by Flower's FedProx
    )
    res = train(model, data, params)
    state = model.state_dict()
    if attack is not None and attack.kind in ("scale", "sign_flip"):
        state = _attacked_update(global_state, state, attack.kind, attack.factor)
    metrics = MetricRecord(
        {
            "train_loss": res["train_loss"],
            "num-examples": len(data),
            UNIT_WEIGHT_KEY: 1,
            PARTITION_KEY: pid,
        }
    )
    content = RecordDict({"arrays": ArrayRecord(state), "metrics": metrics})
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate_handler(msg: Message, context: Context) -> Message:
    """Evaluate the received global model on the local file (loss, macro F1, per-class F1)."""
    _cfg, data, model, _config = _setup(msg, context)
    # The same weight keys as the training replies: the strategy aggregates both with one key.
    pid = _partition_id(context)
    res: dict[str, Any] = {
        **test(model, data),
        "num-examples": len(data),
        UNIT_WEIGHT_KEY: 1,
        PARTITION_KEY: pid,
    }
    return Message(content=RecordDict({"metrics": MetricRecord(res)}), reply_to=msg)
