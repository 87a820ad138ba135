"""The federated YAML: the report's defaults, strict keys, the flat Flower run_config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from campaignlab.errors import ConfigError
from campaignlab.federated.config import (
    DEFAULT_YAML,
    FederatedConfig,
    from_run_config,
    load_federated_config,
    to_run_config,
)
from tests.conftest import run_cli


def test_defaults_are_the_reports():
    cfg = FederatedConfig()
    assert cfg.server.model_dump() == {
        "strategy": "Mean",
        "fraction_fit": 1.0,
        "fraction_eval": 1.0,
        "num_rounds": 4,
        "server_dataset_included": False,
    }
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
    assert (g.data_version, g.data_split, g.alpha, g.one_hot_modalities) == (
        "V28_noise_0_percent",
        "homogeneous",
        0.1,
        None,
    )
    assert cfg.backend.client_resources.model_dump() == {"num_cpus": 2.0, "num_gpus": 0.0}
    assert cfg.epoch_budget == 20  # 4 rounds x 5 local epochs, the report's budget
    # The shipped example YAML is exactly the defaults.
    assert load_federated_config(DEFAULT_YAML) == cfg


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
