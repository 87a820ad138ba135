"""Each estimator's defaults live in its ``Params`` model: the constructor and the module config agree."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from campaignlab.models import registry
from campaignlab.models.torch_training import LoopConfig, TorchEstimator

NAMES = registry.names()
TORCH = [n for n in NAMES if issubclass(registry.get(n), TorchEstimator)]
DIMS = {"audience": 12, "brand": 10, "creative": 10, "geo": 7, "platform": 5}


@pytest.mark.parametrize("name", NAMES)
def test_constructor_signature_is_the_parameter_model(name: str) -> None:
    cls = registry.get(name)
    fields = cls.Params.model_fields
    sig = inspect.signature(cls)
    assert list(sig.parameters) == list(fields)
    for pname, p in sig.parameters.items():
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, pname
        assert p.default == fields[pname].default, pname
    assert cls().get_params() == cls.Params().model_dump() == cls.default_params()


@pytest.mark.parametrize("name", NAMES)
def test_constructor_only_stores_and_rejects_unknown_names(name: str) -> None:
    from campaignlab.errors import CampaignlabError

    cls = registry.get(name)
    est = cls(random_state=7, n_jobs=1)
    assert est.get_params() == {**cls.default_params(), "random_state": 7, "n_jobs": 1}
    with pytest.raises(CampaignlabError, match="unknown parameter"):
        cls(random_seed=7)


@pytest.mark.parametrize("name", TORCH)
def test_module_config_defaults_are_the_parameter_defaults(name: str) -> None:
    cls = registry.get(name)
    est = cls()
    built = est._module_config(est._checked_params(), DIMS)  # what fit() builds from the defaults
    assert built == cls.config_cls(input_dims=DIMS)  # what the dataclass's own defaults give
    config_fields = {f.name for f in dataclasses.fields(cls.config_cls)} - {"input_dims"}
    overlap = config_fields & set(cls.Params.model_fields)
    assert overlap, "the module config shares no field with the parameter model"


@pytest.mark.parametrize("name", TORCH)
def test_loop_config_comes_from_the_parameters(name: str) -> None:
    cls = registry.get(name)
    p = cls.default_params()
    loop = cls()._loop_config(p)
    for f in dataclasses.fields(LoopConfig):
        if f.name == "seed":
            assert loop.seed == p["random_state"]
        elif f.name in p:
            assert getattr(loop, f.name) == p[f.name], f.name
