"""`campaignlab serve`: a real uvicorn process on 127.0.0.1 with Vertex's custom-container variables."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from campaignlab import MODALITIES
from tests.conftest import run_cli
from tests.serving.conftest import Service, raw_campaigns, start_service

PREDICT = "/v1/endpoints/e1/deployedModels/d1:predict"


def predict(svc: Service, instances: list, **body: object) -> httpx.Response:
    return httpx.post(svc.url + PREDICT, json={"instances": instances, **body}, timeout=120)


def test_health_and_model_routes_follow_the_environment(service: Service) -> None:
    r = httpx.get(service.url + "/v1/health", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["model_type"] == "robust_modality"
    assert httpx.get(service.url + "/health", timeout=10).status_code == 404  # AIP_HEALTH_ROUTE replaced it
    info = httpx.get(service.url + "/model", timeout=10).json()
    assert info["routes"]["predict"] == PREDICT and info["limits"]["max_instances"] == 64
    assert info["recipe"]["encoder"] == "local" and len(info["platforms"]) == 12


def test_service_scores_like_the_cli(
    service: Service, models: dict[str, Path], campaigns_csv: Path, embed_cache: Path, tmp_path: Path
) -> None:
    rows = [r for r in raw_campaigns_from_csv(campaigns_csv)][:40]
    r = predict(service, rows)
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert [p["campaign_id"] for p in preds] == [row["campaign_id"] for row in rows]  # order kept
    out = tmp_path / "cli"
    run_cli("predict", "--model", models["robust_modality"], "--campaigns", campaigns_csv, "--out", out,
            "--cache-dir", embed_cache, "--threads", "1", "--quiet", check=True)  # fmt: skip
    cli = {row["campaign_id"]: row for row in pq.read_table(out / "predictions.parquet").to_pylist()}
    for p in preds:
        c = cli[p["campaign_id"]]
        assert p["label"] == c["label"] and p["tier"] == c["tier"]
        for k in ("negative", "average", "positive"):
            assert abs(p["probabilities"][k] - c[f"prob_{k}"]) < 1e-9
        for m in MODALITIES:
            assert abs(p["attribution"][m] - c[f"attribution_{m}"]) < 1e-6
    # Without explanations, when asked.
    r = predict(service, rows[:2], parameters={"explain": False})
    assert r.status_code == 200 and "attribution" not in r.json()["predictions"][0]


def raw_campaigns_from_csv(path: Path) -> list[dict]:
    import csv

    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_bad_instance_gets_400_naming_its_index_and_field(service: Service, tiny_dataset: Path) -> None:
    rows = raw_campaigns(tiny_dataset, 3)
    bad = [dict(rows[0]), {**rows[1], "geo": ["1234"]}, {**rows[2], "creative": ""}]
    r = predict(service, bad)
    assert r.status_code == 400
    body = r.json()
    assert body["error"].startswith("instances[1].geo:") and "5-digit" in body["error"]
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "geo"), (2, "creative")]
    r = predict(service, [{**rows[0], "plaform": "TikTok"}])  # a typo of a field is not ignored
    assert r.status_code == 400 and r.json()["error"].startswith("instances[0].plaform:")
    r = predict(service, ["not an object"])
    assert r.status_code == 400 and "instances[0]" in r.json()["error"]
    # The contract's rules are ingest's (a date must be a date), plus JSON types: a list is no text.
    r = predict(service, [dict(rows[0]), {**rows[1], "date": "31/02/2025"}, {**rows[2], "brand": ["x"]}])
    assert r.status_code == 400
    assert [(e["index"], e["field"], e["reason"]) for e in r.json()["errors"]] == [
        (1, "date", "bad_date"),
        (2, "brand", "wrong_type"),
    ]
    assert "expected a string, got a list" in r.json()["errors"][1]["message"]
    for body_text, expected in (
        ("{not json", "not valid JSON"),
        ('{"rows": []}', 'expected {"instances"'),
        ('{"instances": []}', "expected at least one"),
        ('{"instances": [{}], "parameters": {"explain": "yes"}}', "parameters"),
    ):
        r = httpx.post(service.url + PREDICT, content=body_text, timeout=30)
        assert r.status_code == 400 and expected in r.json()["error"], (body_text, r.text)


def test_batch_and_body_limits(service: Service, tiny_dataset: Path) -> None:
    rows = raw_campaigns(tiny_dataset, 1) * 65
    r = predict(service, rows)
    assert r.status_code == 413 and "at most 64" in r.json()["error"]
    big = {**rows[0], "brand": "x" * 300_000}
    r = predict(service, [big])
    assert r.status_code == 413 and "at most 200000" in r.json()["error"]

    # A chunked body (no Content-Length) is counted as it arrives.
    def chunks():
        yield b'{"instances": [{"brand": "'
        for _ in range(30):
            yield b"y" * 10_000
        yield b'"}]}'

    r = httpx.post(service.url + PREDICT, content=chunks(), timeout=30)
    assert r.status_code == 413
    assert predict(service, rows[:1]).status_code == 200  # still serving


def test_recommend_route(service: Service, tiny_dataset: Path) -> None:
    row = raw_campaigns(tiny_dataset, 1)[0]
    body = {"brand": row["brand"], "audience": row["audience"], "top": 3}
    r = httpx.post(service.url + "/recommend", json=body, timeout=120)
    assert r.status_code == 200, r.text
    body = r.json()
    recs = body["recommendations"]
    assert [x["rank"] for x in recs] == [1, 2, 3]
    scores = [x["score"] for x in recs]
    assert scores == sorted(scores, reverse=True) and body["score_distribution"]["best"] >= scores[0] - 1e-6
    assert set(recs[0]["attribution"]) == set(MODALITIES)
    cands = {
        "platforms": ["TikTok", "LinkedIn"],
        "creatives": ["A video.", "An image."],
        "geo": ["10001", "02139;02140"],
    }
    body = {"brand": "B", "audience": "A", "top": 8, "candidates": cands, "objective": "expected-tier"}
    r = httpx.post(service.url + "/recommend", json=body, timeout=120)
    assert r.status_code == 200 and r.json()["combinations"] == 8
    assert {tuple(x["geo"]) for x in r.json()["recommendations"]} == {("10001",), ("02139", "02140")}
    r = httpx.post(
        service.url + "/recommend", json={"brand": "B", "audience": "A", "objective": "best"}, timeout=30
    )
    assert r.status_code == 400 and "objective" in r.json()["error"]
    body = {"brand": "B", "audience": "A", "candidates": {"geo": ["1"]}}
    r = httpx.post(service.url + "/recommend", json=body, timeout=30)
    assert r.status_code == 400 and "geo[0]" in r.json()["error"]


def test_the_model_is_loaded_once_not_per_request(
    models: dict[str, Path], embed_cache: Path, tiny_dataset: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(models["hierarchical_lgbm"], model)
    svc = start_service(
        model, tmp_path / "serve.log", args=("--cache-dir", str(embed_cache), "--threads", "1")
    )
    try:
        rows = raw_campaigns(tiny_dataset, 2)
        first = httpx.post(svc.url + "/predict", json={"instances": rows}, timeout=60)
        assert first.status_code == 200
        shutil.rmtree(model)  # a reload would fail now
        again = httpx.post(svc.url + "/predict", json={"instances": rows}, timeout=60)
        assert again.status_code == 200 and again.json() == first.json()
    finally:
        svc.stop()
    # Stopped by SIGINT: uvicorn shuts down gracefully, then re-raises the signal (exit 130).
    assert svc.proc.returncode in (0, 130, -2) and "Traceback" not in svc.log.read_text()


def test_bounded_load_on_loopback_has_no_errors(service: Service, tiny_dataset: Path) -> None:
    """4 clients x 15 requests of 1 or 16 campaigns, within 300 s: every answer 200 and complete."""
    rows = raw_campaigns(tiny_dataset, 16)
    results: list[tuple[int, int, int]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 300

    def client(k: int) -> None:
        with httpx.Client(timeout=120) as http:
            for i in range(15):
                if time.monotonic() > deadline:
                    break
                batch = rows[: 16 if (i + k) % 3 == 0 else 1]
                r = http.post(service.url + PREDICT, json={"instances": batch})
                n = len(r.json().get("predictions", [])) if r.status_code == 200 else -1
                with lock:
                    results.append((r.status_code, len(batch), n))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(330)
    assert len(results) == 60, f"only {len(results)} requests in time"
    assert all(code == 200 and sent == got for code, sent, got in results), results
    assert httpx.get(service.url + "/v1/health", timeout=10).status_code == 200
    counters = httpx.get(service.url + "/model", timeout=10).json()["counters"]
    assert counters["requests"] >= 60


def test_serve_without_a_model_exits_2(tmp_path: Path) -> None:
    proc = run_cli("serve", env={"AIP_STORAGE_URI": ""})
    assert proc.returncode == 2 and "AIP_STORAGE_URI" in proc.stderr
    proc = run_cli("serve", "--model", tmp_path)
    assert proc.returncode == 2 and "not a model folder" in proc.stderr
    (tmp_path / "model.json").write_text(json.dumps({"type": "robust_modality"}))
    proc = run_cli("serve", "--model", tmp_path)
    assert proc.returncode == 2 and "recipe.json" in proc.stderr
