import pytest

from campaignlab.errors import ConfigError
from campaignlab.synth.config import resolve_generator_config
from campaignlab.synth.presets import NOISE_POINTS, PRESETS, apply_noise, pair_preference_sets


def test_presets_match_the_report_table():
    assert PRESETS["v25"]["pos"] == {
        "pos_frac_range": [0.45, 1.0],
        "neg_frac_range": [0.0, 0.25],
        "num_samples": 18000,
    }
    assert PRESETS["v26"]["avg"] == {
        "pos_frac_range": [0.25, 0.65],
        "neg_frac_range": [0.25, 0.65],
        "num_samples": 24000,
    }
    assert PRESETS["v28"]["neg"] == {
        "pos_frac_range": [0.1035, 0.2259],
        "neg_frac_range": [0.3833, 0.4833],
        "num_samples": 24000,
    }
    totals = {k: sum(c["num_samples"] for c in v.values()) for k, v in PRESETS.items()}
    assert totals == {"v25": 60000, "v26": 60000, "v28": 120000}


def test_noise_widens_only_the_opposing_range():
    base = {k: {r: v for r, v in spec.items() if r != "num_samples"} for k, spec in PRESETS["v25"].items()}
    out = apply_noise(base, 0.1)
    assert out["pos"]["neg_frac_range"] == [0.0, 0.35]
    assert out["pos"]["pos_frac_range"] == [0.45, 1.0]
    assert out["neg"]["pos_frac_range"] == [0.0, 0.35]
    assert out["neg"]["neg_frac_range"] == [0.45, 1.0]
    assert out["avg"]["pos_frac_range"] == [0.25, 0.55]
    assert out["avg"]["neg_frac_range"] == [0.25, 0.55]
    assert NOISE_POINTS["clean"] == 0 < NOISE_POINTS["low"] < NOISE_POINTS["medium"] < NOISE_POINTS["high"]


def test_pair_preference_sets_come_from_the_frequency_ranking():
    sets = pair_preference_sets()
    assert sets["common_first"] == {
        "high": ["brand-creative", "audience-creative"],
        "low": ["audience-audience", "audience-platform"],
    }
    assert sets["rare_first"] == {
        "high": ["audience-audience", "audience-platform"],
        "low": ["brand-creative", "audience-creative"],
    }
    assert sets["middle_ground"] == {
        "high": ["audience-geo", "brand-geo"],
        "low": ["creative-creative", "brand-brand"],
    }


def test_config_file_values_win_over_the_preset():
    cfg = resolve_generator_config({"preset": "v28", "classes": {"avg": {"num_samples": 10}}})
    assert cfg.classes["avg"].num_samples == 10
    assert cfg.classes["avg"].pos_frac_range == [0.1035, 0.2259]
    assert cfg.classes["pos"].num_samples == 24000


@pytest.mark.parametrize(
    ("data", "field", "value"),
    [
        ({"preset": "v99"}, "preset", "'v99'"),
        ({"preset": "v25", "colour": 1}, "colour", "1"),
        (
            {"preset": "v25", "classes": {"pos": {"pos_frac_range": [0.5, 1.2]}}},
            "classes.pos.pos_frac_range",
            "1.2",
        ),
        (
            {"preset": "v25", "classes": {"neg": {"neg_frac_range": [0.9, 0.1]}}},
            "classes.neg.neg_frac_range",
            "0.9",
        ),
        ({"preset": "v25", "classes": {"avg": {"num_samples": 0}}}, "classes.avg.num_samples", "0"),
        ({"preset": "v25", "noise": "extreme"}, "noise", "extreme"),
        (
            {"preset": "v25", "graph": {"edge_type_frequencies": {"geo-geo": 1}}},
            "graph.edge_type_frequencies",
            "geo-geo",
        ),
        ({}, "preset", "None"),
    ],
)
def test_bad_config_names_the_field_and_value(data, field, value):
    with pytest.raises(ConfigError) as info:
        resolve_generator_config(data)
    msg = str(info.value)
    assert field in msg and value in msg
