"""The federated run's one config model, :class:`FederatedConfig`, with the report's five sections.

The YAML has the sections of the federated report's "Configuration Reference" (``server``, ``client``,
``model``, ``general``, ``backend``). ``default.yaml`` next to this file is the **one source of the
defaults**: every config (a user's YAML, CLI flags, the KFP component, the pipelines) is merged over it,
so a default is written once. Unknown keys are rejected.

``server.strategy`` picks a Flower strategy (``flwr.serverapp.strategy``) and ``server.strategy_params``
its parameters, validated by the strategy's own model below (an unknown parameter, or one out of range,
is an error naming ``server.strategy_params.<Strategy>.<param>``). ``server.differential_privacy`` wraps
the strategy in Flower's central-DP wrapper; ``server.reference_check`` in our reference-set wrapper.

The same config travels to a Flower deployment as a flat ``run_config`` (dotted keys, Flower's convention
for nested ``[tool.flwr.app.config]`` tables); :func:`to_run_config` and :func:`from_run_config` convert
both ways.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from campaignlab import MODALITIES
from campaignlab.config import StrictModel, deep_merge, read_yaml, validate
from campaignlab.errors import ConfigError

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
StrategyName = Literal[
    "Mean",
    "FedAvg",
    "FedAvgM",
    "FedAdam",
    "FedYogi",
    "FedAdagrad",
    "FedProx",
    "FedMedian",
    "FedTrimmedAvg",
    "Krum",
]
STRATEGIES: tuple[str, ...] = StrategyName.__args__  # type: ignore[attr-defined]


# --- strategy parameters: one model per Flower strategy; names are the Flower constructor's ----------
# ``kind`` is filled in from ``server.strategy`` (it is not written in the YAML): it only selects the
# model, so an error names the strategy whose parameter is wrong.


class _NoParams(StrictModel):
    kind: Literal["Mean", "FedAvg", "FedMedian"] = Field("Mean", exclude=True)


class FedAvgMParams(StrictModel):
    """Server-side momentum (Hsu et al. 2019): ``v = momentum v + delta; w += server_lr v``."""

    kind: Literal["FedAvgM"] = Field("FedAvgM", exclude=True)
    server_learning_rate: float = Field(1.0, gt=0, le=100)
    server_momentum: float = Field(0.0, ge=0, lt=1)


class FedAdamParams(StrictModel):
    """Adaptive server optimiser (Reddi et al. 2020); ``eta`` is the server learning rate."""

    kind: Literal["FedAdam"] = Field("FedAdam", exclude=True)
    eta: float = Field(0.1, gt=0, le=10)
    beta_1: float = Field(0.9, ge=0, lt=1)
    beta_2: float = Field(0.99, ge=0, lt=1)
    tau: float = Field(1e-3, gt=0, le=10, description="adaptivity: added to sqrt(v)")


class FedYogiParams(FedAdamParams):
    kind: Literal["FedYogi"] = Field("FedYogi", exclude=True)  # type: ignore[assignment]
    eta: float = Field(1e-2, gt=0, le=10)


class FedAdagradParams(StrictModel):
    kind: Literal["FedAdagrad"] = Field("FedAdagrad", exclude=True)
    eta: float = Field(0.1, gt=0, le=10)
    tau: float = Field(1e-3, gt=0, le=10)


class FedProxParams(StrictModel):
    """FedAvg on the server; each client adds ``proximal_mu / 2 * ||w - w_global||^2`` to its loss."""

    kind: Literal["FedProx"] = Field("FedProx", exclude=True)
    proximal_mu: float = Field(0.01, gt=0, le=100)


class FedTrimmedAvgParams(StrictModel):
    kind: Literal["FedTrimmedAvg"] = Field("FedTrimmedAvg", exclude=True)
    beta: float = Field(0.2, ge=0, lt=0.5, description="share cut at each end of every coordinate")


class KrumParams(StrictModel):
    kind: Literal["Krum"] = Field("Krum", exclude=True)
    num_malicious_nodes: int = Field(0, ge=0, description="f: Krum scores each update by its n-f-2 nearest")


StrategyParams = Annotated[
    _NoParams
    | FedAvgMParams
    | FedAdamParams
    | FedYogiParams
    | FedAdagradParams
    | FedProxParams
    | FedTrimmedAvgParams
    | KrumParams,
    Field(discriminator="kind"),
]


class DifferentialPrivacy(StrictModel):
    """Central DP: Flower's ``DifferentialPrivacyServerSideFixedClipping`` around the strategy.

    Each client's update is clipped to ``clipping_norm`` (L2), the updates are averaged with equal
    weights, and Gaussian noise of std ``noise_multiplier * clipping_norm / sampled clients`` is added.
    (epsilon, delta) is computed by Google's ``dp-accounting`` RDP accountant (client-level DP).
    """

    noise_multiplier: float = Field(gt=0, le=100)
    clipping_norm: float = Field(gt=0, le=1e6)
    delta: float = Field(1e-5, gt=0, lt=1, description="delta of the reported (epsilon, delta)")


class ReferenceCheck(StrictModel):
    """Our wrapper: score each incoming update on the server's reference rows, leave out the harmful.

    The reference rows are ``server_reference.parquet`` of the partition (``partition --reference-rows``):
    generator rows held out of the server test set. An update is left out when the model it gives
    scores more than ``tolerance`` macro F1 below the median update's score on those rows.
    """

    tolerance: float = Field(0.05, ge=0, le=1)
    min_kept: int = Field(1, ge=1, description="always keep at least this many (the best-scoring)")


class ServerSection(StrictModel):
    """Central orchestrator: sampling, aggregation, number of rounds."""

    strategy: StrategyName = Field(description="Mean = FedAvg; see STRATEGIES")
    strategy_params: StrategyParams = Field(default_factory=_NoParams)
    fraction_fit: float = Field(gt=0, le=1, description="share of clients trained each round")
    fraction_eval: float = Field(ge=0, le=1, description="share of clients evaluating each round")
    num_rounds: int = Field(ge=1, le=10_000)
    server_dataset_included: bool = Field(
        description="false: the server holds no training partition and only aggregates"
    )
    differential_privacy: DifferentialPrivacy | None = None
    reference_check: ReferenceCheck | None = None

    @model_validator(mode="before")
    @classmethod
    def _params_kind(cls, data: Any) -> Any:
        # The parameters' model is chosen by the strategy's name; an unknown name is left to the
        # ``strategy`` field's own error.
        if isinstance(data, dict) and data.get("strategy") in STRATEGIES:
            params = data.get("strategy_params")
            params = {} if params is None else params
            if isinstance(params, dict):
                data = {**data, "strategy_params": {**params, "kind": data["strategy"]}}
        return data

    @field_validator("server_dataset_included")
    @classmethod
    def _no_server_share(cls, v: bool) -> bool:
        if v:
            raise ValueError(
                "true is not supported: partition writes no server training share; the server only "
                "aggregates and evaluates the global model on the server test set (use false)"
            )
        return v


class Attack(StrictModel):
    """Malicious clients, for robustness experiments (never set in a real federation).

    ``label_flip`` trains on flipped labels (Negative <-> Positive); ``scale`` sends
    ``global + factor * (local - global)``; ``sign_flip`` sends ``global - factor * (local - global)``.
    """

    kind: Literal["label_flip", "scale", "sign_flip"]
    clients: list[int] = Field(min_length=1, description="partition ids of the malicious clients")
    factor: float = Field(10.0, gt=0, le=1e6)


class ClientSection(StrictModel):
    num_clients: int = Field(ge=1, le=1000, description="clients in the federation (= partition files)")
    attack: Attack | None = None


class ModelSection(StrictModel):
    """Architecture and local-training hyperparameters (the shared ``train`` takes them all)."""

    name: Literal["GeneralisedJointModel_3cls_feat_drop"]
    hidden_embed_dim: int = Field(ge=1, le=8192)
    embed_dim: int = Field(ge=1, le=8192)
    hidden_dim: int = Field(ge=1, le=8192)
    dropout_prob: float = Field(ge=0, lt=1)
    modality_dropout_prob: float = Field(ge=0, lt=1)
    local_epochs: int = Field(ge=1, le=10_000)
    batch_size: int = Field(ge=1, le=1_000_000)
    lr: float = Field(gt=0, le=10)
    lr_schedule: Literal["constant", "cosine"] = Field(
        description="local learning rate over each call of train: constant, or cosine decay to 0"
    )
    warmup_epochs: float = Field(ge=0, le=10_000, description="linear lr warm-up at the start of each call")
    weight_decay: float = Field(ge=0, le=10)
    optuna_n_trials: int = Field(ge=0, le=1000, description="0 disables tuning")


class GeneralSection(StrictModel):
    """Reproducibility, logging and which partition folder to read."""

    use_wandb: bool
    random_seed: int = Field(ge=0)
    text_embedding_task: TextTask
    data_version: str | None = Field(
        None, min_length=1, description="null: the partition's (its manifest); else must equal it"
    )
    data_split: Literal["homogeneous", "heterogeneous", "owner"]
    alpha: float = Field(gt=0, description="Dirichlet concentration (heterogeneous split only)")
    one_hot_modalities: list[str] | None = None
    centralized_baseline: bool = Field(description="also train the centralized baseline (same budget)")

    @field_validator("one_hot_modalities", mode="before")
    @classmethod
    def _parse_one_hot(cls, v: Any) -> Any:
        # The flat Flower run_config cannot hold lists or null: there it is a comma-separated string.
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()] or None
        return v

    @field_validator("data_version", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v == "" else v  # the flat run_config writes None as ""

    @field_validator("one_hot_modalities")
    @classmethod
    def _check_one_hot(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        bad = [m for m in v if m not in ONE_HOT_CAPABLE]
        if bad:
            raise ValueError(
                f"{bad} cannot be one-hot encoded: only {list(ONE_HOT_CAPABLE)} has a categorical "
                f"code (platform_code); the other modalities ({[*MODALITIES]}) are dense embeddings"
            )
        return sorted(set(v)) or None


class ClientResources(StrictModel):
    num_cpus: float = Field(gt=0)
    num_gpus: float = Field(ge=0)


class BackendSection(StrictModel):
    client_resources: ClientResources


@functools.cache
def _default_data() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULT_YAML.read_text())
    assert isinstance(data, dict)
    return data


class FederatedConfig(StrictModel):
    """The whole federated run, as in the report's YAML, merged over ``default.yaml``."""

    server: ServerSection
    client: ClientSection
    model: ModelSection
    general: GeneralSection
    backend: BackendSection

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            base = _default_data()
            # Another strategy's parameters do not carry over from the defaults.
            srv = data.get("server")
            if isinstance(srv, dict) and "strategy" in srv and "strategy_params" not in srv:
                base = {**base, "server": {k: v for k, v in base["server"].items() if k != "strategy_params"}}
            return deep_merge(base, data)
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> FederatedConfig:
        # A ConfigError (not a ValueError) passes through pydantic unwrapped: one clean line per field.
        n = self.client.num_clients
        p = self.server.strategy_params
        if isinstance(p, KrumParams) and n - p.num_malicious_nodes - 2 < 1:
            raise ConfigError(
                f"server.strategy_params.Krum.num_malicious_nodes: got {p.num_malicious_nodes} -> "
                f"expected at most num_clients - 3 = {n - 3} (Krum compares each update with its "
                "n - f - 2 nearest)"
            )
        a = self.client.attack
        if a is not None and any(not 0 <= c < n for c in a.clients):
            raise ConfigError(f"client.attack.clients: got {a.clients} -> expected ids in 0..{n - 1}")
        if self.model.warmup_epochs >= self.model.local_epochs and self.model.warmup_epochs > 0:
            raise ConfigError(
                f"model.warmup_epochs: got {self.model.warmup_epochs} -> expected fewer than "
                f"model.local_epochs ({self.model.local_epochs})"
            )
        return self

    @property
    def epoch_budget(self) -> int:
        """Epochs each sample sees: rounds x local epochs (the centralized baseline's epochs)."""
        return self.server.num_rounds * self.model.local_epochs


def default_config() -> FederatedConfig:
    """``default.yaml``: the defaults that components and pipelines take theirs from."""
    return FederatedConfig.model_validate({})


def load_federated_config(path: str | Path | None = None, **overrides: Any) -> FederatedConfig:
    """Load a YAML config over the defaults, then apply non-None ``overrides`` (nested sections).

    The same order as :func:`campaignlab.config.load_config` (file, then flags); written out here
    because one section is called ``model``, the name of that function's first parameter.
    """
    data: dict[str, Any] = read_yaml(path) if path else {}
    data = deep_merge(data, {k: v for k, v in overrides.items() if v is not None})
    return validate(FederatedConfig, data, source=str(path) if path else "options")


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


# Optional sections: in the flat run_config an absent section is written as "" (null).
_OPTIONAL_SECTIONS = ("server.differential_privacy", "server.reference_check", "client.attack")


def from_run_config(run_config: dict[str, Any]) -> FederatedConfig:
    """Inverse of :func:`to_run_config`; keys outside the config sections are ignored."""
    nested: dict[str, Any] = {}
    sections = set(FederatedConfig.model_fields)
    for key, value in run_config.items():
        parts = key.split(".")
        if parts[0] not in sections:
            continue
        if key in _OPTIONAL_SECTIONS and value == "":
            value = None
        if key == "client.attack.clients" and isinstance(value, str):
            value = [int(s) for s in value.split(",") if s.strip()]
        node = nested
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return validate(FederatedConfig, nested, "run_config")
