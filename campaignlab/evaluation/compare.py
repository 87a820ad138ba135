"""Compare evaluated models by macro F1, pick the best, and decide a champion/challenger promotion.

Inputs are evaluation folders written by ``campaignlab evaluate`` (``metrics.json`` with ``macro_f1``,
``per_class_f1``, ``weighted_f1``, ``accuracy``). The output folder holds:

| file | contents |
|---|---|
| ``best.json`` | ``best``, ``macro_f1``, ranked ``candidates``, ``champion``, ``margin``, ``promote`` |
| ``summary.md`` | the ranking as a Markdown table (a KFP Markdown artifact) |
| ``summary.html`` | the same table and the bar chart embedded (a KFP HTML artifact) |
| ``comparison.png`` | macro F1 and per-class F1 per candidate, champion dashed |

The winning model folder is copied to ``model_out`` (the pipeline's "registered" best model). With
a champion, ``promote`` is true only if the best candidate's macro F1 beats the champion's by more
than ``margin``; ties on macro F1 go to the candidate given first (stable, deterministic).
"""

from __future__ import annotations

import base64
import html
import shutil
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from campaignlab import LABEL_NAMES
from campaignlab.config import StrictModel
from campaignlab.errors import ConfigError, DataError
from campaignlab.io import atomic_dir, atomic_write_bytes, read_json, require_complete, write_json


class CompareConfig(StrictModel):
    """What ``campaignlab compare`` compares.

    Attributes:
        metrics: candidate name -> evaluation folder (with ``metrics.json``), in priority order.
        models: candidate name -> model folder; the best one is copied to ``model_out``.
        out: folder to write best.json, summary.md, summary.html and comparison.png into.
        model_out: where to copy the winning model folder (optional).
        champion: evaluation folder of the current champion (optional).
        margin: macro-F1 points the best candidate must beat the champion by to be promoted.
        promote_out: file to write ``true``/``false`` into (a KFP output parameter).
        markdown_out: also copy ``summary.md`` here (a KFP Markdown artifact).
        html_out: also copy ``summary.html`` here (a KFP HTML artifact).
    """

    metrics: dict[str, Path] = Field(min_length=1)
    models: dict[str, Path] = Field(default_factory=dict)
    out: Path
    model_out: Path | None = None
    champion: Path | None = None
    margin: float = Field(default=0.0, ge=0.0, le=1.0)
    promote_out: Path | None = None
    markdown_out: Path | None = None
    html_out: Path | None = None

    @field_validator("metrics", "models")
    @classmethod
    def _names(cls, v: dict[str, Path]) -> dict[str, Path]:
        for name in v:
            if not name or not all(c.isalnum() or c in "-_." for c in name):
                raise ValueError(f"candidate name {name!r} must be letters, digits, '-', '_' or '.'")
        return v


def parse_pairs(pairs: list[str], flag: str) -> dict[str, Path]:
    """Turn ``["lgbm=runs/eval", ...]`` into an ordered mapping; duplicate or malformed pairs are errors."""
    out: dict[str, Path] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"{flag}: got {pair!r} -> expected NAME=DIR")
        if name in out:
            raise ConfigError(f"{flag}: candidate {name!r} given twice")
        out[name] = Path(path)
    return out


def _read_metrics(folder: Path, who: str) -> dict[str, Any]:
    """metrics.json of an evaluation folder; ``DIR#a.b`` reads the section ``a.b`` of DIR/metrics.json
    (e.g. ``RUN#federated.final`` and ``RUN#centralized`` of a ``campaignlab federate`` run)."""
    text, _, key = str(folder).partition("#")
    folder = Path(text)
    if folder.is_dir():
        require_complete(folder, f"{who}: evaluation folder", needs=("metrics.json",))
    path = folder / "metrics.json" if folder.is_dir() else folder
    if not path.is_file():
        raise DataError(
            f"{who}: {str(path)!r} does not exist (expected an evaluation folder with metrics.json)"
        )
    data = read_json(path)
    for part in key.split(".") if key else []:
        if not isinstance(data, dict) or part not in data:
            raise DataError(f"{who}: {str(path)!r} has no section {key!r} (missing {part!r})")
        data = data[part]
    if not isinstance(data, dict) or not isinstance(data.get("macro_f1"), int | float):
        raise DataError(f"{who}: {str(path)!r}{'#' + key if key else ''} has no numeric 'macro_f1'")
    return data


def rank(metrics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rank candidates by macro F1, best first; equal scores keep the given order."""
    rows: list[dict[str, Any]] = []
    for order, (name, m) in enumerate(metrics.items()):
        per = m.get("per_class_f1") or {}
        rows.append(
            {
                "name": name,
                "macro_f1": float(m["macro_f1"]),
                "weighted_f1": float(m["weighted_f1"]) if "weighted_f1" in m else None,
                "accuracy": float(m["accuracy"]) if "accuracy" in m else None,
                "per_class_f1": {k: float(per[k]) for k in LABEL_NAMES if k in per},
                "_order": order,
            }
        )
    rows.sort(key=lambda r: (-r["macro_f1"], r["_order"]))
    for i, r in enumerate(rows, 1):
        r.pop("_order")
        r["rank"] = i
    return rows


def decide(best_f1: float, champion_f1: float | None, margin: float) -> bool:
    """Promote when there is no champion, or the best beats it by strictly more than ``margin``."""
    if champion_f1 is None:
        return True
    return best_f1 > champion_f1 + margin


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def markdown_table(result: dict[str, Any]) -> str:
    """The ranking as Markdown, with the champion decision underneath when there is one."""
    lines = [
        "| rank | model | macro F1 | "
        + " | ".join(f"F1 {c}" for c in LABEL_NAMES)
        + " | weighted F1 | accuracy |",
        "|---|---|---|" + "---|" * len(LABEL_NAMES) + "---|---|",
    ]
    for r in result["candidates"]:
        per = " | ".join(_fmt(r["per_class_f1"].get(c)) for c in LABEL_NAMES)
        name = f"**{r['name']}**" if r["name"] == result["best"] else r["name"]
        lines.append(
            f"| {r['rank']} | {name} | {_fmt(r['macro_f1'])} | {per} | {_fmt(r['weighted_f1'])} "
            f"| {_fmt(r['accuracy'])} |"
        )
    text = f"# Model comparison\n\nBest by macro F1: **{result['best']}** ({result['macro_f1']:.4f}).\n\n"
    text += "\n".join(lines) + "\n"
    if result.get("champion_macro_f1") is not None:
        verdict = "PROMOTE" if result["promote"] else "keep the champion"
        text += (
            f"\nChampion macro F1 {result['champion_macro_f1']:.4f}, margin {result['margin']:.4f}: "
            f"{verdict}.\n"
        )
    return text


def comparison_plot(result: dict[str, Any], out: Path) -> None:
    """Grouped bars: macro F1 and per-class F1 for each candidate; the champion's macro F1 dashed."""
    from campaignlab.evaluation.plots import _pyplot

    plt = _pyplot()
    import numpy as np

    cands = result["candidates"]
    names = [r["name"] for r in cands]
    series = [("macro F1", [r["macro_f1"] for r in cands])]
    series += [(f"F1 {c}", [r["per_class_f1"].get(c, 0.0) for r in cands]) for c in LABEL_NAMES]
    x = np.arange(len(names))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(names) + 2), 4.2), dpi=110)
    for i, (label, values) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    if result.get("champion_macro_f1") is not None:
        ax.axhline(result["champion_macro_f1"], ls="--", c="k", lw=1, label="champion macro F1")
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.set_title(f"Best: {result['best']} (macro F1 {result['macro_f1']:.3f})")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, format="png")
    plt.close(fig)


def html_report(markdown: str, png: bytes) -> str:
    """A self-contained HTML page (the table and the chart inline) for a KFP HTML artifact."""
    rows: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("|---"):
            continue
        if line.startswith("|"):
            cells = [c.strip().replace("**", "") for c in line.strip("|").split("|")]
            tag = "th" if not rows else "td"
            rows.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>")
    notes = [ln for ln in markdown.splitlines() if ln and not ln.startswith(("|", "#"))]
    img = base64.b64encode(png).decode()
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Model comparison</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
        "<h1>Model comparison</h1>"
        + "".join(f"<p>{html.escape(n.replace('**', ''))}</p>" for n in notes)
        + "<table>"
        + "".join(rows)
        + f"</table><p><img alt='comparison' src='data:image/png;base64,{img}'></p></body></html>\n"
    )


def compare(cfg: CompareConfig) -> dict[str, Any]:
    """Rank the candidates, write the report folder and copy the best model; return ``best.json``."""
    unknown = [n for n in cfg.models if n not in cfg.metrics]
    if unknown:
        raise ConfigError(f"models: {unknown} have no --metrics entry (candidates: {list(cfg.metrics)})")
    metrics = {name: _read_metrics(folder, f"candidate {name!r}") for name, folder in cfg.metrics.items()}
    ranked = rank(metrics)
    best = ranked[0]
    champion_f1 = None
    if cfg.champion is not None:
        champion_f1 = float(_read_metrics(cfg.champion, "champion")["macro_f1"])
    promote = decide(best["macro_f1"], champion_f1, cfg.margin)
    if cfg.model_out is not None and best["name"] not in cfg.models:
        raise ConfigError(f"model_out given but no --model for the best candidate {best['name']!r}")
    result: dict[str, Any] = {
        "best": best["name"],
        "macro_f1": best["macro_f1"],
        "candidates": ranked,
        "champion": str(cfg.champion) if cfg.champion else None,
        "champion_macro_f1": champion_f1,
        "margin": cfg.margin,
        "promote": promote,
        "metrics_dirs": {k: str(v) for k, v in cfg.metrics.items()},
        "best_model_dir": str(cfg.models[best["name"]]) if best["name"] in cfg.models else None,
    }
    with atomic_dir(cfg.out) as tmp:
        md = markdown_table(result)
        (tmp / "summary.md").write_text(md)
        comparison_plot(result, tmp / "comparison.png")
        (tmp / "summary.html").write_text(html_report(md, (tmp / "comparison.png").read_bytes()))
        write_json(tmp / "best.json", result)
    if cfg.model_out is not None:
        src = cfg.models[best["name"]]
        if not src.exists():
            raise DataError(f"model of {best['name']!r}: {str(src)!r} does not exist")
        if src.is_dir():
            require_complete(src, f"model folder of {best['name']!r}")
        with atomic_dir(cfg.model_out) as tmp:
            if src.is_dir():
                shutil.copytree(src, tmp, dirs_exist_ok=True)
            else:
                shutil.copy2(src, tmp / src.name)
            write_json(tmp / "selected.json", {"name": best["name"], "macro_f1": best["macro_f1"]})
    if cfg.promote_out is not None:
        atomic_write_bytes(cfg.promote_out, b"true" if promote else b"false")
    for src_name, dest in (("summary.md", cfg.markdown_out), ("summary.html", cfg.html_out)):
        if dest is not None:
            atomic_write_bytes(dest, (cfg.out / src_name).read_bytes())
    return result


class RegisterConfig(StrictModel):
    """What ``campaignlab register`` registers: a model folder with its evaluation."""

    model: Path
    metrics: Path
    name: str = Field("champion", pattern=r"^[A-Za-z0-9._-]{1,63}$")
    out: Path
    registry_dir: Path | None = None

    @field_validator("registry_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if v == "" else v  # a pipeline passes "" for "no registry folder"


def register(cfg: RegisterConfig) -> dict[str, Any]:
    """Copy the model folder and its metrics.json to ``out`` (and ``registry_dir``) with registered.json.

    The copy at ``registry_dir`` is what a later retraining run imports as its champion.
    """
    if not cfg.model.is_dir():
        raise DataError(f"model: {str(cfg.model)!r} is not a model folder")
    require_complete(cfg.model, "model folder")
    metrics = _read_metrics(cfg.metrics, "metrics")
    record = {
        "name": cfg.name,
        "macro_f1": float(metrics["macro_f1"]),
        "source_model": str(cfg.model),
        "source_metrics": str(cfg.metrics),
    }
    for dest in [cfg.out] + ([cfg.registry_dir] if cfg.registry_dir else []):
        with atomic_dir(dest) as tmp:
            shutil.copytree(cfg.model, tmp, dirs_exist_ok=True)
            write_json(tmp / "metrics.json", metrics)
            write_json(tmp / "registered.json", record)
    return record
