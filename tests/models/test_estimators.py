"""Every registered estimator: fit, predict, beat chance, save/load, determinism, API contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from campaignlab.errors import CampaignlabError, ConfigError, DataError
from campaignlab.evaluation.metrics import macro_f1
from campaignlab.io import atomic_dir
from campaignlab.models import registry
from campaignlab.models.base import Estimator, NotFittedError
from campaignlab.models.data import Features
from tests.models.conftest import FAST_PARAMS, QUICK

NAMES = registry.names()


@pytest.fixture(scope="module")
def fitted(projected: Features) -> dict[str, Estimator]:
    """One estimator per registered name, fitted on the train split with fast settings."""
    train = projected.select("train")
    return {
        name: registry.get(name)(**FAST_PARAMS[name], random_state=7).fit(train.inputs, train.label)
        for name in NAMES
    }


def test_registry_lists_the_three_models() -> None:
    assert NAMES == ["hierarchical_lgbm", "shared_latent", "robust_modality"]
    with pytest.raises(ConfigError, match="expected one of"):
        registry.get("xgboost")


@pytest.mark.parametrize("name", NAMES)
def test_predictions_have_the_contract_shapes(name: str, fitted: dict, projected: Features) -> None:
    test = projected.select("test")
    est = fitted[name]
    proba = est.predict_proba(test.inputs)
    pred = est.predict(test.inputs)
    assert proba.shape == (len(test), 3)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-9)
    assert pred.dtype == np.int8 and pred.shape == (len(test),)
    assert set(np.unique(pred)) <= {0, 1, 2}


@pytest.mark.parametrize("name", NAMES)
def test_beats_chance_clearly_on_tiny_data(name: str, fitted: dict, projected: Features) -> None:
    """Chance macro F1 is about 0.33; 1,680 v25 training rows support far more (LightGBM least)."""
    test = projected.select("test")
    score = macro_f1(test.label, fitted[name].predict(test.inputs))
    assert score > 0.48, f"{name}: macro F1 {score:.3f}"


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip_predicts_identically(
    name: str, fitted: dict, projected: Features, tmp_path: Path
) -> None:
    est = fitted[name]
    with atomic_dir(tmp_path / "model") as folder:  # published, as `campaignlab train` does
        est.save(folder)
    back = registry.load_model(tmp_path / "model")
    assert type(back) is type(est)
    assert back.get_params() == est.get_params()
    X = projected.inputs
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_model(name: str, projected: Features) -> None:
    train, test = projected.select("train"), projected.select("test")
    params = {**FAST_PARAMS[name], **QUICK[name], "random_state": 5}
    a = registry.get(name)(**params).fit(train.inputs, train.label)
    b = registry.get(name)(**params).fit(train.inputs, train.label)
    np.testing.assert_array_equal(a.predict_proba(test.inputs), b.predict_proba(test.inputs))


def test_different_seed_different_network(projected: Features) -> None:
    train, test = projected.select("train"), projected.select("test")
    params = {**FAST_PARAMS["robust_modality"], **QUICK["robust_modality"]}
    a = registry.get("robust_modality")(**params, random_state=1).fit(train.inputs, train.label)
    b = registry.get("robust_modality")(**params, random_state=2).fit(train.inputs, train.label)
    assert not np.array_equal(a.predict_proba(test.inputs), b.predict_proba(test.inputs))


@pytest.mark.parametrize("name", NAMES)
def test_estimator_api_contract(name: str, projected: Features) -> None:
    cls = registry.get(name)
    with pytest.raises(TypeError):
        cls(0.5)  # keyword-only parameters
    est = cls(random_state=3)
    assert est.get_params()["random_state"] == 3
    assert est.set_params(random_state=4) is est and est.random_state == 4
    with pytest.raises(CampaignlabError, match="unknown parameter"):
        est.set_params(not_a_param=1)
    with pytest.raises(NotFittedError):
        est.predict(projected.inputs)
    est.set_params(n_jobs=0)  # stored as given; validated in fit
    with pytest.raises(ConfigError, match="n_jobs"):
        est.fit(projected.inputs, projected.label)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_are_checked(name: str, fitted: dict, projected: Features) -> None:
    est = fitted[name]
    X = dict(projected.inputs)
    X["geo"] = X["geo"][:, :-1]
    with pytest.raises(DataError, match="'geo': got width"):
        est.predict(X)
    X = dict(projected.inputs)
    del X["brand"]
    with pytest.raises(DataError, match="missing"):
        est.predict(X)
    fresh = registry.get(name)(**FAST_PARAMS[name])
    with pytest.raises(DataError, match="every class"):
        fresh.fit(projected.inputs, np.where(projected.label == 2, 1, projected.label))


def test_model_json_records_the_lgbm_contract(fitted: dict, tmp_path: Path) -> None:
    import json

    fitted["hierarchical_lgbm"].save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "stage1.txt", "stage2.txt"]
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["type"] == "hierarchical_lgbm"
    assert meta["pos_threshold"] == 0.5
    assert meta["platform_encoding"]["classes"] == list(range(12))
    layout = meta["feature_layout"]
    assert [c["name"] for c in layout] == ["audience", "brand", "creative", "geo", "platform"]
    assert layout[-1] == {"name": "platform", "start": 48 * 3 + 40, "width": 1, "kind": "categorical"}
    assert "lightgbm" in meta["versions"]
    assert (tmp_path / "stage1.txt").read_text().startswith("tree")


def test_model_json_records_the_torch_contract(fitted: dict, tmp_path: Path) -> None:
    import json

    import torch

    fitted["robust_modality"].save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.pt"]
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["config"]["input_dims"] == {
        "audience": 48,
        "brand": 48,
        "creative": 48,
        "geo": 40,
        "platform": 16,
    }
    assert meta["history"]["best_epoch"] >= 1 and "torch" in meta["versions"]
    state = torch.load(tmp_path / "model.pt", weights_only=True)  # a plain state_dict, no pickled objects
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_load_rejects_a_folder_of_another_type(fitted: dict, tmp_path: Path) -> None:
    fitted["shared_latent"].save(tmp_path)
    with pytest.raises(DataError, match="expected 'robust_modality'"):
        registry.get("robust_modality").load(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        registry.load_model(tmp_path / "nowhere")


def test_networks_accept_an_eval_set_and_class_weights(projected: Features) -> None:
    train, test = projected.select("train"), projected.select("test")
    params = {**FAST_PARAMS["shared_latent"], **QUICK["shared_latent"], "class_weight": "balanced"}
    est = registry.get("shared_latent")(**params)
    est.fit(train.inputs, train.label, eval_set=(test.inputs, test.label))
    best = max(e["val_macro_f1"] for e in est.history_.epochs)
    assert est.history_.best_val_macro_f1 == best
    assert best == pytest.approx(macro_f1(test.label, est.predict(test.inputs)))  # best epoch restored
    narrow = dict(test.inputs, creative=test.inputs["creative"][:, :5])
    with pytest.raises(DataError, match="'creative': got width 5"):
        est.fit(train.inputs, train.label, eval_set=(narrow, test.label))
