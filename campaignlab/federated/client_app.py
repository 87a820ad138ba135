"""The Flower ``ClientApp``: local training and evaluation on one data owner's partition file.

Thin over :func:`campaignlab.federated.model.train` / :func:`~campaignlab.federated.model.test`, the same
functions centralized training uses. The ``ServerApp`` owns the run config and sends it (flattened, see
:func:`campaignlab.federated.config.to_run_config`) in every message's ``ConfigRecord`` together with
``server-round``; the client only decides *which file* is its data:

* a SuperNode of a real federation is started with ``--node-config "data-path=/path/client_i.parquet"``
  and reads only that file;
* a simulated SuperNode has ``partition-id`` in its node config and reads
  ``<partition-dir>/client_<partition-id>.parquet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from .config import FederatedConfig, from_run_config
from .dataset import ArrayData, load_arrays
from .model import JointModelConfig, TrainParams, build_model, test, train

app = ClientApp()

_DATA_CACHE: dict[tuple[str, tuple[str, ...], int], ArrayData] = {}


def client_seed(seed: int, server_round: int, partition_id: int) -> int:
    """A distinct, reproducible seed per (run seed, round, client)."""
    return (seed * 1_000_003 + server_round * 10_007 + partition_id * 101) % (2**31 - 1)


def data_path(context: Context, config: ConfigRecord) -> Path:
    """This node's partition file (see the module docstring)."""
    node = context.node_config
    if "data-path" in node:
        return Path(str(node["data-path"]))
    return Path(str(config["partition-dir"])) / f"client_{int(node['partition-id'])}.parquet"


def _partition_id(context: Context) -> int:
    return int(context.node_config.get("partition-id", 0))


def _setup(msg: Message, context: Context) -> tuple[FederatedConfig, ArrayData, Any, ConfigRecord]:
    import torch

    config = msg.content.config_records["config"]
    cfg = from_run_config(dict(config))
    # One thread per reserved CPU: simulated clients share the machine's cores.
    torch.set_num_threads(max(1, int(cfg.backend.client_resources.num_cpus)))
    one_hot = tuple(cfg.general.one_hot_modalities or ())
    n_platforms = int(cast(int, config.get("n-platforms", 12)))
    path = data_path(context, config)
    key = (str(path), one_hot, n_platforms)
    if key not in _DATA_CACHE:  # Ray actors and SuperNode processes live across rounds
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = load_arrays(path, one_hot=one_hot, n_platforms=n_platforms)
    data = _DATA_CACHE[key]
    model = build_model(
        JointModelConfig(
            dims=data.dims,
            hidden_embed_dim=cfg.model.hidden_embed_dim,
            embed_dim=cfg.model.embed_dim,
            hidden_dim=cfg.model.hidden_dim,
            dropout_prob=cfg.model.dropout_prob,
            modality_dropout_prob=cfg.model.modality_dropout_prob,
        )
    )
    model.load_state_dict(msg.content.array_records["arrays"].to_torch_state_dict())
    return cfg, data, model, config


@app.train()
def train_handler(msg: Message, context: Context) -> Message:
    """Train the received global model for ``local_epochs`` on the local file; reply with the weights."""
    cfg, data, model, config = _setup(msg, context)
    server_round = int(cast(int, config.get("server-round", 1)))
    params = TrainParams(
        epochs=cfg.model.local_epochs,
        batch_size=cfg.model.batch_size,
        lr=cfg.model.lr,
        weight_decay=cfg.model.weight_decay,
        seed=client_seed(cfg.general.random_seed, server_round, _partition_id(context)),
    )
    res = train(model, data, params)
    metrics = MetricRecord({"train_loss": res["train_loss"], "num-examples": len(data)})
    content = RecordDict({"arrays": ArrayRecord(model.state_dict()), "metrics": metrics})
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate_handler(msg: Message, context: Context) -> Message:
    """Evaluate the received global model on the local file (loss, macro F1, per-class F1)."""
    _cfg, data, model, _config = _setup(msg, context)
    res: dict[str, Any] = {**test(model, data), "num-examples": len(data)}
    return Message(content=RecordDict({"metrics": MetricRecord(res)}), reply_to=msg)
