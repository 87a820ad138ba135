"""Recommendations: hold a campaign's brand and audience, find the platform, creative and geo set that
the model expects to do best.

Every combination of the candidate platforms, creatives and geo sets is scored (texts embedded once,
vectors assembled per combination, scored in batches); the best ``top`` by the objective are returned
with their probabilities and per-modality explanations.

Objectives: ``positive`` ranks by P(Positive); ``expected-tier`` by the expected tier
``P(Average) + 2 P(Positive)`` (0 = surely Negative, 2 = surely Positive).

Candidates come from a file (YAML or JSON
``{platforms: [...], creatives: [...], geo: [[ZIP, ...], "ZIP;ZIP"]}``, each key optional) or from
the values seen in training, which ``campaignlab train`` records in the model folder's
``candidates.json`` (every platform; the most frequent creatives and geo sets, up to
:data:`MAX_TRAINING_CANDIDATES` each, with how often each was Positive).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from campaignlab import LABEL_NAMES
from campaignlab.config import StrictModel
from campaignlab.errors import ConfigError, DataError

CANDIDATES_FILE = "candidates.json"
MAX_TRAINING_CANDIDATES = 40
"""Creatives and geo sets kept from training (12 platforms x 40 x 40 = 19,200 combinations)."""
OBJECTIVES = ("positive", "expected-tier")
Objective = Literal["positive", "expected-tier"]


@dataclass
class Candidates:
    """What may vary: candidate platforms, creatives and geo sets (each deduplicated, order kept)."""

    platforms: list[str]
    creatives: list[str]
    geo: list[list[str]]
    positive_rate: dict[str, dict[str, float]] = field(default_factory=dict)
    """Training share of Positive campaigns per value (``platform``/``creative``/``geo`` -> key -> rate)."""

    @property
    def combinations(self) -> int:
        return len(self.platforms) * len(self.creatives) * len(self.geo)

    def check(self, where: str) -> Candidates:
        for name in ("platforms", "creatives", "geo"):
            if not getattr(self, name):
                raise DataError(f"{where}: {name}: got no candidate -> expected at least one")
        return self


def geo_key(zips: list[str]) -> str:
    return ";".join(zips)


def read_candidates(path: str | Path, fallback: Candidates | None = None) -> Candidates:
    """Candidates from a YAML/JSON file; keys it does not give come from ``fallback`` (training)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise DataError(f"--candidates {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as err:
        raise DataError(f"--candidates {str(p)!r} is not YAML/JSON: {err}") from None
    return candidates_from_data(data, f"--candidates {str(p)!r}", fallback)


def candidates_from_data(data: Any, where: str, fallback: Candidates | None = None) -> Candidates:
    """Candidates from a mapping ``{platforms, creatives, geo}`` (each optional given ``fallback``).

    Raises:
        DataError: naming ``where``, the key and what was expected.
    """
    from campaignlab.ingest.contract import ParseOptions, parse_geo

    if not isinstance(data, dict):
        raise DataError(f"{where}: expected a mapping with platforms, creatives, geo")
    unknown = sorted(set(data) - {"platforms", "creatives", "geo"})
    if unknown:
        raise DataError(f"{where}: {unknown[0]}: unknown key -> expected platforms, creatives, geo")

    def texts(key: str) -> list[str] | None:
        if key not in data:
            return None
        v = data[key]
        if not isinstance(v, list) or not all(isinstance(t, str) and t.strip() for t in v):
            raise DataError(f"{where}: {key}: expected a list of non-empty texts")
        return list(dict.fromkeys(t.strip() for t in v))

    geo = None
    if "geo" in data:
        if not isinstance(data["geo"], list):
            raise DataError(f"{where}: geo: expected a list of ZIP lists (or 'ZIP;ZIP' strings)")
        geo = []
        for i, g in enumerate(data["geo"]):
            try:
                zs = parse_geo(g, ParseOptions())
            except ValueError as err:
                raise DataError(f"{where}: geo[{i}]: {err}") from None
            if zs not in geo:
                geo.append(zs)
    platforms, creatives = texts("platforms"), texts("creatives")
    if fallback is None and None in (platforms, creatives, geo):
        missing = [
            k for k, v in (("platforms", platforms), ("creatives", creatives), ("geo", geo)) if v is None
        ]
        raise DataError(
            f"{where} gives no {missing} and the model folder records no training values "
            f"({CANDIDATES_FILE}): list them"
        )
    fb = fallback or Candidates([], [], [])
    return Candidates(
        platforms if platforms is not None else fb.platforms,
        creatives if creatives is not None else fb.creatives,
        geo if geo is not None else fb.geo,
        fb.positive_rate,
    ).check(where)


def training_candidates(model_dir: str | Path) -> Candidates | None:
    """The values seen in training that ``campaignlab train`` recorded (None if it could not)."""
    from campaignlab.io import read_json

    path = Path(model_dir) / CANDIDATES_FILE
    if not path.is_file():
        return None
    d = read_json(path)
    return Candidates(
        list(d["platforms"]), list(d["creatives"]), [list(g) for g in d["geo"]], d.get("positive_rate", {})
    )


def write_training_candidates(model_dir: str | Path, features_dir: str | Path, seed: int = 0) -> bool:
    """Record the values seen in the training split (for ``recommend`` without ``--candidates``).

    Reads the dataset folder the features manifest names; returns False (nothing written) when it is
    not readable here.
    """
    import pyarrow.parquet as pq

    from campaignlab.io import read_json, write_json

    manifest = read_json(Path(features_dir) / "manifest.json")
    dataset = Path(str(manifest.get("dataset", ""))) if isinstance(manifest, dict) else None
    if not dataset or not (dataset / "samples.parquet").is_file():
        return False
    cols = ["split", "label", "platform", "creative", "geo"]
    try:
        t = pq.read_table(dataset / "samples.parquet", columns=cols).to_pydict()
    except (OSError, ValueError, KeyError):
        return False
    train = [i for i, s in enumerate(t["split"]) if s == "train"]
    pos = {i: t["label"][i] == 2 for i in train}
    rates: dict[str, dict[str, float]] = {}
    picked: dict[str, list[str]] = {}
    for key, values in (("platform", t["platform"]), ("creative", t["creative"]), ("geo", t["geo"])):
        counts: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        for i in train:
            k = geo_key([str(z) for z in values[i]]) if key == "geo" else str(values[i])
            counts[k] += 1
            hits[k] += int(pos[i])
        # Most frequent first; ties in first-seen order (deterministic for the same data).
        order = sorted(counts, key=lambda k: -counts[k])
        keep = order if key == "platform" else order[:MAX_TRAINING_CANDIDATES]
        picked[key] = keep
        # Laplace-smoothed share of Positive campaigns: the "most often Positive in training" baseline.
        rates[key] = {k: (hits[k] + 1) / (counts[k] + 3) for k in keep}
    write_json(
        Path(model_dir) / CANDIDATES_FILE,
        {
            "source": str(dataset),
            "train_rows": len(train),
            "platforms": picked["platform"],
            "creatives": picked["creative"],
            "geo": [k.split(";") for k in picked["geo"]],
            "positive_rate": rates,
        },
    )
    return True


# --- ranking --------------------------------------------------------------------------------------


def objective_score(proba: np.ndarray, objective: str) -> np.ndarray:
    """(N,) score of each row's probabilities under ``objective``."""
    if objective == "positive":
        return proba[:, 2]
    if objective == "expected-tier":
        return proba[:, 1] + 2 * proba[:, 2]
    raise ConfigError(f"objective: got {objective!r} -> expected one of {list(OBJECTIVES)}")


@dataclass
class Grid:
    """Embedded candidates: every part's vectors once, combinations as index triples."""

    audience: np.ndarray  # (1, D_a)
    brand: np.ndarray  # (1, D_b)
    platform: np.ndarray  # (P, D_p)
    platform_code: np.ndarray  # (P,)
    creative: np.ndarray  # (C, D_c)
    geo: np.ndarray  # (G, D_g)

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.platform), len(self.creative), len(self.geo)

    def inputs(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Model inputs of combinations ``flat`` (indices into the P x C x G grid, C order)."""
        p, c, g = np.unravel_index(flat, self.shape)
        n = len(flat)
        return {
            "audience": np.broadcast_to(self.audience, (n, self.audience.shape[1])),
            "brand": np.broadcast_to(self.brand, (n, self.brand.shape[1])),
            "creative": self.creative[c],
            "geo": self.geo[g],
            "platform": self.platform[p],
            "platform_code": self.platform_code[p],
        }


def embed_grid(predictor: Any, brand: str, audience: str, cands: Candidates) -> Grid:
    """Embed the fixed parts and every candidate once with the model's recipe."""
    emb = predictor.embedder
    vecs = emb.encode([audience, brand, *cands.platforms, *cands.creatives])
    n_p = len(cands.platforms)
    codes, _ = emb.platform_codes(cands.platforms)
    return Grid(
        audience=vecs[0:1],
        brand=vecs[1:2],
        platform=vecs[2 : 2 + n_p],
        platform_code=codes,
        creative=vecs[2 + n_p :],
        geo=emb.pool_geo(cands.geo),
    )


def score_grid(
    predictor: Any, grid: Grid, objective: str, chunk: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (P*C*G, 3) and objective scores (P*C*G,) of every combination."""
    total = int(np.prod(grid.shape))
    proba = np.zeros((total, 3))
    for s in range(0, total, chunk):
        flat = np.arange(s, min(total, s + chunk))
        with predictor.lock:
            proba[flat] = predictor.estimator.predict_proba(grid.inputs(flat))
    return proba, objective_score(proba, objective)


class RecommendConfig(StrictModel):
    """Config of ``campaignlab recommend``.

    Attributes:
        model: model folder (exactly one of ``model`` and ``registry``).
        registry: registry reference ``R[:alias]``.
        brand: the brand text held fixed.
        audience: the audience text held fixed.
        candidates: candidates file (default: the values seen in training).
        top: how many recommendations.
        objective: ``positive`` or ``expected-tier``.
        max_combinations: refuse a larger grid (a mistake, or a job for a smaller candidate list).
        explain: explain each recommendation.
        cache_dir: embedding cache folder.
        threads: CPU threads.
    """

    model: Path | None = None
    registry: str | None = None
    brand: str = Field(min_length=1, max_length=20_000)
    audience: str = Field(min_length=1, max_length=20_000)
    candidates: Path | None = None
    top: int = Field(5, ge=1, le=1000)
    objective: Objective = "positive"
    max_combinations: int = Field(100_000, ge=1)
    explain: bool = True
    cache_dir: Path | None = None
    threads: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_model(self) -> RecommendConfig:
        if (self.model is None) == (self.registry is None):
            given = "both" if self.model is not None else "neither"
            raise ValueError(f"model/registry: got {given} -> expected exactly one of --model and --registry")
        if not self.brand.strip() or not self.audience.strip():
            raise ValueError("brand/audience: got an empty text -> expected a description")
        return self


def candidates_for(predictor: Any, path: str | Path | None) -> Candidates:
    """The candidates to enumerate: the file's, completed by (or else) the training values."""
    trained = training_candidates(predictor.model_dir)
    if path is not None:
        return read_candidates(path, trained)
    if trained is None:
        raise DataError(
            f"model {str(predictor.model_dir)!r} records no training values ({CANDIDATES_FILE}, written by "
            "`campaignlab train` when it can read the dataset): pass --candidates FILE"
        )
    return trained.check(str(Path(predictor.model_dir) / CANDIDATES_FILE))


def recommend(
    predictor: Any,
    brand: str,
    audience: str,
    cands: Candidates,
    *,
    top: int = 5,
    objective: str = "positive",
    explain_: bool = True,
    max_combinations: int = 100_000,
) -> dict[str, Any]:
    """Rank every candidate combination for a brand and audience; return the best ``top``."""
    from campaignlab.serving.campaigns import Campaigns

    objective_score(np.zeros((1, 3)), objective)  # validates the objective before any work
    if cands.combinations > max_combinations:
        raise DataError(
            f"candidates: got {len(cands.platforms)} platforms x {len(cands.creatives)} creatives x "
            f"{len(cands.geo)} geo sets = {cands.combinations} combinations -> expected at most "
            f"{max_combinations} (shorten the lists or raise max_combinations)"
        )
    t0 = time.perf_counter()
    grid = embed_grid(predictor, brand.strip(), audience.strip(), cands)
    proba, score = score_grid(predictor, grid, objective)
    k = min(top, len(score))
    best = np.argsort(-score, kind="stable")[:k]
    p, c, g = np.unravel_index(best, grid.shape)
    chosen = Campaigns(
        row=list(range(k)),
        campaign_id=[f"recommendation-{i + 1}" for i in range(k)],
        audience=[audience.strip()] * k,
        brand=[brand.strip()] * k,
        creative=[cands.creatives[i] for i in c],
        platform=[cands.platforms[i] for i in p],
        geo=[cands.geo[i] for i in g],
        source=[""] * k,
    )
    # Re-score the winners the ordinary way: the same probabilities as /predict, plus explanations.
    scores = predictor.predict(chosen, explain_=explain_)
    recs = []
    for i, rec in enumerate(scores.records(chosen.campaign_id, chosen.platform)):
        rec.pop("campaign_id")
        recs.append(
            {
                "rank": i + 1,
                "platform": chosen.platform[i],
                "creative": chosen.creative[i],
                "geo": chosen.geo[i],
                "score": float(objective_score(scores.proba[i : i + 1], objective)[0]),
                **rec,
            }
        )
    return {
        "objective": objective,
        "brand": brand.strip(),
        "audience": audience.strip(),
        "combinations": len(score),
        "candidates": {
            "platforms": len(cands.platforms),
            "creatives": len(cands.creatives),
            "geo": len(cands.geo),
        },
        "score_distribution": {
            "best": float(score.max()),
            "median": float(np.median(score)),
            "share_predicted_positive": float((proba.argmax(1) == 2).mean()),
        },
        "recommendations": recs,
        "seconds": round(time.perf_counter() - t0, 3),
        "tiers": list(LABEL_NAMES),
    }
