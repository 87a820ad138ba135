"""The API against a real `campaignlab leaderboard serve` (uvicorn) on 127.0.0.1 with a SQLite file."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaignlab.leaderboard.client import LeaderboardError, download_split, submit_predictions
from tests.conftest import run_cli
from tests.leaderboard.conftest import (
    MAX_UPLOAD_MB,
    Server,
    answer_labels,
    expected_scores,
    write_predictions,
)


def perturbed(truth: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """The true labels with ``k`` of them changed (seeded)."""
    pred = truth.copy()
    idx = np.random.default_rng(seed).choice(len(truth), size=k, replace=False)
    pred[idx] = (pred[idx] + 1 + (idx % 2)) % 3
    return pred


@pytest.fixture(scope="module")
def truth(tiny_dataset: Path) -> tuple[list[str], np.ndarray]:
    t = answer_labels(tiny_dataset)
    return t["sample_id"].to_pylist(), np.asarray(t["label"], dtype=np.int8)


def count(server: Server) -> int:
    with server.client("alice") as c:
        return len(c.get("/api/versions/v25/ranking").json()["submissions"])


def test_anonymous_and_bad_tokens_are_refused(server: Server) -> None:
    calls = [
        ("GET", "/api/me"),
        ("GET", "/api/versions"),
        ("GET", "/api/versions/v25"),
        ("GET", "/api/versions/v25/splits/train"),
        ("GET", "/api/versions/v25/splits/test?kind=features"),
        ("GET", "/api/versions/v25/ranking"),
        ("GET", "/api/submissions/1"),
        ("GET", "/api/submissions/1/predictions"),
        ("POST", "/api/versions/v25/submissions"),
    ]
    before = count(server)
    for headers in (
        {},
        {"Authorization": "Bearer clb_not-a-real-token"},
        {"Authorization": "Basic YWxpY2U6eA=="},
    ):
        for method, path in calls:
            r = httpx.request(method, server.url + path, headers=headers, content=b"PAR1", timeout=30)
            assert r.status_code == 401, (method, path, headers, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
    assert count(server) == before
    with server.client("bob") as c:
        assert c.get("/api/me").json() == {"researcher": "bob"}


def test_splits_train_with_labels_test_without(server: Server, tiny_dataset: Path, truth) -> None:
    ids, _ = truth
    samples = pq.read_table(tiny_dataset / "samples.parquet")
    with server.client("alice") as c:
        versions = c.get("/api/versions").json()
        assert [v["name"] for v in versions] == ["v25"]
        v = versions[0]
        assert (v["n_test"], v["has_features"], v["preset"]) == (len(ids), True, "v25")
        assert "test_counts" not in json.dumps(v) and "seed" not in v
        assert v["labels_reconstructible"] is True  # registered with the default seed 42
        train = pq.read_table(io.BytesIO(c.get("/api/versions/v25/splits/train").content))
        test = pq.read_table(io.BytesIO(c.get("/api/versions/v25/splits/test").content))
        ftest = pq.read_table(
            io.BytesIO(c.get("/api/versions/v25/splits/test", params={"kind": "features"}).content)
        )
        ftrain = pq.read_table(io.BytesIO(c.get("/api/versions/v25/splits/train?kind=features").content))
        assert c.get("/api/versions/v99/splits/test").status_code == 404
        assert c.get("/api/versions/v25/splits/valid").status_code == 404
        assert c.get("/api/versions/v25/splits/test", params={"kind": "pixels"}).status_code == 422
    assert train.num_rows + test.num_rows == samples.num_rows
    train_rows = samples.filter(pa.compute.equal(samples["split"], "train"))
    assert train.to_pylist() == train_rows.to_pylist()  # train: every column, labels included
    assert test["sample_id"].to_pylist() == ids
    for t in (test, ftest):
        leaked = [c for c in t.column_names if c in ("label", "pos_frac", "neg_frac") or c.endswith("_nodes")]
        assert leaked == []
    assert {"audience", "brand", "creative", "platform", "geo"} <= set(test.column_names)
    assert ftest["sample_id"].to_pylist() == ids and "label" in ftrain.column_names
    assert pa.types.is_fixed_size_list(ftest.schema.field("brand").type)


def test_submit_with_cli_and_client_scores_blindly(server: Server, truth, tmp_path: Path) -> None:
    ids, y = truth
    pred = perturbed(y, 30, seed=1)
    path = write_predictions(tmp_path / "pred.parquet", ids, pred)
    env = {"CAMPAIGNLAB_LEADERBOARD_TOKEN": server.tokens["alice"]}
    args = ("--url", server.url, "--version", "v25", "--predictions", path, "--model", "cli-lgbm")
    proc = run_cli("leaderboard", "submit", *args, env=env, check=True)
    record = json.loads(proc.stdout)
    assert (record["researcher"], record["model"], record["n_rows"]) == ("alice", "cli-lgbm", len(ids))
    public = server.public_mask()
    assert 0 < public.sum() < len(ids)  # scored on the public part only, while the competition runs
    assert record["scores"] == pytest.approx(expected_scores(y[public], pred[public]), abs=1.01e-4)
    assert record["private_scores"] is None
    csv = write_predictions(tmp_path / "pred.csv", ids[::-1], pred[::-1], fmt="csv")
    rec2 = submit_predictions(server.url, server.tokens["bob"], "v25", csv, model="csv-run")
    assert rec2["scores"] == pytest.approx(record["scores"])
    with server.client("carol") as c:  # anyone may read scores and the ranking
        assert c.get(f"/api/submissions/{record['id']}").json() == record
        ranking = c.get("/api/versions/v25/ranking").json()["submissions"]
    assert {record["id"], rec2["id"]} <= {r["id"] for r in ranking}
    macro = [r["scores"]["macro_f1"] for r in ranking]
    assert macro == sorted(macro, reverse=True) and [r["rank"] for r in ranking] == list(
        range(1, len(ranking) + 1)
    )
    out = download_split(server.url, server.tokens["carol"], "v25", "test", tmp_path / "test.parquet")
    assert pq.read_table(out).num_rows == len(ids)


def test_only_the_submitter_reads_raw_predictions(server: Server, truth, tmp_path: Path) -> None:
    ids, y = truth
    pred = perturbed(y, 10, seed=2)
    rec = submit_predictions(
        server.url, server.tokens["alice"], "v25", write_predictions(tmp_path / "p.parquet", ids, pred)
    )
    with server.client("alice") as c:
        r = c.get(f"/api/submissions/{rec['id']}/predictions")
    assert r.status_code == 200
    back = pq.read_table(io.BytesIO(r.content))
    assert back["sample_id"].to_pylist() == ids and back["label"].to_pylist() == pred.tolist()
    with server.client("bob") as c:
        denied = c.get(f"/api/submissions/{rec['id']}/predictions")
        assert denied.status_code == 403 and "only the researcher" in denied.json()["detail"]
        assert c.get(f"/api/submissions/{rec['id']}").json()["scores"] == rec["scores"]
        assert c.get("/api/submissions/999999").status_code == 404


def test_bad_uploads_are_rejected_and_the_store_is_unharmed(server: Server, truth, tmp_path: Path) -> None:
    ids, y = truth
    before = count(server)
    post = lambda c, body, **kw: c.post("/api/versions/v25/submissions", content=body, **kw)  # noqa: E731
    with server.client("bob") as c:
        short = write_predictions(tmp_path / "short.parquet", ids[:-3], y[:-3]).read_bytes()
        r = post(c, short)
        assert r.status_code == 422
        assert "3 test sample_id(s) have no prediction" in r.json()["problems"][0]
        assert all(s in r.text for s in ids[-3:])
        dup = write_predictions(tmp_path / "dup.parquet", [*ids[:-1], ids[0]], np.r_[y[:-1], 1]).read_bytes()
        problems = post(c, dup).json()["problems"]
        assert "appear more than once" in problems[0] and ids[-1] in problems[1]
        extra = write_predictions(tmp_path / "extra.parquet", [*ids, "x"], np.r_[y, 1]).read_bytes()
        r = post(c, extra)  # refused by the footer's row count, before decoding
        assert r.status_code == 422 and f"the test split has {len(ids)}" in r.json()["detail"]
        bad = np.r_[y[:-1], 7]
        r = post(c, write_predictions(tmp_path / "bad.parquet", ids, bad).read_bytes())
        assert r.status_code == 422 and f"sample_id '{ids[-1]}'" in r.json()["problems"][0]
        assert post(c, b"\x00\xff" * 500).status_code == 400
        truncated = write_predictions(tmp_path / "t.parquet", ids, y).read_bytes()[:-40]
        assert post(c, truncated).status_code == 400
        oversized = b"sample_id,label\n" + b"x" * int(MAX_UPLOAD_MB * 2**20 + 10)
        r = post(c, oversized)
        assert r.status_code == 413 and "exceeds the limit" in r.json()["detail"]

        async def chunked() -> None:  # no Content-Length: the limit is enforced while reading
            async def body():
                for _ in range(40):
                    yield b"y" * 10_000

            async with httpx.AsyncClient(base_url=server.url, headers=c.headers) as ac:
                resp = await ac.post("/api/versions/v25/submissions", content=body())
                assert resp.status_code == 413

        asyncio.run(chunked())
        assert post(c, short, params={"model": "m" * 200}).status_code == 422
        assert c.post("/api/versions/nope/submissions", content=short).status_code == 404
    with pytest.raises(LeaderboardError, match="no prediction") as info:
        submit_predictions(server.url, server.tokens["bob"], "v25", tmp_path / "short.parquet")
    assert info.value.status == 422
    assert count(server) == before  # nothing stored, nothing harmed
    ok = submit_predictions(
        server.url, server.tokens["bob"], "v25", write_predictions(tmp_path / "ok.parquet", ids, y)
    )
    assert ok["scores"]["macro_f1"] == 1.0 and count(server) == before + 1


def test_fifty_concurrent_submissions_are_all_recorded(server: Server, truth) -> None:
    ids, y = truth
    before = count(server)
    preds = [perturbed(y, k, seed=100 + k) for k in range(50)]
    bodies = []
    for p in preds:
        buf = io.BytesIO()
        pq.write_table(pa.table({"sample_id": pa.array(ids), "label": pa.array(p, pa.int8())}), buf)
        bodies.append(buf.getvalue())
    who = ["alice", "bob", "carol"]

    async def fire() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as ac:
            return await asyncio.gather(
                *(
                    ac.post(
                        "/api/versions/v25/submissions",
                        params={"model": f"concurrent-{i}"},
                        content=body,
                        headers={"Authorization": f"Bearer {server.tokens[who[i % 3]]}"},
                    )
                    for i, body in enumerate(bodies)
                )
            )

    responses = asyncio.run(fire())
    assert [r.status_code for r in responses] == [201] * 50
    records = [r.json() for r in responses]
    assert len({r["id"] for r in records}) == 50
    public = server.public_mask()
    for i, rec in enumerate(records):
        assert rec["model"] == f"concurrent-{i}" and rec["researcher"] == who[i % 3]
        assert rec["scores"] == pytest.approx(expected_scores(y[public], preds[i][public]), abs=1.01e-4)
    with server.client("alice") as c:
        ranking = c.get("/api/versions/v25/ranking").json()["submissions"]
        stored = {r["id"]: r for r in ranking}
        assert len(ranking) == before + 50
        for rec in records:
            assert stored[rec["id"]]["scores"] == rec["scores"]
        own = [r for r in records if r["researcher"] == "alice"]
        for rec in own:  # raw predictions stored intact, too
            got = pq.read_table(io.BytesIO(c.get(f"/api/submissions/{rec['id']}/predictions").content))
            assert got["label"].to_pylist() == preds[int(rec["model"].split("-")[1])].tolist()


def test_restart_keeps_everything_and_logs_hold_no_test_data(server: Server, truth, tmp_path: Path) -> None:
    ids, y = truth
    submit_predictions(
        server.url, server.tokens["carol"], "v25", write_predictions(tmp_path / "p.parquet", ids, y)
    )
    with server.client("carol") as c:
        before = c.get("/api/versions/v25/ranking").json()
        version = c.get("/api/versions/v25").json()
    assert before["submissions"]
    server.kill()  # SIGKILL: no clean shutdown
    server.start()
    with server.client("carol") as c:
        assert c.get("/api/versions/v25/ranking").json() == before
        assert c.get("/api/versions/v25").json() == version
        assert c.get("/api/versions/v25/splits/test").status_code == 200
    log = server.log_text()
    assert "submission" in log and "POST /api/versions/v25/submissions" in log
    leaked = [s for s in ids if s in log]
    assert leaked == []  # no test sample id (and so no id-label pair) was ever logged
