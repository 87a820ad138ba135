from campaignlab.synth.calibrate import CalibrateConfig, calibrate
from campaignlab.synth.config import GraphConfig
from campaignlab.synth.graph import build_graph
from campaignlab.synth.presets import EDGE_TYPES
from tests.conftest import run_cli


def test_calibrated_ranges_are_separated_by_the_shift():
    r = calibrate(build_graph(GraphConfig(), 42), CalibrateConfig(n_subgraphs=400, seed=1))
    fr = r["fractions"]
    assert abs(fr["positive"]["mean"] + fr["negative"]["mean"] + fr["missing"]["mean"] - 1) < 1e-9
    c = r["classes"]
    sd_p = fr["positive"]["std"]
    assert c["pos"]["pos_frac_range"][0] - c["avg"]["pos_frac_range"][1] >= 5 * sd_p - 1e-3
    assert c["neg"]["neg_frac_range"][0] > c["avg"]["neg_frac_range"][1]
    assert c["pos"]["neg_frac_range"] == c["avg"]["neg_frac_range"]
    avg_lo, avg_hi = c["avg"]["pos_frac_range"]
    assert avg_lo < fr["positive"]["mean"] < avg_hi


def test_frequency_report_ranks_like_the_report_table():
    r = calibrate(build_graph(GraphConfig(), 42), CalibrateConfig(n_subgraphs=300, seed=2))
    ranked = [row["edge_type"] for row in r["edge_type_frequencies"]]
    assert len(ranked) == 12 and set(ranked) == set(EDGE_TYPES)
    # the graph follows the table, so the most and least common types agree with it
    assert ranked[0] == "brand-creative"
    assert set(ranked[-2:]) == {"audience-audience", "audience-platform"}


def test_calibrated_ranges_feed_the_generator(tmp_path):
    import json

    import yaml

    out = tmp_path / "cal.json"
    proc = run_cli("calibrate", "--n-subgraphs", "300", "--avg-halfwidth-sd", "3", "--out", out)
    assert proc.returncode == 0, proc.stderr
    classes = json.loads(out.read_text())["classes"]
    for spec in classes.values():
        spec["num_samples"] = 40
    cfg = tmp_path / "g.yaml"
    cfg.write_text(yaml.safe_dump({"classes": classes, "seed": 1}))
    assert run_cli("generate", "--config", cfg, "--out", tmp_path / "d", "--quiet").returncode == 0
    assert run_cli("verify", tmp_path / "d").returncode == 0
