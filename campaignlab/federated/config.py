"""The federated run's one config model, :class:`FederatedConfig`, with the report's five sections.

The YAML has the sections of the federated report's "Configuration Reference" (``server``, ``client``,
``model``, ``general``, ``backend``) and its defaults (``default.yaml`` next to this file). Unknown keys
are rejected. The same config travels to a Flower deployment as a flat ``run_config`` (dotted keys,
Flower's convention for nested ``[tool.flwr.app.config]`` tables); :func:`to_run_config` and
:func:`from_run_config` convert both ways.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from campaignlab.config import StrictModel, load_config, validate

DEFAULT_YAML = Path(__file__).with_name("default.yaml")
MODEL_NAME = "GeneralisedJointModel_3cls_feat_drop"
# Only the platform has a categorical code in features.parquet (``platform_code``); the text and geo
# modalities are dense embeddings with no category to one-hot encode.
ONE_HOT_CAPABLE = ("platform",)
# Task types of Vertex AI text embeddings (lower-case), the values the report's field takes.
TextTask = Literal[
    "classification",
    "clustering",
    "semantic_similarity",
    "retrieval_document",
    "retrieval_query",
    "question_answering",
    "fact_verification",
    "code_retrieval_query",
]


class ServerSection(StrictModel):
    """Central orchestrator: sampling, aggregation, number of rounds."""

    strategy: Literal["Mean", "FedAvg"] = Field(
        "Mean", description="Mean = FedAvg: client arrays averaged, weighted by their number of examples"
    )
    fraction_fit: float = Field(1.0, gt=0, le=1, description="share of clients trained each round")
    fraction_eval: float = Field(1.0, ge=0, le=1, description="share of clients evaluating each round")
    num_rounds: int = Field(4, ge=1, le=10_000)
    server_dataset_included: bool = Field(
        False, description="false: the server holds no training partition and only aggregates"
    )

    @field_validator("server_dataset_included")
    @classmethod
    def _no_server_share(cls, v: bool) -> bool:
        if v:
            raise ValueError(
                "true is not supported: partition writes no server training share; the server only "
                "aggregates and evaluates the global model on the server test set (use false)"
            )
        return v


class ClientSection(StrictModel):
    num_clients: int = Field(5, ge=1, le=1000, description="clients in the federation (= partition files)")


class ModelSection(StrictModel):
    """Architecture and local-training hyperparameters."""

    name: Literal["GeneralisedJointModel_3cls_feat_drop"] = "GeneralisedJointModel_3cls_feat_drop"
    hidden_embed_dim: int = Field(256, ge=1, le=8192)
    embed_dim: int = Field(256, ge=1, le=8192)
    hidden_dim: int = Field(256, ge=1, le=8192)
    dropout_prob: float = Field(0.3, ge=0, lt=1)
    modality_dropout_prob: float = Field(0.0, ge=0, lt=1)
    local_epochs: int = Field(5, ge=1, le=10_000)
    batch_size: int = Field(64, ge=1, le=1_000_000)
    lr: float = Field(1e-3, gt=0, le=10)
    weight_decay: float = Field(1e-4, ge=0, le=10)
    optuna_n_trials: int = Field(3, ge=0, le=1000, description="0 disables tuning")


class GeneralSection(StrictModel):
    """Reproducibility, logging and which partition folder to read."""

    use_wandb: bool = True
    random_seed: int = Field(42, ge=0)
    text_embedding_task: TextTask = "classification"
    data_version: str = Field("V28_noise_0_percent", min_length=1)
    data_split: Literal["homogeneous", "heterogeneous"] = "homogeneous"
    alpha: float = Field(0.1, gt=0, description="Dirichlet concentration (heterogeneous split only)")
    one_hot_modalities: list[str] | None = None

    @field_validator("one_hot_modalities", mode="before")
    @classmethod
    def _parse_one_hot(cls, v: Any) -> Any:
        # The flat Flower run_config cannot hold lists or null: there it is a comma-separated string.
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()] or None
        return v

    @field_validator("one_hot_modalities")
    @classmethod
    def _check_one_hot(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        bad = [m for m in v if m not in ONE_HOT_CAPABLE]
        if bad:
            raise ValueError(
                f"{bad} cannot be one-hot encoded: only {list(ONE_HOT_CAPABLE)} has a categorical "
                "code (platform_code); the other modalities are dense embeddings"
            )
        return sorted(set(v)) or None


class ClientResources(StrictModel):
    num_cpus: float = Field(2.0, gt=0)
    num_gpus: float = Field(0.0, ge=0)


class BackendSection(StrictModel):
    client_resources: ClientResources = Field(default_factory=ClientResources)


class FederatedConfig(StrictModel):
    """The whole federated run, as in the report's YAML (every field has the report's default)."""

    server: ServerSection = Field(default_factory=ServerSection)
    client: ClientSection = Field(default_factory=ClientSection)
    model: ModelSection = Field(default_factory=ModelSection)
    general: GeneralSection = Field(default_factory=GeneralSection)
    backend: BackendSection = Field(default_factory=BackendSection)

    @property
    def epoch_budget(self) -> int:
        """Epochs each sample sees: rounds x local epochs (the centralized baseline's epochs)."""
        return self.server.num_rounds * self.model.local_epochs


def load_federated_config(path: str | Path | None = None) -> FederatedConfig:
    """Load a YAML config (missing keys take the report's defaults; unknown keys are an error)."""
    return load_config(FederatedConfig, path)


def to_run_config(cfg: FederatedConfig) -> dict[str, bool | int | float | str]:
    """Flatten to Flower's run_config: ``{"server.num_rounds": 4, ...}`` (None -> "", list -> "a,b")."""
    out: dict[str, bool | int | float | str] = {}

    def walk(prefix: str, obj: Any) -> None:
        for key, value in obj.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            elif value is None:
                out[name] = ""
            elif isinstance(value, list):
                out[name] = ",".join(map(str, value))
            else:
                out[name] = value

    walk("", cfg.model_dump())
    return out


def from_run_config(run_config: dict[str, Any]) -> FederatedConfig:
    """Inverse of :func:`to_run_config`; keys outside the config sections are ignored."""
    nested: dict[str, Any] = {}
    sections = set(FederatedConfig.model_fields)
    for key, value in run_config.items():
        parts = key.split(".")
        if parts[0] not in sections:
            continue
        node = nested
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return validate(FederatedConfig, nested, "run_config")
