"""Batch prediction from raw campaigns (``campaignlab predict --campaigns``).

Output folder (written atomically):

* ``predictions.parquet``: ``campaign_id`` string, ``label`` int8 (0 Negative, 1 Average, 2 Positive),
  ``tier`` string, ``prob_negative``, ``prob_average``, ``prob_positive`` float64, one
  ``attribution_<modality>`` float64 per modality (how much it moved the predicted tier's probability,
  see :mod:`campaignlab.serving.explain`), ``attribution_reference`` float64 (the predicted tier's
  probability at the reference campaign), ``unknown_platform`` bool;
* ``errors.parquet``: every input row that could not be scored, with the columns of ``campaignlab
  ingest``'s ``rejected.parquet`` (``source``, ``row`` (1-based record number in it), ``line``,
  ``campaign_id``, ``field``, ``value``, ``reason``, ``message``, ``problems``; reasons in
  :data:`campaignlab.serving.campaigns.REASONS`); predictions + errors = input rows;
* ``summary.json``: the model and its recipe, counts, the global attribution summary (mean absolute
  attribution per modality, overall and per predicted tier), seconds, the resolved config and versions;
* ``attribution.png``: the global summary as a bar chart.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from campaignlab import LABEL_NAMES, MODALITIES
from campaignlab.config import StrictModel
from campaignlab.errors import DataError
from campaignlab.serving.explain import DEFAULT_SAMPLES

PREDICTIONS_FILE = "predictions.parquet"
ERRORS_FILE = "errors.parquet"
SUMMARY_FILE = "summary.json"
PLOT_FILE = "attribution.png"
Progress = Any


class PredictCampaignsConfig(StrictModel):
    """Config of ``campaignlab predict --campaigns``.

    Attributes:
        model: model folder (exactly one of ``model`` and ``registry``).
        registry: registry reference ``R[:alias]`` (alias default ``champion``).
        campaigns: raw campaigns as ``campaignlab ingest`` reads them (a CSV/Parquet/JSON Lines file, a
            folder of them, ``gs://BUCKET/PATH``, ``bq://PROJECT.DATASET.TABLE``), or a dataset folder
            written by ``ingest``/``generate``.
        out: output folder (replaced atomically).
        mapping: ``ingest``'s mapping file (column names, label_values, date_format, zip_zero_pad), or
            its keys as a dict (a pipeline parameter; on the command line a JSON object).
        encoding: text encoding of CSV/JSON files (default: detected).
        explain: compute per-modality attributions.
        explain_samples: Shapley permutations for the networks' attributions.
        batch_size: campaigns embedded and scored at a time.
        cache_dir: embedding cache folder (default: the one ``campaignlab embed`` uses).
        use_cache: False reads and writes no embedding cache.
        pdfm: PDFM table, for a model whose folder does not carry its geo table.
        threads: CPU threads (None: every CPU).
        seed: seed of the attributions' permutations.
    """

    model: Path | None = None
    registry: str | None = None
    campaigns: str = Field(min_length=1)
    out: Path
    mapping: Path | dict[str, Any] | None = None
    encoding: str | None = None
    explain: bool = True
    explain_samples: int = Field(DEFAULT_SAMPLES, ge=1, le=1000)
    batch_size: int = Field(2048, ge=1, le=1_000_000)
    cache_dir: Path | None = None
    use_cache: bool = True
    pdfm: Path | None = None
    threads: int | None = Field(None, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _one_model(self) -> PredictCampaignsConfig:
        if (self.model is None) == (self.registry is None):
            given = "both" if self.model is not None else "neither"
            raise ValueError(f"model/registry: got {given} -> expected exactly one of --model and --registry")
        return self


def predictions_table(campaign_id: list[str], scores: Any) -> Any:
    """The ``predictions.parquet`` table (see the module docstring)."""
    import pyarrow as pa

    n = len(campaign_id)
    proba = np.asarray(scores.proba, np.float64).reshape(n, 3)
    cols: dict[str, Any] = {
        "campaign_id": pa.array(campaign_id, pa.string()),
        "label": pa.array(np.asarray(scores.label, np.int8), pa.int8()),
        "tier": pa.array([LABEL_NAMES[int(c)] for c in scores.label], pa.string()),
        **{f"prob_{name}": pa.array(proba[:, i], pa.float64()) for i, name in enumerate(LABEL_NAMES)},
    }
    attr = scores.attribution if scores.attribution is not None else np.full((n, len(MODALITIES)), np.nan)
    ref = scores.reference if scores.reference is not None else np.full(n, np.nan)
    for i, m in enumerate(MODALITIES):
        cols[f"attribution_{m}"] = pa.array(np.asarray(attr, np.float64).reshape(n, -1)[:, i], pa.float64())
    cols["attribution_reference"] = pa.array(np.asarray(ref, np.float64), pa.float64())
    cols["unknown_platform"] = pa.array(np.asarray(scores.unknown_platform, bool), pa.bool_())
    return pa.table(cols)


def predict_campaigns(cfg: PredictCampaignsConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Score every campaign of ``cfg.campaigns``; write the output folder; return ``summary.json``."""
    import campaignlab
    from campaignlab.io import atomic_dir, check_writable_parent, write_json, write_parquet
    from campaignlab.models.base import versions
    from campaignlab.serving.campaigns import errors_table, not_scored, read_to_score
    from campaignlab.serving.explain import attribution_plot, global_summary
    from campaignlab.serving.models import resolve_model
    from campaignlab.serving.predictor import Predictor, Scores

    t0 = time.perf_counter()
    check_writable_parent(cfg.out)
    if cfg.out.exists() and not cfg.out.is_dir():
        raise DataError(f"--out {str(cfg.out)!r} is a file; expected a folder for predictions and errors")
    resolved = resolve_model(cfg.model, cfg.registry)
    read = read_to_score(cfg.campaigns, cfg.mapping, encoding=cfg.encoding)
    campaigns, rejected = read.campaigns, [read.rejected]
    predictor = Predictor(
        resolved.path, threads=cfg.threads, explain_samples=cfg.explain_samples, seed=cfg.seed,
        cache_dir=cfg.cache_dir, use_cache=cfg.use_cache, persist=True, pdfm=cfg.pdfm,
    )  # fmt: skip
    t_load = time.perf_counter()
    parts: list[Scores] = []
    ids: list[str] = []
    platforms: list[str] = []
    n = len(campaigns)
    for start in range(0, n, cfg.batch_size):
        chunk = campaigns.take(range(start, min(n, start + cfg.batch_size)))
        try:
            scores = predictor.predict(chunk, explain_=cfg.explain)
        except (ValueError, RuntimeError, FloatingPointError) as err:
            # A chunk the model cannot score is reported row by row, never dropped.
            rejected.append(not_scored(chunk, f"the model could not score it: {err}"))
            continue
        parts.append(scores)
        ids += chunk.campaign_id
        platforms += chunk.platform
        if progress is not None:
            progress(f"scoring with {predictor.name}", min(n, start + cfg.batch_size), n)
    if parts:
        scores = Scores(
            np.concatenate([p.label for p in parts]),
            np.concatenate([p.proba for p in parts]),
            np.concatenate([p.attribution for p in parts]) if cfg.explain else None,
            np.concatenate([p.reference for p in parts]) if cfg.explain else None,
            np.concatenate([p.unknown_platform for p in parts]),
        )
    else:
        empty = np.zeros(0)
        scores = Scores(empty.astype(np.int8), np.zeros((0, 3)), None, None, empty.astype(bool))
    errors = pd.concat([r for r in rejected if len(r)] or rejected[:1], ignore_index=True)
    t_score = time.perf_counter()
    table = predictions_table(ids, scores)
    summary: dict[str, Any] = {
        "model": {"type": predictor.name, **resolved.source, "path": str(resolved.path)},
        "recipe": predictor.recipe.describe(),
        "campaigns": read.info,
        "input_rows": read.info["rows"],
        "predicted": len(ids),
        "errors": len(errors),
        "errors_by_reason": {str(k): int(v) for k, v in errors["reason"].value_counts().sort_index().items()},
        "predicted_tiers": {name: int((scores.label == c).sum()) for c, name in enumerate(LABEL_NAMES)},
        "unknown_platforms": sorted(
            {p for p, u in zip(platforms, scores.unknown_platform, strict=True) if u}
        ),
        "embedding": dict(predictor.embedder.stats),
        "attribution": (
            {"method": _method(predictor), **global_summary(scores.attribution, scores.label)}
            if scores.attribution is not None
            else None
        ),
        "seconds": {
            "load": round(t_load - t0, 3),
            "score": round(t_score - t_load, 3),
            "total": round(time.perf_counter() - t0, 3),
        },
        "config": cfg.model_dump(mode="json"),
        "versions": {**versions(), "campaignlab": campaignlab.__version__},
    }
    with atomic_dir(cfg.out) as tmp:
        write_parquet(table, tmp / PREDICTIONS_FILE)
        write_parquet(errors_table(errors), tmp / ERRORS_FILE)
        if summary["attribution"] is not None and len(ids):
            title = f"{predictor.name}: per-modality attribution over {len(ids)} campaigns"
            attribution_plot(summary["attribution"], tmp / PLOT_FILE, title)
        write_json(tmp / SUMMARY_FILE, summary)
    return summary


def _method(predictor: Any) -> str:
    return "lightgbm pred_contrib" if predictor.name == "hierarchical_lgbm" else "captum ShapleyValueSampling"
