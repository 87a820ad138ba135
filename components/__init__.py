"""KFP v2 container components: one per pipeline step, each running ``campaignlab <command>``.

A component module is only an interface (``@dsl.container_component`` returning a
``dsl.ContainerSpec``); the work is done by the core CLI inside the image named in
:mod:`components.images`. Importing this package loads kfp but never torch, lightgbm or flwr.
"""

from components.compare import compare_federated, compare_models, register_model
from components.embed import embed
from components.evaluate import evaluate
from components.federate import federate
from components.gate import gate, gate_verdict
from components.generate import generate
from components.ingest import ingest
from components.partition import partition
from components.prediction import predict_campaigns
from components.registry import promote_version, pull_model, register_version
from components.train import train_hierarchical_lgbm, train_model, train_robust_modality, train_shared_latent

__all__ = [
    "compare_federated",
    "compare_models",
    "embed",
    "evaluate",
    "federate",
    "gate",
    "gate_verdict",
    "generate",
    "ingest",
    "partition",
    "predict_campaigns",
    "promote_version",
    "pull_model",
    "register_model",
    "register_version",
    "train_hierarchical_lgbm",
    "train_model",
    "train_robust_modality",
    "train_shared_latent",
]
