"""The data report of an ingested dataset: ``data_report.png`` and a self-contained ``data_report.html``.

What a person checks before training on a table of campaigns: how many rows were read, accepted and
rejected (and why), class balance per split, campaigns per platform and per data owner (by class), text
lengths per text modality, how many ZIP codes the geo table knows (ZIPs it lacks get no geo signal), and
campaigns per month when there are dates.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from campaignlab import LABEL_NAMES
from campaignlab.evaluation.plots import CLASS_COLOURS

TEXT_COLUMNS = ("audience", "brand", "creative")
TOP = 20  # platforms / owners shown by name; the rest are summed as "other"


def zip_coverage(geo: pd.Series, known: set[str]) -> dict[str, Any]:
    """ZIP coverage of a geo column against the ZIPs a geo table knows."""
    flat = [z for zs in geo for z in zs]
    distinct = set(flat)
    found_rows = np.array([sum(z in known for z in zs) / len(zs) if len(zs) else 0.0 for zs in geo])
    missing = sorted(distinct - known)
    return {
        "zips_total": len(flat),
        "zips_distinct": len(distinct),
        "zips_found": int(sum(z in known for z in flat)),
        "distinct_found": len(distinct & known),
        "share_found": round(float(np.mean([z in known for z in flat])), 6) if flat else 0.0,
        "campaigns_all_found": int((found_rows == 1.0).sum()),
        "campaigns_none_found": int((found_rows == 0.0).sum()),
        "zips_per_campaign": {
            "min": int(min((len(z) for z in geo), default=0)),
            "median": float(np.median([len(z) for z in geo])) if len(geo) else 0.0,
            "max": int(max((len(z) for z in geo), default=0)),
        },
        "missing_examples": missing[:20],
    }


def text_lengths(samples: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Characters per text field: min, median, 95th percentile, max."""
    out = {}
    for c in (*TEXT_COLUMNS, "platform"):
        n = samples[c].str.len().to_numpy() if len(samples) else np.zeros(0)
        out[c] = {
            "min": int(n.min()) if len(n) else 0,
            "median": float(np.median(n)) if len(n) else 0.0,
            "p95": float(np.percentile(n, 95)) if len(n) else 0.0,
            "max": int(n.max()) if len(n) else 0,
        }
    return out


def _by_class(samples: pd.DataFrame, column: str) -> pd.DataFrame:
    """Counts per value of ``column`` (rows, largest first; beyond TOP summed as 'other') and class."""
    lab = samples["label"].map(lambda v: LABEL_NAMES[v] if v >= 0 else "unlabelled")
    tab = pd.crosstab(samples[column].fillna("(none)"), lab)
    tab = tab.loc[tab.sum(axis=1).sort_values(ascending=False).index]
    if len(tab) > TOP:
        other = tab.iloc[TOP:].sum().to_frame("other").T
        tab = pd.concat([tab.iloc[:TOP], other])
    return tab


def _stacked(ax: Any, tab: pd.DataFrame, title: str) -> None:
    """Horizontal bars per row of ``tab`` (largest on top), stacked by class."""
    names = [str(n) for n in tab.index][::-1]
    left = np.zeros(len(tab))
    colours = {**{n: CLASS_COLOURS[i] for i, n in enumerate(LABEL_NAMES)}, "unlabelled": "#1f77b4"}
    for name, colour in colours.items():
        if name in tab.columns:
            vals = tab[name].to_numpy(dtype=float)[::-1]
            ax.barh(names, vals, left=left, color=colour, label=name)
            left = left + vals
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(fontsize=7)


def report_png(samples: pd.DataFrame, coverage: dict[str, Any], out: Path) -> bytes:
    """The six-panel figure; returns the PNG bytes (also written to ``out``)."""
    from campaignlab.evaluation.plots import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), dpi=90)
    ax = axes[0, 0]
    splits = [s for s in ("train", "test") if (samples["split"] == s).any()]
    width = 0.8 / max(len(splits), 1)
    for j, s in enumerate(splits):
        part = samples[samples["split"] == s]
        counts = [int((part["label"] == c).sum()) for c in range(3)]
        ax.bar(
            np.arange(3) + j * width,
            counts,
            width,
            label=s,
            alpha=0.85 if s == "train" else 0.5,
            color=[CLASS_COLOURS[c] for c in range(3)],
            edgecolor="black",
        )
    ax.set_xticks(np.arange(3) + width * (len(splits) - 1) / 2, LABEL_NAMES)
    ax.set_title("class balance (dark: train, light: test)", fontsize=10)
    _stacked(axes[0, 1], _by_class(samples, "platform"), "campaigns per platform")
    if samples["owner"].notna().any():
        _stacked(axes[0, 2], _by_class(samples, "owner"), "campaigns per owner")
    else:
        axes[0, 2].text(0.5, 0.5, "no owner column", ha="center", va="center")
        axes[0, 2].set_axis_off()
    ax = axes[1, 0]
    for c in TEXT_COLUMNS:
        ax.hist(samples[c].str.len(), bins=30, alpha=0.5, label=c)
    ax.set_title("text length (characters)", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    n_zips = samples["geo"].map(len).to_numpy()
    ax.hist(n_zips, bins=range(1, int(n_zips.max(initial=1)) + 2))
    found = coverage["share_found"]
    ax.set_title(f"ZIPs per campaign ({100 * found:.1f}% of ZIPs in the geo table)", fontsize=10)
    ax = axes[1, 2]
    if samples["date"].notna().any():
        month = pd.to_datetime(samples["date"]).dt.to_period("M").astype(str)
        tab = pd.crosstab(month, samples["split"]).sort_index()
        bottom = np.zeros(len(tab))
        for s in ("train", "test"):
            if s in tab.columns:
                ax.bar(tab.index, tab[s], bottom=bottom, label=s)
                bottom += tab[s].to_numpy()
        ax.tick_params(axis="x", labelrotation=90, labelsize=6)
        ax.set_title("campaigns per month", fontsize=10)
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no date column", ha="center", va="center")
        ax.set_axis_off()
    # Fixed margins instead of tight_layout, which draws the figure once more (seconds on a busy CPU).
    fig.subplots_adjust(left=0.1, right=0.98, top=0.95, bottom=0.1, wspace=0.45, hspace=0.35)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = buf.getvalue()
    out.write_bytes(data)
    return data


def _table(rows: list[list[Any]], header: list[str]) -> str:
    esc = lambda v: html.escape("" if v is None else str(v))  # noqa: E731
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(manifest: dict[str, Any], rejected: pd.DataFrame, png: bytes, max_rejects: int = 50) -> str:
    """The report page: summary, counts, coverage, text lengths, the first rejected rows, the figure."""
    m = manifest
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Data report</title><style>"
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:.5em 0 1em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}"
        ".bad{color:#b00}</style></head><body>",
        f"<h1>Data report: {html.escape(str(m['source']['uri']))}</h1>",
        _table(
            [
                ["rows read", m["num_input_rows"]],
                ["accepted", m["num_samples"]],
                ["rejected", f"{m['num_rejected']} ({100 * m['rejected_share']:.2f}%)"],
                [
                    "split",
                    f"{m['split']['method']} (test fraction {m['split']['test_fraction']})"
                    + (f", test from {m['split']['cutoff_date']}" if m["split"].get("cutoff_date") else ""),
                ],
                ["source sha256", m["source"]["sha256"]],
            ],
            ["", ""],
        ),
        "<h2>Class balance</h2>",
        _table(
            [[s, *[m["counts"].get(s, {}).get(n, 0) for n in LABEL_NAMES]] for s in ("train", "test")],
            ["split", *LABEL_NAMES],
        ),
    ]
    if m["num_rejected"]:
        parts.append("<h2 class='bad'>Rejected rows by reason</h2>")
        parts.append(_table([[k, v] for k, v in m["rejected_by_reason"].items()], ["reason", "rows"]))
    parts.append("<h2>Platforms</h2>")
    parts.append(_table([[k, v] for k, v in m["platform_counts"].items()], ["platform", "campaigns"]))
    if m.get("owner_counts"):
        parts.append("<h2>Data owners</h2>")
        parts.append(_table([[k, v] for k, v in m["owner_counts"].items()], ["owner", "campaigns"]))
    cov = m["zip_coverage"]
    parts.append(f"<h2>ZIP coverage against {html.escape(str(m['geo_table']))}</h2>")
    parts.append(
        _table(
            [
                ["ZIPs (distinct)", f"{cov['zips_total']} ({cov['zips_distinct']})"],
                ["found in the geo table", f"{cov['zips_found']} ({100 * cov['share_found']:.2f}%)"],
                ["campaigns with every ZIP found", cov["campaigns_all_found"]],
                ["campaigns with no ZIP found (zero geo vector)", cov["campaigns_none_found"]],
                [
                    "ZIPs per campaign (min / median / max)",
                    "{min} / {median} / {max}".format(**cov["zips_per_campaign"]),
                ],
                ["examples not found", ", ".join(cov["missing_examples"]) or "-"],
            ],
            ["", ""],
        )
    )
    parts.append("<h2>Text lengths (characters)</h2>")
    parts.append(
        _table(
            [[k, v["min"], v["median"], v["p95"], v["max"]] for k, v in m["text_lengths"].items()],
            ["field", "min", "median", "p95", "max"],
        )
    )
    parts.append(
        f"<p><img alt='data report' src='data:image/png;base64,{base64.b64encode(png).decode()}'></p>"
    )
    if len(rejected):
        shown = rejected.head(max_rejects)
        parts.append(
            f"<h2 class='bad'>Rejected rows (first {len(shown)} of {len(rejected)}; "
            "all in rejected.parquet)</h2>"
        )
        cols = ["source", "row", "line", "campaign_id", "field", "value", "reason", "message"]
        parts.append(
            _table(shown[cols].astype(object).where(shown[cols].notna(), None).values.tolist(), cols)
        )
    for note in m.get("notes", []):
        parts.append(f"<p>{html.escape(note)}</p>")
    parts.append("</body></html>\n")
    return "".join(parts)
