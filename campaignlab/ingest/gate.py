"""The data-validation gate of the retraining pipeline: is a new snapshot fit to train a challenger on?

It compares a newly ingested dataset (and its features) with the **reference** of the champion's
training data (written at registration by :func:`build_reference`: counts, vocabularies and a seeded
sample of feature vectors) and checks, each against a threshold of :class:`GateConfig`:

* ``schema``: the dataset follows the contract, is labelled, has both splits and every class in train,
  and its feature dimensions match the reference's; fails on any problem.
* ``rejected_share``: rejected rows / rows read at ingestion; fails above ``max_rejected_share``.
* ``label_shift``: total variation distance between the class distributions; fails above
  ``max_label_shift``.
* ``new_platforms``: share of new rows whose platform the champion never saw; fails above
  ``max_new_platform_share``.
* ``platform_shift``: total variation distance between the platform distributions; fails above
  ``max_platform_shift``.
* ``embedding_drift.<modality>``: cross-validated ROC AUC of a classifier telling reference vectors from
  new ones (0.5: indistinguishable); fails above ``max_embedding_auc``.

The result (``gate.json``: every check, its value, threshold and verdict) and a page people read
(``report.html`` with ``gate.png``) are written to the output folder. ``passed`` is false when any
check fails, unless ``on_drift`` is ``warn`` (the failures are then reported as allowed).
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from campaignlab import LABEL_NAMES, MODALITIES
from campaignlab.config import StrictModel
from campaignlab.errors import DataError
from campaignlab.io import atomic_dir, read_json, read_parquet, require_complete, write_json, write_parquet

PROFILE_JSON = "profile.json"
VECTORS_FILE = "vectors.parquet"
GATE_JSON = "gate.json"
REPORT_HTML = "report.html"
REPORT_PNG = "gate.png"


class GateConfig(StrictModel):
    """Thresholds of the data-validation gate (the ``gate:`` section of a retraining run config).

    Attributes:
        max_rejected_share: largest share of rejected rows at ingestion.
        max_label_shift: largest total variation distance between class distributions (0..1).
        max_new_platform_share: largest share of rows on platforms the champion never saw.
        max_platform_shift: largest total variation distance between platform distributions.
        max_embedding_auc: largest domain-classifier ROC AUC per modality (0.5 = no drift, 1 = disjoint).
        embedding_modalities: modalities whose embedding drift is checked.
        sample_rows: most rows per side used for the embedding check.
        on_drift: ``stop`` (a failed check fails the gate) or ``warn`` (report failed checks but pass:
            a deliberate override; never for a broken schema).
        seed: seed of the samples and the classifier's folds.
    """

    max_rejected_share: float = Field(0.05, ge=0, le=1)
    max_label_shift: float = Field(0.15, ge=0, le=1)
    max_new_platform_share: float = Field(0.10, ge=0, le=1)
    max_platform_shift: float = Field(0.25, ge=0, le=1)
    max_embedding_auc: float = Field(0.75, ge=0.5, le=1)
    embedding_modalities: list[str] = Field(default_factory=lambda: list(MODALITIES))
    sample_rows: int = Field(1000, ge=50)
    on_drift: Literal["stop", "warn"] = "stop"
    seed: int = 0


@dataclass
class Check:
    name: str
    value: float | None
    threshold: float | None
    passed: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
            "detail": self.detail,
        }


@dataclass
class GateResult:
    passed: bool
    checks: list[Check]
    allowed: bool = False
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def message(self) -> str:
        if not self.failed:
            return "data gate passed: every check within its threshold"
        lines = [f"data gate {'passed (drift allowed by the config)' if self.allowed else 'FAILED'}:"]
        lines += [f"  {c.name}: {c.detail}" for c in self.failed]
        return "\n".join(lines)


# --- reference -------------------------------------------------------------------------------


def _read_pair(dataset: Path, features: Path) -> tuple[pd.DataFrame, Any, dict[str, Any]]:
    from campaignlab.features.table import read_features

    require_complete(dataset, "dataset folder", needs=("samples.parquet",))
    samples = read_parquet(dataset / "samples.parquet").to_pandas()
    ftable, fmanifest = read_features(features)
    ids = ftable.column("sample_id").to_pylist()
    if ids != samples["sample_id"].tolist():
        raise DataError(
            f"features {str(features)!r} were not computed from dataset {str(dataset)!r} "
            "(sample_id rows differ)"
        )
    return samples, ftable, fmanifest


def _vector_sample(ftable: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    from campaignlab.features.table import modality_arrays

    return modality_arrays(ftable.take(rows))


def build_reference(
    dataset: str | Path, features: str | Path, out: str | Path, *, rows: int = 1000, seed: int = 0
) -> Path:
    """Write the gate's reference of a model's training data: counts, vocabularies, a vector sample.

    Args:
        dataset: the dataset folder the model was trained on.
        features: its features folder.
        out: folder to write (``profile.json``, ``vectors.parquet``).
        rows: most training rows kept in the vector sample (seeded).
        seed: the sample's seed.
    """
    import pyarrow as pa

    from campaignlab.features.table import vector_column

    dataset, features, out = Path(dataset), Path(features), Path(out)
    samples, ftable, fmanifest = _read_pair(dataset, features)
    train = np.flatnonzero(samples["split"].to_numpy() == "train")
    if len(train) == 0:
        raise DataError(f"dataset {str(dataset)!r} has no training rows")
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(train, size=min(rows, len(train)), replace=False))
    vecs = _vector_sample(ftable, pick)
    part = samples.iloc[train]
    manifest = read_json(dataset / "manifest.json") if (dataset / "manifest.json").is_file() else {}
    profile = {
        "rows": len(train),
        "label_counts": {n: int((part["label"] == i).sum()) for i, n in enumerate(LABEL_NAMES)},
        "platform_counts": {str(k): int(v) for k, v in part["platform"].value_counts().sort_index().items()},
        "owner_counts": (
            {str(k): int(v) for k, v in part["owner"].value_counts().sort_index().items()}
            if "owner" in part
            else {}
        ),
        "source": manifest.get("source", {"uri": f"generator:{manifest.get('preset')}"}),
        "features": {k: fmanifest.get(k) for k in ("encoder", "model", "task_type", "dimensions")},
        "sample_rows": len(pick),
        "seed": seed,
    }
    table = pa.table(
        {
            "sample_id": pa.array(samples["sample_id"].iloc[pick].tolist(), pa.string()),
            "label": pa.array(samples["label"].iloc[pick].to_numpy(np.int8), pa.int8()),
            "platform": pa.array(samples["platform"].iloc[pick].tolist(), pa.string()),
            **{m: vector_column(vecs[m]) for m in MODALITIES},
        }
    )
    with atomic_dir(out) as tmp:
        write_json(tmp / PROFILE_JSON, profile)
        write_parquet(table, tmp / VECTORS_FILE)
    return out


# --- checks ----------------------------------------------------------------------------------


def tvd(a: dict[str, int], b: dict[str, int]) -> float:
    """Total variation distance between two count vectors over the union of their keys."""
    keys = sorted(set(a) | set(b))
    pa_ = np.array([a.get(k, 0) for k in keys], float)
    pb = np.array([b.get(k, 0) for k in keys], float)
    if pa_.sum() == 0 or pb.sum() == 0:
        return 1.0
    return float(0.5 * np.abs(pa_ / pa_.sum() - pb / pb.sum()).sum())


def domain_auc(ref: np.ndarray, new: np.ndarray, seed: int) -> float:
    """Cross-validated ROC AUC of a logistic regression telling ``ref`` rows from ``new`` rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.vstack([ref, new])
    y = np.r_[np.zeros(len(ref)), np.ones(len(new))]
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    p = cross_val_predict(clf, x, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def schema_problems(samples: pd.DataFrame) -> list[str]:
    from campaignlab.synth.dataset import SAMPLES_TEXT_COLUMNS

    problems = [f"column {c!r} missing" for c in SAMPLES_TEXT_COLUMNS if c not in samples]
    if problems:
        return problems
    if (samples["label"] < 0).any():
        problems.append("the dataset is unlabelled (ingested with --unlabelled)")
    for s in ("train", "test"):
        if not (samples["split"] == s).any():
            problems.append(f"no {s} rows")
    train = samples[samples["split"] == "train"]
    missing = [n for i, n in enumerate(LABEL_NAMES) if not (train["label"] == i).any()]
    if missing:
        problems.append(f"no {', '.join(missing)} campaign in the train split")
    return problems


def run_gate(dataset: str | Path, features: str | Path, reference: str | Path, cfg: GateConfig) -> GateResult:
    """Run every check (see the module docstring); nothing is written."""
    dataset, features, reference = Path(dataset), Path(features), Path(reference)
    if not (reference / PROFILE_JSON).is_file():
        raise DataError(
            f"reference {str(reference)!r} has no {PROFILE_JSON}: register the champion with its dataset and "
            "features (campaignlab models register ... --dataset DIR --features DIR)"
        )
    require_complete(reference, "gate reference folder", needs=(PROFILE_JSON, VECTORS_FILE))
    profile = read_json(reference / PROFILE_JSON)
    samples, ftable, fmanifest = _read_pair(dataset, features)
    manifest = read_json(dataset / "manifest.json") if (dataset / "manifest.json").is_file() else {}
    checks: list[Check] = []
    problems = schema_problems(samples)
    dims_ref = (profile.get("features") or {}).get("dimensions")
    if dims_ref and fmanifest.get("dimensions") != dims_ref:
        problems.append(
            f"feature dimensions {fmanifest.get('dimensions')} differ from the reference's {dims_ref}"
        )
    checks.append(Check("schema", float(len(problems)), 0.0, not problems, "; ".join(problems) or "ok"))

    share = float(manifest.get("rejected_share", 0.0))
    checks.append(
        Check(
            "rejected_share",
            share,
            cfg.max_rejected_share,
            share <= cfg.max_rejected_share,
            f"{100 * share:.2f}% of the rows were rejected at ingestion "
            f"(max {100 * cfg.max_rejected_share:g}%)",
        )
    )

    labelled = samples[samples["label"] >= 0]
    new_labels = {n: int((labelled["label"] == i).sum()) for i, n in enumerate(LABEL_NAMES)}
    shift = tvd(profile["label_counts"], new_labels)

    def shares(c: dict[str, int]) -> str:
        t = max(sum(c.values()), 1)
        return "/".join(f"{100 * c.get(n, 0) / t:.0f}" for n in LABEL_NAMES)

    checks.append(
        Check(
            "label_shift",
            round(shift, 4),
            cfg.max_label_shift,
            shift <= cfg.max_label_shift,
            f"class shares (neg/avg/pos %) {shares(profile['label_counts'])} -> {shares(new_labels)}; "
            f"distance {shift:.3f} (max {cfg.max_label_shift:g})",
        )
    )

    new_plat = {str(k): int(v) for k, v in samples["platform"].value_counts().items()}
    unseen = {k: v for k, v in new_plat.items() if k not in profile["platform_counts"]}
    unseen_share = sum(unseen.values()) / max(len(samples), 1)
    top = ", ".join(
        f"{k!r} {100 * v / len(samples):.0f}%" for k, v in sorted(unseen.items(), key=lambda kv: -kv[1])[:5]
    )
    checks.append(
        Check(
            "new_platforms",
            round(unseen_share, 4),
            cfg.max_new_platform_share,
            unseen_share <= cfg.max_new_platform_share,
            (
                f"platforms the champion never saw take {100 * unseen_share:.1f}% of the rows ({top})"
                if unseen
                else "no platform the champion never saw"
            )
            + f" (max {100 * cfg.max_new_platform_share:g}%)",
        )
    )
    pshift = tvd(profile["platform_counts"], new_plat)
    checks.append(
        Check(
            "platform_shift",
            round(pshift, 4),
            cfg.max_platform_shift,
            pshift <= cfg.max_platform_shift,
            f"platform distribution distance {pshift:.3f} (max {cfg.max_platform_shift:g})",
        )
    )

    aucs: dict[str, float] = {}
    if not any("dimensions" in p for p in problems):
        ref = read_parquet(reference / VECTORS_FILE)
        from campaignlab.features.table import modality_arrays

        ref_vecs = modality_arrays(ref, cfg.embedding_modalities)
        rng = np.random.default_rng(cfg.seed)
        n = len(samples)
        pick = np.sort(rng.choice(n, size=min(cfg.sample_rows, n), replace=False))
        new_vecs = modality_arrays(ftable.take(pick), cfg.embedding_modalities)
        for m in cfg.embedding_modalities:
            r = ref_vecs[m][: cfg.sample_rows]
            auc = domain_auc(r, new_vecs[m], cfg.seed)
            aucs[m] = auc
            checks.append(
                Check(
                    f"embedding_drift.{m}",
                    round(auc, 4),
                    cfg.max_embedding_auc,
                    auc <= cfg.max_embedding_auc,
                    f"{m}: a classifier tells new from reference vectors with ROC AUC {auc:.3f} "
                    f"(0.5 = indistinguishable; max {cfg.max_embedding_auc:g})",
                )
            )
    ok = all(c.passed for c in checks)
    summary = {
        "reference": {
            "rows": profile["rows"],
            "label_counts": profile["label_counts"],
            "platform_counts": profile["platform_counts"],
            "source": profile.get("source"),
        },
        "new": {
            "rows": len(samples),
            "label_counts": new_labels,
            "platform_counts": new_plat,
            "source": manifest.get("source"),
        },
        "embedding_auc": aucs,
    }
    schema_ok = checks[0].passed
    return GateResult(
        passed=ok or (cfg.on_drift == "warn" and schema_ok),
        checks=checks,
        allowed=not ok and cfg.on_drift == "warn" and schema_ok,
        summary=summary,
    )


# --- report ----------------------------------------------------------------------------------


def gate_png(result: GateResult, cfg: GateConfig) -> bytes:
    from campaignlab.evaluation.plots import CLASS_COLOURS, _pyplot

    plt = _pyplot()
    ref, new = result.summary["reference"], result.summary["new"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), dpi=90)
    ax = axes[0]
    for j, (side, d) in enumerate((("champion's data", ref), ("new data", new))):
        tot = max(sum(d["label_counts"].values()), 1)
        vals = [d["label_counts"].get(n, 0) / tot for n in LABEL_NAMES]
        ax.bar(
            np.arange(3) + 0.4 * j,
            vals,
            0.4,
            color=[CLASS_COLOURS[i] for i in range(3)],
            alpha=1.0 if j == 0 else 0.5,
            edgecolor="black",
            label=side,
        )
    ax.set_xticks(np.arange(3) + 0.2, LABEL_NAMES)
    ax.set_title("class shares (dark: champion's data, light: new)", fontsize=10)
    ax = axes[1]
    plats = sorted(set(ref["platform_counts"]) | set(new["platform_counts"]))
    for j, d in enumerate((ref, new)):
        tot = max(sum(d["platform_counts"].values()), 1)
        ax.barh(
            np.arange(len(plats)) + 0.4 * j,
            [d["platform_counts"].get(p, 0) / tot for p in plats],
            0.4,
            label=["champion's data", "new data"][j],
        )
    ax.set_yticks(np.arange(len(plats)) + 0.2, plats, fontsize=7)
    ax.set_title("platform shares", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[2]
    aucs = result.summary["embedding_auc"]
    if aucs:
        colours = ["#2ca02c" if v <= cfg.max_embedding_auc else "#d62728" for v in aucs.values()]
        ax.bar(list(aucs), list(aucs.values()), color=colours)
        ax.axhline(cfg.max_embedding_auc, ls="--", color="black", lw=1)
        ax.set_ylim(0.4, 1.0)
    ax.set_title("embedding drift: domain-classifier ROC AUC", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.98, top=0.9, bottom=0.1, wspace=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def report_html(result: GateResult, cfg: GateConfig, png: bytes) -> str:
    verdict = (
        "PASSED"
        if result.passed and not result.allowed
        else ("PASSED (drift allowed by the config)" if result.passed else "FAILED: the run stops here")
    )
    colour = "#2a2" if result.passed and not result.allowed else ("#c80" if result.passed else "#c00")
    rows = "".join(
        f"<tr style='color:{'inherit' if c.passed else '#c00'}'><td>{html.escape(c.name)}</td>"
        f"<td>{'' if c.value is None else c.value}</td><td>{'' if c.threshold is None else c.threshold}</td>"
        f"<td>{'ok' if c.passed else 'FAIL'}</td><td>{html.escape(c.detail)}</td></tr>"
        for c in result.checks
    )
    src_ref = html.escape(str((result.summary["reference"].get("source") or {}).get("uri")))
    src_new = html.escape(str((result.summary["new"].get("source") or {}).get("uri")))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Data gate</title><style>"
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}</style></head><body>"
        f"<h1>Data gate: <span style='color:{colour}'>{verdict}</span></h1>"
        f"<p>New data: {src_new} ({result.summary['new']['rows']} rows) against the champion's "
        "training data: "
        f"{src_ref} ({result.summary['reference']['rows']} rows).</p>"
        "<table><tr><th>check</th><th>value</th><th>threshold</th><th>verdict</th><th>detail</th></tr>"
        f"{rows}</table>"
        f"<p><img alt='gate' src='data:image/png;base64,{base64.b64encode(png).decode()}'></p>"
        f"<p>Thresholds (run config <code>gate:</code>): {html.escape(str(cfg.model_dump()))}</p>"
        "</body></html>\n"
    )


def write_gate(result: GateResult, cfg: GateConfig, out: str | Path) -> Path:
    """Write ``gate.json``, ``gate.png`` and ``report.html`` into ``out`` (replaced atomically)."""
    out = Path(out)
    with atomic_dir(out) as tmp:
        png = gate_png(result, cfg)
        (tmp / REPORT_PNG).write_bytes(png)
        (tmp / REPORT_HTML).write_text(report_html(result, cfg, png))
        write_json(
            tmp / GATE_JSON,
            {
                "passed": result.passed,
                "allowed_drift": result.allowed,
                "checks": [c.to_json() for c in result.checks],
                "summary": result.summary,
                "config": cfg.model_dump(),
            },
        )
    return out
