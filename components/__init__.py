"""KFP v2 container components: one per pipeline step, each running ``campaignlab <command>``.

A component module is only an interface (``@dsl.container_component`` returning a
``dsl.ContainerSpec``); the work is done by the core CLI inside the image named in
:mod:`components.images`. Importing this package loads kfp but never torch, lightgbm or flwr.
"""

from components.compare import compare_federated, compare_models, register_model
from components.embed import embed
from components.evaluate import evaluate
from components.federate import federate
from components.generate import generate
from components.partition import partition
from components.prediction import predict_campaigns
from components.train import train_hierarchical_lgbm, train_robust_modality, train_shared_latent

__all__ = [
    "compare_federated",
    "compare_models",
    "embed",
    "evaluate",
    "federate",
    "generate",
    "partition",
    "predict_campaigns",
    "register_model",
    "train_hierarchical_lgbm",
    "train_robust_modality",
    "train_shared_latent",
]
