"""Generate, write, read and verify a dataset folder (the generator's output contract).

Folder contents (see README, "Dataset folder"):

* ``samples.parquet``: ``sample_id`` string, ``split`` 'train'|'test', ``label`` int8 (0 Negative,
  1 Average, 2 Positive), ``audience``, ``brand``, ``creative``, ``platform`` strings, ``geo`` list of
  5-character ZIP strings, ``audience_nodes``, ``brand_nodes``, ``creative_nodes``, ``geo_nodes``,
  ``platform_nodes`` lists of int64 node ids, ``pos_frac``, ``neg_frac`` float64.
* ``nodes.parquet``: ``node_id`` int64, ``modality``, ``value`` (and ``group``: gender/age/interest/...).
* ``edges.parquet``: ``src``, ``dst`` node ids with src < dst, ``sign`` int8 +1 or -1.
* ``manifest.json``: preset, resolved config, effective (noise-widened) ranges, seed, counts per split
  and class, acceptance per class, package versions.
* ``proportions.png``: positive against negative fraction, coloured by class.

A label is exact: ``pos_frac`` and ``neg_frac`` of the sample's pairwise combinations lie inside the
ranges of its class. Where class ranges overlap (v26 by design), a sample lies in more than one class's
ranges and keeps the class it was generated for; ``verify`` checks the ranges of the stored label.
"""

from __future__ import annotations

import platform as _platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import campaignlab
from campaignlab import MODALITIES, TEXT_MODALITIES
from campaignlab.errors import VerificationError
from campaignlab.io import atomic_dir, read_json, read_parquet, require_complete, write_json, write_parquet
from campaignlab.synth import text
from campaignlab.synth.config import GeneratorConfig
from campaignlab.synth.graph import Graph, build_graph, sign_matrix
from campaignlab.synth.presets import LABELS
from campaignlab.synth.sampler import CLASS_INDEX, AimedSampler, ClassDraw

SAMPLES_TEXT_COLUMNS = {
    "sample_id": "string",
    "split": "'train' or 'test'",
    "label": "int8 0/1/2",
    **{m: "string" for m in TEXT_MODALITIES},
    "geo": "list of 5-character ZIP strings",
}
"""The columns a consumer of the texts (e.g. the embedding step) needs."""
SAMPLES_COLUMNS = {
    **SAMPLES_TEXT_COLUMNS,
    **{f"{m}_nodes": "list of int64 node ids" for m in MODALITIES},
    "pos_frac": "float64",
    "neg_frac": "float64",
}
NODES_COLUMNS = {"node_id": "int64", "modality": "string", "value": "string"}
EDGES_COLUMNS = {"src": "int64 node id", "dst": "int64 node id > src", "sign": "int8 +1/-1"}

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)."""


@dataclass
class Dataset:
    samples: pa.Table
    nodes: pa.Table
    edges: pa.Table
    manifest: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


def _list_column(nodes: np.ndarray, mask: np.ndarray) -> pa.ListArray:
    """Rows of ``nodes`` (B, L) restricted to ``mask`` as a list<int64> column (row order kept)."""
    counts = mask.sum(1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(nodes[mask].astype(np.int64)))


def versions() -> dict[str, str]:
    return {
        "campaignlab": campaignlab.__version__,
        "python": _platform.python_version(),
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
    }


def generate(cfg: GeneratorConfig, progress: Progress | None = None) -> Dataset:
    """Build the graph, draw every class and render the texts. Pure: nothing is written."""
    t0 = time.perf_counter()
    graph = build_graph(cfg.graph, cfg.seed)
    sampler = AimedSampler(graph, cfg)
    ranges = cfg.effective_ranges()
    counts = cfg.counts()
    seeds = np.random.SeedSequence([cfg.seed, 0x5A3]).spawn(len(LABELS) + 2)
    draws: dict[str, ClassDraw] = {}
    for i, lbl in enumerate(LABELS):
        cb = (
            None
            if progress is None
            else (lambda done, lbl=lbl: progress(f"sampling {lbl}", done, counts[lbl]))
        )
        draws[lbl] = sampler.draw(lbl, ranges[lbl], counts[lbl], np.random.default_rng(seeds[i]), cb)
    t_sample = time.perf_counter()

    nodes = np.concatenate([draws[k].nodes for k in LABELS])  # (n, L)
    labels = np.concatenate([np.full(counts[k], CLASS_INDEX[k], dtype=np.int8) for k in LABELS])
    pos = np.concatenate([draws[k].pos for k in LABELS])
    neg = np.concatenate([draws[k].neg for k in LABELS])
    pairs = np.concatenate([draws[k].pairs for k in LABELS])
    rng_shuffle = np.random.default_rng(seeds[len(LABELS)])
    order = rng_shuffle.permutation(len(labels))
    nodes, labels, pos, neg, pairs = nodes[order], labels[order], pos[order], neg[order], pairs[order]
    n = len(labels)

    split = np.full(n, "train", dtype=object)
    for c in range(3):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng_shuffle.permutation(len(idx))]
        split[idx[: round(cfg.test_fraction * len(idx))]] = "test"

    mod_of_node = np.array([MODALITIES.index(m) for m in graph.node_modality])
    valid = nodes >= 0
    node_mod = np.where(valid, mod_of_node[np.where(valid, nodes, 0)], -1)
    cols: dict[str, Any] = {}
    for mi, m in enumerate(MODALITIES):
        cols[f"{m}_nodes"] = _list_column(nodes, node_mod == mi)

    audience, brand, creative, platform, geo = _render_texts(graph, nodes, node_mod, cfg.seed, progress)
    table = pa.table(
        {
            "sample_id": pa.array([f"c{i:07d}" for i in range(n)], pa.string()),
            "split": pa.array(split.tolist(), pa.string()),
            "label": pa.array(labels, pa.int8()),
            "audience": pa.array(audience, pa.string()),
            "brand": pa.array(brand, pa.string()),
            "creative": pa.array(creative, pa.string()),
            "platform": pa.array(platform, pa.string()),
            "geo": pa.array(geo, pa.list_(pa.string())),
            **cols,
            "pos_frac": pa.array(pos / pairs, pa.float64()),
            "neg_frac": pa.array(neg / pairs, pa.float64()),
        }
    )
    nodes_t = pa.table(
        {
            "node_id": pa.array(np.arange(graph.num_nodes), pa.int64()),
            "modality": pa.array(graph.node_modality.tolist(), pa.string()),
            "group": pa.array(graph.node_group.tolist(), pa.string()),
            "value": pa.array(graph.node_value.tolist(), pa.string()),
        }
    )
    edges_t = pa.table(
        {
            "src": pa.array(graph.src, pa.int64()),
            "dst": pa.array(graph.dst, pa.int64()),
            "sign": pa.array(graph.sign, pa.int8()),
        }
    )
    t_end = time.perf_counter()
    manifest = _manifest(cfg, labels, split, draws, ranges, graph)
    return Dataset(
        table,
        nodes_t,
        edges_t,
        manifest,
        {"sampling": t_sample - t0, "assembly": t_end - t_sample, "total": t_end - t0},
    )


def _render_texts(
    graph: Graph, nodes: np.ndarray, node_mod: np.ndarray, seed: int, progress: Progress | None
) -> tuple[list[str], list[str], list[str], list[str], list[list[str]]]:
    rng = random.Random(seed * 1_000_003 + 17)
    group, value, phrase = graph.node_group, graph.node_value, graph.node_phrase
    audience, brand, creative, platform, geo = [], [], [], [], []
    n = len(nodes)
    for i in range(n):
        row = nodes[i][nodes[i] >= 0].tolist()
        gender = age = plat = ""
        interests: list[str] = []
        brands: list[str] = []
        creatives: list[str] = []
        zips: list[str] = []
        for nid in row:
            g = group[nid]
            if g == "gender":
                gender = value[nid]
            elif g == "age":
                age = value[nid]
            elif g == "interest":
                interests.append(value[nid])
            elif g == "brand":
                brands.append(phrase[nid])
            elif g == "creative":
                creatives.append(phrase[nid])
            elif g == "geo":
                zips.append(value[nid])
            else:
                plat = value[nid]
        audience.append(text.audience_text(gender, age, interests, rng))
        brand.append(text.brand_text(brands, rng))
        creative.append(text.creative_text(creatives, rng))
        platform.append(plat)
        geo.append(zips)
        if progress is not None and (i % 20000 == 0 or i == n - 1):
            progress("rendering text", i + 1, n)
    return audience, brand, creative, platform, geo


def _manifest(
    cfg: GeneratorConfig,
    labels: np.ndarray,
    split: np.ndarray,
    draws: dict[str, ClassDraw],
    ranges: dict[str, Any],
    graph: Graph,
) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for s in ("train", "test"):
        counts[s] = {lbl: int(((split == s) & (labels == CLASS_INDEX[lbl])).sum()) for lbl in LABELS}
    return {
        "kind": "campaignlab.dataset",
        "schema_version": 1,
        "preset": cfg.preset,
        "seed": cfg.seed,
        "config": cfg.model_dump(mode="json"),
        "effective_ranges": ranges,
        "label_index": {"negative": 0, "average": 1, "positive": 2},
        "counts": counts,
        "num_samples": len(labels),
        "acceptance": {lbl: round(draws[lbl].acceptance, 6) for lbl in LABELS},
        "vocabularies": {
            # Every platform of the graph (not only those sampled): the embedding step's platform codes.
            "platform": sorted(
                {
                    str(v)
                    for v, m in zip(graph.node_value, graph.node_modality, strict=True)
                    if m == "platform"
                }
            ),
        },
        "graph": {
            "nodes": graph.num_nodes,
            "edges": len(graph.src),
            "positive_edges": int((graph.sign == 1).sum()),
        },
        "versions": versions(),
    }


def write(ds: Dataset, out: str | Path, plot: bool = True) -> Path:
    """Write the folder atomically: everything appears at ``out`` or nothing does."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        write_parquet(ds.samples, tmp / "samples.parquet")
        write_parquet(ds.nodes, tmp / "nodes.parquet")
        write_parquet(ds.edges, tmp / "edges.parquet")
        write_json(tmp / "manifest.json", ds.manifest)
        if plot:
            from campaignlab.evaluation.plots import proportions_plot

            proportions_plot(ds.samples, ds.manifest["effective_ranges"], tmp / "proportions.png")
    return out


# Verification ---------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    num_samples: int
    counts: dict[str, dict[str, int]]
    ambiguous: int  # samples whose fractions also lie in another class's ranges (overlapping presets)


def _padded(col: pa.ChunkedArray) -> np.ndarray:
    """list<int64> column -> (n, max_len) int64 array padded with -1."""
    arr = col.combine_chunks()
    offsets = np.asarray(arr.offsets)
    values = np.asarray(arr.values)
    lengths = np.diff(offsets)
    out = np.full((len(lengths), max(int(lengths.max(initial=0)), 1)), -1, dtype=np.int64)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    pos_in_row = np.arange(len(values)) - np.repeat(offsets[:-1], lengths)
    out[rows, pos_in_row] = values
    return out


def verify(folder: str | Path) -> VerifyReport:
    """Recompute every sample's fractions and label from nodes.parquet and edges.parquet.

    Raises:
        VerificationError: naming the first mismatching samples and what disagreed.
    """
    folder = Path(folder)
    require_complete(
        folder, "dataset folder", needs=("samples.parquet", "nodes.parquet", "edges.parquet", "manifest.json")
    )
    samples = read_parquet(folder / "samples.parquet", SAMPLES_COLUMNS)
    nodes = read_parquet(folder / "nodes.parquet", NODES_COLUMNS)
    edges = read_parquet(folder / "edges.parquet", EDGES_COLUMNS)
    manifest = read_json(folder / "manifest.json")
    ranges = manifest["effective_ranges"]

    problems: list[str] = []
    n_nodes = nodes.num_rows
    node_ids = np.asarray(nodes["node_id"])
    if not np.array_equal(node_ids, np.arange(n_nodes)):
        raise VerificationError("nodes.parquet: node_id must be 0..N-1 in order")
    src, dst, sign = (np.asarray(edges[c]) for c in ("src", "dst", "sign"))
    if (src >= dst).any() or (src < 0).any() or (dst >= n_nodes).any():
        raise VerificationError("edges.parquet: every edge needs 0 <= src < dst < number of nodes")
    if not np.isin(sign, (-1, 1)).all():
        raise VerificationError("edges.parquet: sign must be +1 or -1")
    if len(set(zip(src.tolist(), dst.tolist(), strict=True))) != len(src):
        raise VerificationError("edges.parquet: duplicate edge")
    s = sign_matrix(n_nodes, src, dst, sign)
    modality = np.asarray(nodes["modality"].to_pylist())
    value = np.asarray(nodes["value"].to_pylist())

    ids = np.asarray(samples["sample_id"].to_pylist())
    if len(set(ids.tolist())) != len(ids):
        problems.append("sample_id: not unique")
    split = np.asarray(samples["split"].to_pylist())
    bad_split = ~np.isin(split, ("train", "test"))
    if bad_split.any():
        problems.append(f"split: {split[bad_split][:3].tolist()} not 'train'/'test'")

    per_mod = {m: _padded(samples[f"{m}_nodes"]) for m in MODALITIES}
    for m, arr in per_mod.items():
        ok = arr >= 0
        if (arr[ok] >= n_nodes).any():
            problems.append(f"{m}_nodes: node id out of range")
            continue
        wrong = ok & (modality[np.where(ok, arr, 0)] != m)
        if wrong.any():
            r = int(np.flatnonzero(wrong.any(1))[0])
            problems.append(f"{ids[r]}: {m}_nodes holds a node of another modality")
    plat_len = (per_mod["platform"] >= 0).sum(1)
    if (plat_len != 1).any():
        r = int(np.flatnonzero(plat_len != 1)[0])
        problems.append(f"{ids[r]}: platform_nodes must hold exactly one node, has {plat_len[r]}")
    if problems:
        raise VerificationError("; ".join(problems))

    plat = per_mod["platform"][:, 0]
    plat_text = np.asarray(samples["platform"].to_pylist())
    bad = value[plat] != plat_text
    if bad.any():
        problems.append(
            f"{ids[bad][0]}: platform text {plat_text[bad][0]!r} != node value {value[plat[bad]][0]!r}"
        )
    geo_text = samples["geo"].to_pylist()
    geo_nodes = per_mod["geo"]
    for i in np.flatnonzero([len(g) != int((geo_nodes[j] >= 0).sum()) for j, g in enumerate(geo_text)])[:1]:
        problems.append(f"{ids[i]}: geo list and geo_nodes differ in length")
    flat_geo = [z for g in geo_text for z in g]
    if any(len(z) != 5 or not z.isdigit() for z in flat_geo):
        problems.append("geo: every ZIP must be a 5-character digit string")
    mask = geo_nodes >= 0
    if sorted(flat_geo) != sorted(value[geo_nodes[mask]].tolist()):
        problems.append("geo: ZIP strings do not match the values of geo_nodes")

    allnodes = np.concatenate([per_mod[m] for m in MODALITIES], axis=1)
    valid = allnodes >= 0
    k = valid.sum(1)
    pairs = k * (k - 1) // 2
    safe = np.where(valid, allnodes, 0)
    pos = np.zeros(len(k), dtype=np.int64)
    neg = np.zeros(len(k), dtype=np.int64)
    width = allnodes.shape[1]
    for i in range(width):
        for j in range(i + 1, width):
            both = valid[:, i] & valid[:, j]
            e = s[safe[:, i], safe[:, j]] * both
            pos += e == 1
            neg += e == -1
    dup = np.array([len(set(r[r >= 0].tolist())) != int((r >= 0).sum()) for r in allnodes])
    if dup.any():
        problems.append(f"{ids[dup][0]}: a node appears twice in one sample")
    with np.errstate(divide="ignore", invalid="ignore"):
        fp, fn = pos / pairs, neg / pairs
    stored_p = np.asarray(samples["pos_frac"])
    stored_n = np.asarray(samples["neg_frac"])
    mism = (fp != stored_p) | (fn != stored_n)
    if mism.any():
        i = int(np.flatnonzero(mism)[0])
        problems.append(
            f"{mism.sum()} samples' stored fractions differ from the graph, e.g. {ids[i]}: "
            f"stored ({stored_p[i]}, {stored_n[i]}) recomputed ({fp[i]}, {fn[i]})"
        )

    labels = np.asarray(samples["label"])
    inside = np.zeros((len(labels), 3), dtype=bool)
    for lbl, c in CLASS_INDEX.items():
        (plo, phi), (nlo, nhi) = ranges[lbl]["pos_frac_range"], ranges[lbl]["neg_frac_range"]
        inside[:, c] = (fp >= plo) & (fp <= phi) & (fn >= nlo) & (fn <= nhi)
    bad_lbl = ~np.isin(labels, (0, 1, 2))
    if bad_lbl.any():
        problems.append(f"label: {labels[bad_lbl][:3].tolist()} not in 0/1/2")
    else:
        wrong = ~inside[np.arange(len(labels)), labels]
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            problems.append(
                f"{wrong.sum()} labels disagree with the ranges, e.g. {ids[i]}: label {labels[i]} "
                f"but pos_frac={fp[i]:.4f} neg_frac={fn[i]:.4f}"
            )
    if problems:
        raise VerificationError("; ".join(problems))

    counts = {
        sp: {lbl: int(((split == sp) & (labels == c)).sum()) for lbl, c in CLASS_INDEX.items()}
        for sp in ("train", "test")
    }
    if counts != manifest.get("counts"):
        raise VerificationError(
            f"counts per split and class {counts} differ from manifest {manifest.get('counts')}"
        )
    return VerifyReport(len(labels), counts, int((inside.sum(1) > 1).sum()))
