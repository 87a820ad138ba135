"""Server-rendered HTML: the version index and one page per version (ranking table + per-class F1 chart).

Pages show aggregate scores only (no predictions, no labels), rounded and on the ranked part of the
test split exactly as the API does (:mod:`campaignlab.leaderboard.public`), so they need no token.
Everything is inline (one stylesheet, allowed by its hash in the Content-Security-Policy, and an SVG
chart): the page works without internet access and runs no script.
"""

from __future__ import annotations

from html import escape
from typing import Any

from campaignlab.evaluation.plots import CLASS_COLOURS, CLASS_NAMES
from campaignlab.leaderboard.store import Version

CHART_TOP = 10  # submissions drawn in the chart (the table lists all)
_CSS = """
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px}
.meta{color:#555;font-size:13px}.meta code{font-size:12px}
table{border-collapse:collapse;font-size:13px;margin-top:6px}
th,td{border-bottom:1px solid #ddd;padding:5px 9px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.top td{font-weight:bold}
.nw{white-space:nowrap}.empty{color:#777;font-style:italic}a{color:#1f5fa8}
.warn{color:#8a4b00;background:#fff4e0;padding:6px 9px;font-size:13px}
"""
INLINE_STYLES = (_CSS,)  # allowed by hash in the Content-Security-Policy (campaignlab.leaderboard.http)


def _fmt(x: float, decimals: int = 4) -> str:
    return f"{x:.{decimals}f}"


def _when(iso: str) -> str:
    return iso.replace("T", " ").replace("+00:00", " UTC")


def _layout(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


def index_page(versions: list[Version]) -> str:
    rows = "".join(
        f"<tr><td class='l'><a href='/versions/{escape(v.name)}'>{escape(v.name)}</a></td>"
        f"<td>{v.n_train}</td><td>{v.n_test}</td><td class='l'>{'yes' if v.has_features else 'no'}</td>"
        f"<td class='l'><code>{(v.content_hash or '-')[:12]}</code></td>"
        f"<td class='l nw'>{escape(_when(v.created_at))}</td></tr>"
        for v in versions
    )
    table = (
        "<table id='versions'><tr><th class='l'>version</th><th>train</th><th>test</th>"
        "<th class='l'>features</th><th class='l'>content hash</th><th class='l'>registered</th></tr>"
        f"{rows}</table>"
        if versions
        else "<p class='empty'>No version registered yet (campaignlab leaderboard add-version).</p>"
    )
    return _layout("campaignlab leaderboard", f"<h1>campaignlab leaderboard</h1><h2>Versions</h2>{table}")


def f1_chart(ranking: list[dict[str, Any]], top: int = CHART_TOP, key: str = "scores") -> str:
    """Grouped bar chart (inline SVG) of per-class F1 (``row[key]``) for the ``top`` best submissions."""
    rows = ranking[:top]
    if not rows:
        return "<p class='empty' id='chart-empty'>No submission yet.</p>"
    left, right, top_pad, plot_h, bottom = 48, 16, 16, 240, 46
    group_w = max(54, min(110, 880 // len(rows)))
    bar_w = (group_w - 14) / 3
    width = left + group_w * len(rows) + right
    height = top_pad + plot_h + bottom
    parts = [
        f"<svg id='f1-chart' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 22}' "
        f"viewBox='0 0 {width} {height + 22}' role='img' aria-label='per-class F1 of the top submissions'>"
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top_pad + plot_h * (1 - tick)
        parts.append(
            f"<line x1='{left}' x2='{width - right}' y1='{y:.1f}' y2='{y:.1f}' stroke='#ddd'/>"
            f"<text x='{left - 6}' y='{y + 4:.1f}' font-size='11' text-anchor='end'>{tick:.2f}</text>"
        )
    names = ("f1_negative", "f1_average", "f1_positive")
    for gi, row in enumerate(rows):
        x0 = left + gi * group_w + 7
        for ci, name in enumerate(names):
            f1 = float(row[key][name])
            h = plot_h * max(0.0, min(1.0, f1))
            x = x0 + ci * bar_w
            parts.append(
                f"<rect class='bar' data-submission='{row['id']}' data-class='{CLASS_NAMES[ci].lower()}' "
                f"data-f1='{f1:.6f}' x='{x:.1f}' y='{top_pad + plot_h - h:.1f}' width='{bar_w - 1:.1f}' "
                f"height='{h:.1f}' fill='{CLASS_COLOURS[ci]}'><title>#{row['rank']} "
                f"{escape(row['researcher'])} {escape(row['model'])}: {CLASS_NAMES[ci]} F1 {_fmt(f1)}"
                "</title></rect>"
            )
        label = f"#{row['rank']} {row['model'] or row['researcher']}"
        fits = max(6, group_w // 7)  # characters that fit under a group at 11 px
        label = label if len(label) <= fits else label[: fits - 1] + "…"
        parts.append(
            f"<text x='{x0 + 1.5 * bar_w:.1f}' y='{top_pad + plot_h + 16}' font-size='11' "
            f"text-anchor='middle'>{escape(label)}</text>"
        )
    parts.append(
        f"<line x1='{left}' x2='{width - right}' y1='{top_pad + plot_h}' y2='{top_pad + plot_h}' "
        "stroke='#444'/>"
    )
    lx = left
    for ci in range(3):
        parts.append(
            f"<rect x='{lx}' y='{height}' width='12' height='12' fill='{CLASS_COLOURS[ci]}'/>"
            f"<text x='{lx + 16}' y='{height + 10}' font-size='12'>{CLASS_NAMES[ci]} F1</text>"
        )
        lx += 110
    parts.append("</svg>")
    return "".join(parts)


SCORE_COLUMNS = (
    ("macro_f1", "macro F1"),
    ("f1_negative", "Negative F1"),
    ("f1_average", "Average F1"),
    ("f1_positive", "Positive F1"),
    ("weighted_f1", "weighted F1"),
    ("priority_weighted_f1", "priority-weighted F1"),
    ("accuracy", "accuracy"),
)


def version_page(version: Version, view: dict[str, Any], daily_quota: int) -> str:
    """The ranking of one version (``public.ranking_view``): a table of every submission and the chart."""
    ranking, decimals = view["submissions"], view["score_decimals"]
    private = view["ranked_on"] == "private"
    key = "private_scores" if private else "scores"
    part = (
        f"the private part of the test split ({version.n_test - version.n_public} samples): the "
        "competition has ended"
        if private
        else f"the public part of the test split ({version.n_public} of {version.n_test} samples, "
        "drawn secretly)"
        + (
            ""
            if version.n_public == version.n_test
            else "; the private part decides the final ranking when the competition ends"
        )
    )
    warn = (
        "<p class='warn' id='reconstructible'>This version's labels can be rebuilt from public facts "
        "(its dataset was generated with a guessable seed): its ranking is not blind.</p>"
        if version.info.get("labels_reconstructible")
        else ""
    )
    head = (
        f"<h1>Leaderboard: {escape(version.name)}</h1><p class='meta'>"
        f"{version.n_train} train / {version.n_test} test samples"
        + (f", preset {escape(str(version.info['preset']))}" if version.info.get("preset") else "")
        + f"; content hash <code>{escape((version.content_hash or '-')[:12])}</code>. Ranked by macro F1 "
        f"on {part}. Scores are computed on the server against test labels that are never published, "
        f"rounded to {decimals} decimals; each researcher may submit {daily_quota} times per day. "
        "Weighted F1 weights the classes by their support; priority-weighted F1 = 0.5 Positive + 0.4 "
        "Negative + 0.1 Average.</p>"
        f"{warn}<p class='meta'><a href='/'>all versions</a></p>"
    )
    extra = "<th>public macro F1</th>" if private else ""
    cols = (
        "<tr><th>rank</th><th class='l'>researcher</th><th class='l'>model</th><th>submission</th>"
        + "".join(f"<th>{label}</th>" for _, label in SCORE_COLUMNS)
        + extra
        + "<th class='l'>submitted</th></tr>"
    )
    body = "".join(
        f"<tr class='ranking-row{' top' if r['rank'] == 1 else ''}' data-submission='{r['id']}'>"
        f"<td>{r['rank']}</td><td class='l'>{escape(r['researcher'])}</td>"
        f"<td class='l'>{escape(r['model'])}</td>"
        f"<td>{r['id']}</td>"
        + "".join(f"<td>{_fmt(r[key][k], decimals)}</td>" for k, _ in SCORE_COLUMNS)
        + (f"<td>{_fmt(r['scores']['macro_f1'], decimals)}</td>" if private else "")
        + f"<td class='l nw'>{escape(_when(r['created_at']))}</td></tr>"
        for r in ranking
    )
    table = f"<table id='ranking'>{cols}{body}</table>"
    if not ranking:
        table += "<p class='empty'>No submission yet.</p>"
    chart_title = f"<h2>Per-class F1 of the top {CHART_TOP} submissions</h2>"
    return _layout(
        f"{version.name} - campaignlab leaderboard",
        head
        + f"<h2>Ranking ({len(ranking)} submissions)</h2>"
        + table
        + chart_title
        + f1_chart(ranking, key=key),
    )
