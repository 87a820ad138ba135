"""The federated YAML: the report's defaults, strict keys, the flat Flower run_config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from campaignlab.errors import ConfigError
from campaignlab.federated.config import (
    DEFAULT_YAML,
    STRATEGIES,
    FederatedConfig,
    default_config,
    from_run_config,
    load_federated_config,
    to_run_config,
)
from tests.conftest import run_cli


def test_defaults_are_the_reports():
    cfg = default_config()
    s = cfg.server
    assert (s.fraction_fit, s.fraction_eval, s.num_rounds, s.server_dataset_included) == (1.0, 1.0, 4, False)
    assert s.strategy in STRATEGIES and s.differential_privacy is None and s.reference_check is None
    assert cfg.client.num_clients == 5
    m = cfg.model
    assert (m.name, m.hidden_embed_dim, m.embed_dim, m.hidden_dim) == (
        "GeneralisedJointModel_3cls_feat_drop",
        256,
        256,
        256,
    )
    assert (m.dropout_prob, m.modality_dropout_prob, m.local_epochs, m.batch_size) == (0.3, 0.0, 5, 64)
    assert (m.lr, m.weight_decay, m.optuna_n_trials) == (1e-3, 1e-4, 3)
    g = cfg.general
    assert (g.use_wandb, g.random_seed, g.text_embedding_task) == (True, 42, "classification")
    # data_version: null = the partition's own (its manifest), so a default run fits any partition.
    assert (g.data_version, g.data_split, g.alpha, g.one_hot_modalities) == (None, "homogeneous", 0.1, None)
    assert cfg.backend.client_resources.model_dump() == {"num_cpus": 2.0, "num_gpus": 0.0}
    assert cfg.epoch_budget == 20  # 4 rounds x 5 local epochs, the report's budget
    # default.yaml is the one source of the defaults: no file, an empty mapping and the file agree.
    assert load_federated_config(DEFAULT_YAML) == cfg == FederatedConfig() == load_federated_config()


def test_unknown_and_bad_keys_are_rejected(tmp_path: Path):
    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"model": {"lr": 0.01, "learning_rate": 0.1}}))
    with pytest.raises(ConfigError, match=r"model\.learning_rate.*unknown key"):
        load_federated_config(p)
    p.write_text(yaml.safe_dump({"general": {"data_split": "iid"}}))
    with pytest.raises(ConfigError, match=r"general\.data_split: got 'iid'"):
        load_federated_config(p)
    p.write_text(yaml.safe_dump({"general": {"one_hot_modalities": ["brand"]}}))
    with pytest.raises(ConfigError, match=r"one_hot_modalities.*only \['platform'\]"):
        load_federated_config(p)
    p.write_text(yaml.safe_dump({"server": {"server_dataset_included": True}}))
    with pytest.raises(ConfigError, match="server_dataset_included"):
        load_federated_config(p)
    # Through the CLI: exit 2, the field named, before any data is touched.
    p.write_text(yaml.safe_dump({"backend": {"client_resources": {"num_cpu": 1}}}))
    proc = run_cli("federate", "--config", p, "--data", tmp_path, "--out", tmp_path / "o", "--quiet")
    assert proc.returncode == 2
    assert "backend.client_resources.num_cpu" in proc.stderr and "unknown key" in proc.stderr


def test_run_config_round_trip():
    cfg = FederatedConfig.model_validate(
        {
            "general": {"one_hot_modalities": ["platform"], "data_split": "heterogeneous", "alpha": 0.5},
            "model": {"lr": 0.02},
            "backend": {"client_resources": {"num_cpus": 1}},
        }
    )
    flat = to_run_config(cfg)
    # Flower's run_config holds only scalars.
    assert all(isinstance(v, bool | int | float | str) for v in flat.values())
    assert flat["general.one_hot_modalities"] == "platform"
    assert flat["backend.client_resources.num_cpus"] == 1.0
    assert from_run_config({**flat, "paths.out-dir": "/x"}) == cfg
    assert from_run_config(to_run_config(FederatedConfig())) == FederatedConfig()


def test_text_embedding_task_must_match_the_features():
    from campaignlab.federated.simulation import check_text_task

    vertex = {"features_manifest": {"encoder_settings": {"task_type": "CLUSTERING"}}}
    with pytest.raises(ConfigError, match=r"text_embedding_task: config 'classification'.*'clustering'"):
        check_text_task(vertex, "classification")
    check_text_task(vertex, "clustering")
    check_text_task({"features_manifest": {"encoder_settings": {"task_type": None}}}, "classification")


def test_strategies_and_their_parameters_are_validated(tmp_path: Path):
    # Every strategy of the issue builds a Flower strategy with its parameters (Flower's names).
    from flwr.serverapp import strategy as fs

    from campaignlab.federated.strategy import build_strategy

    params = {
        "FedAvgM": {"server_learning_rate": 1.5, "server_momentum": 0.9},
        "FedAdam": {"eta": 0.01, "beta_1": 0.8, "tau": 1e-4},
        "FedYogi": {"eta": 0.02},
        "FedAdagrad": {"eta": 0.05},
        "FedProx": {"proximal_mu": 0.1},
        "FedTrimmedAvg": {"beta": 0.1},
        "Krum": {"num_malicious_nodes": 1},
    }
    for name in STRATEGIES:
        cfg = FederatedConfig.model_validate(
            {"server": {"strategy": name, "strategy_params": params.get(name, {})}}
        )
        s = build_strategy(cfg)
        assert type(s).__name__ == ("FedAvg" if name == "Mean" else name)
        for k, v in params.get(name, {}).items():
            assert getattr(s, k) == v, (name, k)
        assert from_run_config(to_run_config(cfg)) == cfg  # the flat Flower run_config round trip
    # Wrapped: central DP around the strategy, the reference check inside it.
    cfg = FederatedConfig.model_validate(
        {
            "server": {
                "differential_privacy": {"noise_multiplier": 0.5, "clipping_norm": 2.0},
                "reference_check": {"tolerance": 0.1},
            }
        }
    )
    s = build_strategy(cfg, scorer=lambda arrays: 0.0)
    assert isinstance(s, fs.DifferentialPrivacyServerSideFixedClipping)
    assert (s.noise_multiplier, s.clipping_norm) == (0.5, 2.0)
    assert type(s.strategy).__name__ == "ReferenceCheck" and s.strategy.tolerance == 0.1

    # Bad input: one clear line naming the field, the value and what was expected; exit 2 via the CLI.
    cases = [
        ({"server": {"strategy": "FedFoo"}}, r"server\.strategy: got 'FedFoo' -> Input should be 'Mean'"),
        (
            {"server": {"strategy": "FedAdam", "strategy_params": {"eta": -1}}},
            r"server\.strategy_params\.FedAdam\.eta: got -1 -> Input should be greater than 0",
        ),
        (
            {"server": {"strategy": "FedAvgM", "strategy_params": {"momentum": 0.9}}},
            r"server\.strategy_params\.FedAvgM\.momentum: got 0\.9 -> unknown key",
        ),
        (
            {"server": {"strategy": "FedTrimmedAvg", "strategy_params": {"beta": 0.5}}},
            r"server\.strategy_params\.FedTrimmedAvg\.beta: got 0\.5 -> Input should be less than 0\.5",
        ),
        (
            {"server": {"strategy": "Krum", "strategy_params": {"num_malicious_nodes": 3}}},
            r"server\.strategy_params\.Krum\.num_malicious_nodes: got 3 -> expected at most "
            r"num_clients - 3 = 2",
        ),
        (
            {"server": {"differential_privacy": {"noise_multiplier": 0, "clipping_norm": 1}}},
            r"server\.differential_privacy\.noise_multiplier: got 0 -> Input should be greater than 0",
        ),
        (
            {"client": {"attack": {"kind": "sign_flip", "clients": [7]}}},
            r"client\.attack\.clients: got \[7\] -> expected ids in 0\.\.4",
        ),
    ]
    p = tmp_path / "c.yaml"
    for data, pattern in cases:
        p.write_text(yaml.safe_dump(data))
        with pytest.raises(ConfigError, match=pattern):
            load_federated_config(p)
    proc = run_cli(
        "federate",
        "--strategy",
        "FedAvgM",
        "--strategy-params",
        "server_momentum=1.5",
        "--data",
        tmp_path,
        "--out",
        tmp_path / "o",
        "--quiet",
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        "server.strategy_params.FedAvgM.server_momentum: got 1.5 -> Input should be less than 1"
        in proc.stderr
    )
    assert not (tmp_path / "o").exists()


def test_flags_override_the_yaml_and_are_named_after_their_fields(tmp_path: Path):
    from campaignlab.cli.federated import flag_overrides, parse_strategy_params

    p = tmp_path / "c.yaml"
    p.write_text(yaml.safe_dump({"server": {"num_rounds": 7}, "model": {"lr": 0.01}}))
    over = flag_overrides(
        num_rounds=2,
        num_clients=3,
        local_epochs=1,
        optuna_n_trials=0,
        random_seed=9,
        data_split="heterogeneous",
        alpha=0.5,
        num_cpus=1.0,
        strategy="FedAdam",
        strategy_params=parse_strategy_params(["eta=0.01"]),
        lr=None,
    )
    cfg = load_federated_config(p, **over)
    assert (cfg.server.num_rounds, cfg.client.num_clients, cfg.model.local_epochs) == (2, 3, 1)
    assert (cfg.general.random_seed, cfg.general.data_split, cfg.general.alpha) == (9, "heterogeneous", 0.5)
    assert cfg.model.lr == 0.01  # not given as a flag: the YAML's value stays
    assert cfg.backend.client_resources.num_cpus == 1.0 and cfg.model.optuna_n_trials == 0
    assert cfg.server.strategy == "FedAdam" and cfg.server.strategy_params.model_dump()["eta"] == 0.01
    # A strategy named without parameters takes Flower's defaults, not the default strategy's.
    assert load_federated_config(
        None, server={"strategy": "FedYogi"}
    ).server.strategy_params.model_dump() == {"eta": 0.01, "beta_1": 0.9, "beta_2": 0.99, "tau": 1e-3}
    with pytest.raises(ConfigError, match=r"--strategy-params: got 'eta' -> expected KEY=VALUE"):
        parse_strategy_params(["eta"])
