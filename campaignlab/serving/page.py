# ruff: noqa: E501  (HTML, CSS and JavaScript templates: their lines are not Python)
"""The service's page: type or paste a campaign, see its tier, probabilities, per-modality attribution
and the top recommendations for its brand and audience.

One self-contained HTML document (inline CSS, inline JavaScript, SVG charts): it works without internet
access. It calls the service's own predict and ``/recommend`` routes; every value from the user or the
model is inserted as text (``textContent``), never as HTML.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from campaignlab import LABEL_NAMES, MODALITIES
from campaignlab.evaluation.plots import CLASS_COLOURS

CHART_HALF_WIDTH = 180  # px: the attribution chart's bars grow this far either side of zero
_CSS = """
body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:20px auto;color:#222;max-width:1150px;padding:0 16px}
h1{font-size:21px;margin:0 0 2px}h2{font-size:16px;margin:18px 0 8px}.meta{color:#555;font-size:12.5px}
.cols{display:flex;gap:26px;flex-wrap:wrap}.col{flex:1 1 480px;min-width:360px}
label{display:block;font-size:12.5px;color:#444;margin:8px 0 2px}
textarea,input{width:100%;box-sizing:border-box;font:inherit;font-size:13px;padding:5px 7px;border:1px solid #bbb;
border-radius:4px}textarea{height:44px;resize:vertical}#paste{height:70px;font-family:monospace;font-size:12px}
button{font:inherit;font-size:13px;padding:6px 14px;margin:10px 8px 0 0;border:0;border-radius:4px;background:#1f5fa8;
color:#fff;cursor:pointer}button.secondary{background:#666}#error{color:#b00020;font-size:13px;min-height:18px;margin-top:8px}
#tier{font-size:22px;font-weight:bold;margin:2px 0 6px}.prob{display:flex;align-items:center;font-size:12.5px;margin:3px 0}
.prob span.name{width:70px}.prob .track{flex:1;background:#eee;height:14px;border-radius:3px;margin:0 8px}
.prob .fill{height:14px;border-radius:3px}.prob span.v{width:52px;text-align:right}
table{border-collapse:collapse;font-size:12.5px;width:100%}th,td{border-bottom:1px solid #ddd;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right;white-space:nowrap}
.hint{color:#777;font-size:12px}.warn{color:#8a5a00;font-size:12.5px}
"""


def _platform_options(platforms: list[str]) -> str:
    return "".join(f"<option value='{escape(p)}'></option>" for p in platforms)


def render(info: dict[str, Any], predict_route: str, recommend_route: str) -> str:
    """The page for a model (``info`` is :meth:`Predictor.info`)."""
    colours = {name: CLASS_COLOURS[i] for i, name in enumerate(LABEL_NAMES)}
    config = {
        "predict": predict_route,
        "recommend": recommend_route,
        "modalities": list(MODALITIES),
        "classes": list(LABEL_NAMES),
        "colours": colours,
        "half": CHART_HALF_WIDTH,
    }
    example = {
        "campaign_id": "example-1",
        "audience": "Women, 25-34, interested in fitness and travel",
        "brand": "The brand is defined by sustainability. It also brings premium craftsmanship.",
        "creative": "A video featuring user testimonials and a limited-time offer.",
        "platform": (info.get("platforms") or ["Instagram Feed"])[0],
        "geo": ["10001", "10002"],
    }
    title = f"campaignlab: {info['model_type']}"
    body = f"""
<h1>{escape(title)}</h1>
<div class="meta">Embedding recipe: {escape(str(info.get("recipe_summary", "")))} &middot; trained on
{escape(str(info.get("train_rows") or "?"))} campaigns &middot; <a href="/model">model</a> &middot; <a href="/docs">API</a></div>
<div class="cols">
<div class="col">
<h2>Campaign</h2>
<form id="campaign-form" onsubmit="return false">
<label for="audience">Audience</label><textarea id="audience" name="audience">{escape(example["audience"])}</textarea>
<label for="brand">Brand</label><textarea id="brand" name="brand">{escape(example["brand"])}</textarea>
<label for="creative">Creative</label><textarea id="creative" name="creative">{escape(example["creative"])}</textarea>
<label for="platform">Platform</label><input id="platform" name="platform" list="platforms" value="{escape(example["platform"])}">
<datalist id="platforms">{_platform_options(list(info.get("platforms") or []))}</datalist>
<label for="geo">Geo (ZIP codes, separated by ; , | or spaces)</label><input id="geo" name="geo" value="{escape(" ".join(example["geo"]))}">
<button id="predict-btn" type="button">Predict</button><button id="recommend-btn" type="button" class="secondary">Recommend platform, creative and geo</button>
</form>
<label for="paste">&hellip;or paste a campaign as JSON (the predict route's instance format)</label>
<textarea id="paste">{escape(json.dumps(example))}</textarea>
<button id="paste-btn" type="button" class="secondary">Use pasted campaign</button>
<div id="error" role="alert"></div>
</div>
<div class="col" id="result" hidden>
<h2>Prediction</h2>
<div id="tier"></div>
<div id="probabilities"></div>
<div id="warnings" class="warn"></div>
<h2>What moved it: per-modality attribution</h2>
<div class="hint">How much each modality moved the probability of the predicted tier away from an average
campaign's (<span id="reference"></span>); the bars add up to the difference.</div>
<svg id="attribution-chart" width="{2 * CHART_HALF_WIDTH + 170}" height="{len(MODALITIES) * 30 + 12}" role="img"
aria-label="per-modality attribution"></svg>
</div>
</div>
<div id="recs" hidden>
<h2>Top recommendations for this brand and audience</h2>
<div class="hint" id="recs-meta"></div>
<table id="recommendations"><thead><tr><th>#</th><th>platform</th><th>creative</th><th>geo</th><th>P(positive)</th>
<th>tier</th><th>largest attribution</th></tr></thead><tbody></tbody></table>
</div>
<script>const CONFIG = {json.dumps(config)};</script>
<script>{_JS}</script>
"""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>\n"
    )


_JS = r"""
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  const e = tag === "svg" || ["rect", "line", "text", "g"].includes(tag)
    ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function campaignFromForm() {
  return {campaign_id: "page", audience: $("audience").value, brand: $("brand").value,
          creative: $("creative").value, platform: $("platform").value, geo: $("geo").value};
}
function showError(msg) { $("error").textContent = msg || ""; }
async function post(route, body) {
  const r = await fetch(route, {method: "POST", headers: {"Content-Type": "application/json"},
                                body: JSON.stringify(body)});
  let data = null;
  try { data = await r.json(); } catch (e) { data = {error: "the service answered " + r.status}; }
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}
function renderPrediction(p) {
  $("result").hidden = false;
  const tier = $("tier");
  tier.textContent = p.tier.charAt(0).toUpperCase() + p.tier.slice(1);
  tier.dataset.tier = p.tier;
  tier.style.color = CONFIG.colours[p.tier];
  const probs = $("probabilities");
  probs.replaceChildren();
  for (const c of CONFIG.classes) {
    const v = p.probabilities[c];
    const row = el("div", {class: "prob"});
    row.append(el("span", {class: "name"}, c));
    const track = el("div", {class: "track"});
    const fill = el("div", {class: "fill prob-bar", "data-class": c, "data-value": String(v)});
    fill.style.width = (100 * v).toFixed(2) + "%";
    fill.style.background = CONFIG.colours[c];
    track.append(fill);
    row.append(track, el("span", {class: "v"}, v.toFixed(3)));
    probs.append(row);
  }
  $("warnings").textContent = (p.warnings || []).join(" ");
  $("reference").textContent = "P(" + p.tier + ") " + (p.attribution_reference ?? 0).toFixed(3) + " -> " +
    p.probabilities[p.tier].toFixed(3);
  const svg = $("attribution-chart");
  svg.replaceChildren();
  const attr = p.attribution || {};
  const scale = Math.max(1e-9, ...CONFIG.modalities.map((m) => Math.abs(attr[m] || 0)));
  const x0 = 110 + CONFIG.half;
  svg.append(el("line", {x1: x0, x2: x0, y1: 0, y2: CONFIG.modalities.length * 30 + 6, stroke: "#999"}));
  CONFIG.modalities.forEach((m, i) => {
    const v = attr[m] || 0;
    const w = CONFIG.half * Math.abs(v) / scale;
    const y = 6 + i * 30;
    svg.append(el("text", {x: 0, y: y + 15, "font-size": 12}, m.charAt(0).toUpperCase() + m.slice(1)));
    svg.append(el("rect", {class: "attr-bar", "data-modality": m, "data-value": String(v),
      x: v >= 0 ? x0 : x0 - w, y: y, width: Math.max(w, 0.5), height: 20,
      fill: v >= 0 ? CONFIG.colours.positive : CONFIG.colours.negative}));
    svg.append(el("text", {x: v >= 0 ? x0 + w + 4 : x0 - w - 4, y: y + 15, "font-size": 11,
      "text-anchor": v >= 0 ? "start" : "end"}, (v >= 0 ? "+" : "") + v.toFixed(3)));
  });
}
function renderRecommendations(r) {
  $("recs").hidden = false;
  $("recs-meta").textContent = r.combinations + " combinations scored in " + r.seconds.toFixed(2) +
    " s, ranked by " + r.objective;
  const body = $("recommendations").querySelector("tbody");
  body.replaceChildren();
  for (const rec of r.recommendations) {
    const tr = el("tr", {class: "rec-row", "data-rank": String(rec.rank)});
    let top = "";
    if (rec.attribution) {
      const m = CONFIG.modalities.reduce((a, b) => Math.abs(rec.attribution[a]) >= Math.abs(rec.attribution[b]) ? a : b);
      top = m + " " + (rec.attribution[m] >= 0 ? "+" : "") + rec.attribution[m].toFixed(3);
    }
    for (const [text, cls] of [[String(rec.rank), "n"], [rec.platform, ""], [rec.creative, ""],
                               [rec.geo.join(" "), ""], [rec.probabilities.positive.toFixed(3), "n"],
                               [rec.tier, ""], [top, ""]]) {
      tr.append(el("td", cls ? {class: cls} : {}, text));
    }
    body.append(tr);
  }
}
async function predict(campaign) {
  showError("");
  try {
    const data = await post(CONFIG.predict, {instances: [campaign]});
    renderPrediction(data.predictions[0]);
  } catch (e) { showError(e.message); }
}
async function recommend(campaign) {
  showError("");
  try {
    renderRecommendations(await post(CONFIG.recommend, {brand: campaign.brand, audience: campaign.audience, top: 5}));
  } catch (e) { showError(e.message); }
}
$("predict-btn").addEventListener("click", () => predict(campaignFromForm()));
$("recommend-btn").addEventListener("click", () => recommend(campaignFromForm()));
$("paste-btn").addEventListener("click", () => {
  let c;
  try { c = JSON.parse($("paste").value); } catch (e) { showError("pasted text is not JSON: " + e.message); return; }
  if (typeof c !== "object" || c === null || Array.isArray(c)) { showError("paste one campaign object"); return; }
  for (const k of ["audience", "brand", "creative", "platform"]) if (typeof c[k] === "string") $(k).value = c[k];
  if (c.geo !== undefined) $("geo").value = Array.isArray(c.geo) ? c.geo.join(" ") : String(c.geo);
  predict(c);
});
"""
