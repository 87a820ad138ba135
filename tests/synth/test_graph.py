import numpy as np

from campaignlab.synth.config import GraphConfig
from campaignlab.synth.graph import build_graph, edge_type_of
from campaignlab.synth.presets import EDGE_TYPE_FREQUENCIES, EDGE_TYPES


def test_graph_has_only_the_twelve_edge_types_and_canonical_edges():
    g = build_graph(GraphConfig(), seed=1)
    types = {edge_type_of(g.node_modality[s], g.node_modality[d]) for s, d in zip(g.src, g.dst, strict=True)}
    assert types == set(EDGE_TYPES)
    assert not {"geo-geo", "geo-platform", "platform-platform"} & types
    assert (g.src < g.dst).all()
    assert set(np.unique(g.sign)) == {-1, 1}
    # no edges inside single-pick groups (a campaign never holds two genders, ages or platforms)
    for grp in ("gender", "age", "platform"):
        assert not ((g.node_group[g.src] == grp) & (g.node_group[g.dst] == grp)).any()


def test_edge_type_shares_follow_the_configured_frequencies():
    g = build_graph(GraphConfig(), seed=3)
    tm = g.pair_type_matrix()
    counts = np.bincount(tm[g.src, g.dst], minlength=len(EDGE_TYPES))
    # uncapped types keep the configured ratios: e.g. audience-creative / audience-platform
    ac, ap = EDGE_TYPES.index("audience-creative"), EDGE_TYPES.index("audience-platform")
    want = EDGE_TYPE_FREQUENCIES["audience-creative"] / EDGE_TYPE_FREQUENCIES["audience-platform"]
    assert abs(counts[ac] / counts[ap] - want) / want < 0.05
    # ranking of counts follows the table except where a type is capped by its candidate pairs
    assert counts[EDGE_TYPES.index("brand-creative")] > counts[EDGE_TYPES.index("brand-brand")]


def test_custom_frequencies_change_the_graph():
    freqs = dict.fromkeys(EDGE_TYPES, 1.0)
    freqs["audience-platform"] = 20.0
    g = build_graph(GraphConfig(edge_type_frequencies=freqs), seed=3)
    tm = g.pair_type_matrix()
    counts = np.bincount(tm[g.src, g.dst], minlength=len(EDGE_TYPES))
    assert counts.argmax() == EDGE_TYPES.index("audience-platform")


def test_geo_nodes_are_real_zip_codes():
    import zipcodes

    g = build_graph(GraphConfig(num_zips=25), seed=5)
    zips = g.node_value[g.node_modality == "geo"]
    assert len(zips) == 25
    for z in zips:
        assert len(z) == 5 and z.isdigit()
        assert zipcodes.matching(z), z


def test_graph_is_deterministic_per_seed():
    a, b, c = (build_graph(GraphConfig(), seed=s) for s in (7, 7, 8))
    assert np.array_equal(a.src, b.src) and np.array_equal(a.sign, b.sign)
    assert not (np.array_equal(a.src, c.src) and np.array_equal(a.sign, c.sign))
