"""Issue 17's attacks, reproduced against a real `campaignlab leaderboard serve` (uvicorn, 127.0.0.1) at its
default settings, with a version registered the documented way (a dataset generated with a secret seed).

Each test would fail against the release before blind scoring: that server published the generator seed
(regeneration), answered every submission with exact scores (oracle), decoded 10 million rows of a
71 KiB file (bomb), crashed with HTTP 500 on four inputs, and had none of the smaller defences.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaignlab.leaderboard.client import submit_predictions
from tests.conftest import run_cli
from tests.leaderboard.conftest import Server, free_port

pytestmark = pytest.mark.slow  # minutes: a generated dataset, several servers
SECRET_SEED = 0xC3A1_59E2_7D04_B86F_1E2D_93A7_5C60_F4B1  # 128 bits, as secrets.randbits(128) gives
SCALE = 0.01
LIMIT_MB = 200  # the stated bound: no upload makes the server allocate more than this


def parquet_bytes(table: pa.Table, **kw: object) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the next peak is one request's."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


@pytest.fixture(scope="module")
def secret_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("blind") / "v25_secret"
    run_cli("generate", "--preset", "v25", "--scale", SCALE, "--seed", SECRET_SEED, "--out", out, check=True)
    return out


@pytest.fixture(scope="module")
def blind(secret_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Version v25s registered with the CLI's defaults, served with every default setting."""
    root = tmp_path_factory.mktemp("blind-server")
    db = root / "lb.db"
    run_cli("leaderboard", "add-version", "v25s", "--dataset", secret_dataset, "--db", db, check=True)
    srv = Server(root, db, free_port(), extra_args=[])
    for who in ("mallory", "eve", "dave", "trent"):
        token = run_cli("leaderboard", "create-token", "--db", db, "--researcher", who, check=True)
        srv.tokens[who] = token.stdout.strip()
    srv.start()
    yield srv
    srv.kill()


def test_regeneration_attack_finds_nothing_to_regenerate_from(blind: Server, secret_dataset: Path) -> None:
    from campaignlab.synth import dataset
    from campaignlab.synth.config import resolve_generator_config

    # The attacker reads everything the server publishes about the version.
    with blind.client("mallory") as c:
        version = c.get("/api/versions/v25s").json()
        listing = c.get("/api/versions").json()
        test = pq.read_table(io.BytesIO(c.get("/api/versions/v25s/splits/test").content))
    published = json.dumps([version, listing])
    assert "seed" not in published and version["labels_reconstructible"] is False
    assert version["preset"] == "v25" and version["n_train"] + version["n_test"] == 600  # scale 0.01
    # No published hash is a hash of a file that holds test labels.
    for name in ("samples.parquet",):
        assert hashlib.sha256((secret_dataset / name).read_bytes()).hexdigest() not in published
    texts = ("audience", "brand", "creative", "platform", "geo")
    served = test.select(["sample_id", *texts]).to_pylist()

    def regenerated_labels(samples: pa.Table) -> dict[str, int] | None:
        """The attack: match the served test texts in a regenerated dataset, read off their labels."""
        rows = {r["sample_id"]: r for r in samples.select(["sample_id", "label", *texts]).to_pylist()}
        for s in served:
            r = rows.get(s["sample_id"])
            if r is None or any(r[t] != s[t] for t in texts):
                return None
        return {s["sample_id"]: rows[s["sample_id"]]["label"] for s in served}

    # Control: with the secret seed the attack works (so this test can fail): every label recovered.
    own = pq.read_table(secret_dataset / "samples.parquet")
    assert regenerated_labels(own) is not None
    # The attack as the issue ran it: the published seed (none now), then the usual guesses.
    guesses = [int(v) for k, v in version.items() if k == "seed"] + [1, 42]
    for seed in guesses:
        cfg = resolve_generator_config({"preset": version["preset"], "scale": SCALE, "seed": seed})
        data = dataset.generate(cfg)
        assert regenerated_labels(data.samples) is None, f"seed {seed} regenerated the test split"
        # Nor can a guess be confirmed offline against a published hash.
        buf = io.BytesIO()
        pq.write_table(data.samples, buf)
        assert hashlib.sha256(buf.getvalue()).hexdigest() not in published


def test_per_sample_oracle_recovers_no_private_label_and_stops_at_the_quota(blind: Server) -> None:
    from campaignlab.leaderboard.store import Store

    with blind.client("mallory") as c:
        version = c.get("/api/versions/v25s").json()
        ids = pq.read_table(io.BytesIO(c.get("/api/versions/v25s/splits/test").content))["sample_id"]
        ids = ids.to_pylist()

        def submit(labels: np.ndarray) -> httpx.Response:
            body = parquet_bytes(pa.table({"sample_id": pa.array(ids), "label": pa.array(labels, pa.int8())}))
            return c.post("/api/versions/v25s/submissions", content=body)

        # The attack: an all-zero submission, then one per sample with that sample set to 1.
        base = submit(np.zeros(len(ids), np.int8))
        assert base.status_code == 201
        base_score = base.json()["scores"]
        answers: list[tuple[int, httpx.Response]] = []
        for i in range(len(ids)):
            probe = np.zeros(len(ids), np.int8)
            probe[i] = 1
            r = submit(probe)
            answers.append((i, r))
            if r.status_code != 201:
                break
    accepted = [(i, r) for i, r in answers if r.status_code == 201]
    refused = answers[-1][1]
    # The quota stops it: 5 submissions a day (the default), then 429 with a Retry-After.
    assert 1 + len(accepted) == version["scoring"]["daily_quota"] == 5
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 86400
    assert "5 submissions allowed per version and UTC day" in refused.json()["detail"]
    # Scores are rounded to the stated precision and there is no private score while it runs.
    for r in (base, *(r for _, r in accepted)):
        assert r.json()["private_scores"] is None
        assert all(round(v, 4) == v for v in r.json()["scores"].values())
    # What the probes could tell: a changed score only for public samples (which is secret).
    store = Store(f"sqlite:///{blind.db}")
    public = store.answer_key(store.get_version("v25s")).public
    store.dispose()
    for i, r in accepted:
        if not public[i]:
            assert r.json()["scores"] == base_score, "a private sample moved the score"
    assert len(accepted) <= 4 < len(ids)  # at most 4 labels probed a day, of 180 (half of them private)


def _post(srv: Server, who: str, body: bytes, **kw: object) -> httpx.Response:
    with srv.client(who) as c:
        return c.post("/api/versions/v25s/submissions", content=body, **kw)  # type: ignore[arg-type]


def test_compression_bombs_are_refused_before_decoding_with_bounded_memory(blind: Server) -> None:
    assert blind.proc is not None
    pid = blind.proc.pid
    with blind.client("eve") as c:
        n_test = c.get("/api/versions/v25s").json()["n_test"]
    n = 10_000_000
    # Dictionary-encoded strings without a stored Arrow schema: a plain reader expands every row.
    ids = pa.DictionaryArray.from_arrays(
        pa.array(np.arange(n, dtype=np.int32) % 7), pa.array(list("abcdefg"))
    )
    rows_bomb = parquet_bytes(
        pa.table({"sample_id": ids, "label": pa.array(np.zeros(n, np.int8))}),
        compression="zstd",
        store_schema=False,
    )
    long_id = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n_test, np.int32)), pa.array(["a" * (16 << 20)])
    )
    string_bomb = parquet_bytes(
        pa.table({"sample_id": long_id, "label": pa.array(np.zeros(n_test, np.int8))}),
        compression="zstd",
        store_schema=False,
    )
    wide = {f"prob_{i}": pa.array(np.zeros(n_test, np.int8)) for i in range(20_000)}
    columns_bomb = parquet_bytes(
        pa.table(
            {"sample_id": pa.array(["x"] * n_test), "label": pa.array(np.zeros(n_test, np.int8)), **wide}
        ),
        compression="zstd",
    )
    csv_bomb = b"sample_id,label\n" + b"x,0\n" * 5_000_000
    bombs = [
        ("10 million rows", rows_bomb, 422, f"has {n} rows; the test split has {n_test}"),
        ("a 16 MiB sample_id x rows", string_bomb, 422, "column sample_id holds a value of 16777216 bytes"),
        ("20,000 columns", columns_bomb, 413, "the Parquet footer (metadata) is"),
        ("5 million CSV lines", csv_bomb, 422, "the CSV file has 5000001 lines"),
    ]
    assert len(rows_bomb) < 200 * 1024 and len(string_bomb) < 10 * 1024  # KiB on the wire
    for what, body, status, needle in bombs:
        reset_peak_rss(pid)
        before = peak_rss_mb(pid)
        t0 = time.perf_counter()
        r = _post(blind, "eve", body)
        seconds = time.perf_counter() - t0
        grew = peak_rss_mb(pid) - before
        assert r.status_code == status, (what, r.status_code, r.text[:300])
        assert needle in r.json()["detail"], (what, r.json())
        assert grew < LIMIT_MB, f"{what}: the server's peak memory grew {grew:.0f} MB"
        assert seconds < 30, (what, seconds)
    with blind.client("eve") as c:  # nothing stored, the quota untouched
        assert c.get("/api/versions/v25s/ranking").json()["submissions"] == [] or all(
            s["researcher"] != "eve" for s in c.get("/api/versions/v25s/ranking").json()["submissions"]
        )


def test_the_four_crash_inputs_are_4xx_naming_the_problem(blind: Server, secret_dataset: Path) -> None:
    t = pq.read_table(secret_dataset / "samples.parquet", columns=["sample_id", "split", "label"])
    test = t.filter(pa.compute.equal(t["split"], "test"))
    ids, labels = test["sample_id"].combine_chunks(), np.asarray(test["label"], np.int8)
    with blind.client("trent") as c:
        # 1. ids at and above 2**63 (and below 1) are validated, not passed to the database.
        for path in ("/api/submissions/{}", "/api/submissions/{}/predictions"):
            for bad in (2**63, 2**64 + 5, 0, -1):
                r = c.get(path.format(bad))
                assert r.status_code == 422 and "submission_id" in r.json()["detail"], (path, bad, r.text)
            assert c.get(path.format(2**63 - 1)).status_code == 404
    # 2. an unsigned label column is read (valid labels score; too large ones are named).
    ok = parquet_bytes(pa.table({"sample_id": ids, "label": pa.array(labels.astype(np.uint8))}))
    assert _post(blind, "trent", ok).status_code == 201
    huge = labels.astype(np.uint64)
    huge[0] = 2**64 - 1
    r = _post(blind, "trent", parquet_bytes(pa.table({"sample_id": ids, "label": pa.array(huge)})))
    assert r.status_code == 422 and str(2**64 - 1) in r.json()["problems"][0]
    # 3. a CSV header that repeats a column.
    rows = "".join(f"{s},{v},{v}\n" for s, v in zip(ids.to_pylist(), labels, strict=True))
    r = _post(blind, "trent", ("sample_id,label,label\n" + rows).encode())
    assert r.status_code == 422 and "repeats column name(s) 'label'" in r.json()["detail"]
    # 4. a Parquet string column holding invalid UTF-8.
    raw = pa.array([b"\xff\xfe" + s.encode() for s in ids.to_pylist()], pa.binary()).view(pa.string())
    r = _post(blind, "trent", parquet_bytes(pa.table({"sample_id": raw, "label": pa.array(labels)})))
    assert r.status_code == 422 and "invalid UTF-8" in r.json()["detail"]
    assert 'HTTP/1.1" 500' not in blind.log_text()


def test_model_names_idempotency_headers_and_file_modes(blind: Server, secret_dataset: Path) -> None:
    t = pq.read_table(secret_dataset / "samples.parquet", columns=["sample_id", "split", "label"])
    test = t.filter(pa.compute.equal(t["split"], "test"))
    body = parquet_bytes(test.select(["sample_id", "label"]))
    # Model names: control and bidirectional characters are refused, naming the field and the character.
    for bad in ("a\x00b", "line\r\nbreak", "evil\u202etxt.exe", "zero\u200bwidth"):
        r = _post(blind, "dave", body, params={"model": bad})
        assert r.status_code == 422 and "model" in r.json()["detail"] and "U+" in r.json()["detail"], bad
    # Idempotency-Key: a retry after a lost 201 returns the first submission, stored once.
    key = "retry-7f3a"
    with socket.create_connection(("127.0.0.1", blind.port)) as s:  # the 201 is never read
        s.sendall(
            b"POST /api/versions/v25s/submissions?model=Mod%C3%A8le%20%CE%B2 HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {blind.tokens['dave']}\r\nIdempotency-Key: {key}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        time.sleep(1.0)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with blind.client("dave") as c:
            mine = [
                s
                for s in c.get("/api/versions/v25s/ranking").json()["submissions"]
                if s["researcher"] == "dave"
            ]
        if mine:
            break
        time.sleep(0.2)
    assert len(mine) == 1 and mine[0]["model"] == "Modèle β"  # printable Unicode is fine
    path = secret_dataset.parent / "p.parquet"
    path.write_bytes(body)
    again = submit_predictions(
        blind.url, blind.tokens["dave"], "v25s", path, model="Modèle β", idempotency_key=key
    )
    assert again["id"] == mine[0]["id"]
    r = _post(blind, "dave", body, params={"model": "other"}, headers={"Idempotency-Key": key})
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    with blind.client("dave") as c:
        rows = c.get("/api/versions/v25s/ranking").json()["submissions"]
    assert [s["id"] for s in rows if s["researcher"] == "dave"] == [mine[0]["id"]]
    # Security headers, on the pages and the API.
    for url, headers in (
        (f"{blind.url}/", {}),
        (f"{blind.url}/versions/v25s", {}),
        (f"{blind.url}/api/me", {}),
    ):
        r = httpx.get(url, headers=headers, timeout=30)
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    # The answer key's files are the owner's only.
    for p in (blind.db, Path(f"{blind.db}-wal"), Path(f"{blind.db}-shm")):
        assert p.exists() and stat.S_IMODE(p.stat().st_mode) == 0o600, p


@pytest.fixture(scope="module")
def impatient(
    secret_dataset: Path, blind: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The blind server's database served with 2-second header and body timeouts."""
    srv = Server(
        tmp_path_factory.mktemp("impatient"),
        blind.db,
        free_port(),
        extra_args=["--header-timeout", "2", "--body-timeout", "2"],
    )
    srv.tokens = blind.tokens
    srv.start()
    yield srv
    srv.kill()


def _closed_within(s: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closed the connection within ``seconds`` (and what it sent)."""
    s.settimeout(seconds)
    got = b""
    try:
        while chunk := s.recv(65536):
            got += chunk
        return True, got
    except TimeoutError:
        return False, got
    except ConnectionResetError:
        return True, got


def test_slow_headers_and_trickled_uploads_are_cut_off(impatient: Server) -> None:
    # Slow headers: half a request line, then nothing. The server closes the connection.
    with socket.create_connection(("127.0.0.1", impatient.port)) as s:
        s.sendall(b"POST /api/versions/v25s/submissions HTTP/1.1\r\nHost: x\r\n")
        closed, _ = _closed_within(s, 8)
        assert closed, "slow headers kept the connection open"
    # A trickled upload: headers in, then one byte every half second. 408 naming the timeout.
    with socket.create_connection(("127.0.0.1", impatient.port)) as s:
        s.sendall(
            b"POST /api/versions/v25s/submissions HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {impatient.tokens['eve']}\r\nContent-Length: 100000\r\n\r\n".encode()
        )
        t0 = time.monotonic()
        answer = b""
        s.settimeout(0.5)
        while time.monotonic() - t0 < 8 and b"\r\n\r\n" not in answer:
            try:
                s.sendall(b"x")
                answer += s.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        # The body may come in a later packet than the headers: read up to its declared length.
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
        s.settimeout(5)
        while len(body) < length:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            body += chunk
        assert b"body read timeout of 2 s" in body, body
        assert time.monotonic() - t0 < 6
        # And a client that keeps trickling is disconnected by the header timeout.
        closed = False
        for _ in range(16):
            try:
                s.sendall(b"x")
                time.sleep(0.5)
                if s.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        assert closed, "the trickling client was never disconnected"


def test_reveal_ends_the_competition_and_ranks_on_the_private_part(blind: Server) -> None:
    # Runs last in this module: after it, v25s takes no more submissions.
    with blind.client("trent") as c:
        before = c.get("/api/versions/v25s/ranking").json()
    assert before["ranked_on"] == "public" and before["submissions"]
    assert all(s["private_scores"] is None for s in before["submissions"])
    bad = run_cli(
        "leaderboard",
        "add-version",
        "x",
        "--dataset",
        blind.root,
        "--db",
        blind.db,
        "--ends-at",
        "2030-01-01T00:00",
    )
    assert bad.returncode == 2 and "ends_at" in bad.stderr and "zone" in bad.stderr
    out = run_cli("leaderboard", "reveal", "v25s", "--db", blind.db, check=True)
    assert "the private part now ranks" in out.stdout
    with blind.client("trent") as c:
        after = c.get("/api/versions/v25s/ranking").json()
        version = c.get("/api/versions/v25s").json()
        refused = c.post("/api/versions/v25s/submissions", content=b"sample_id,label\n")
    assert version["competition"]["ended"] is True and after["ranked_on"] == "private"
    rows = after["submissions"]
    assert all(s["private_scores"] is not None for s in rows)
    macro = [s["private_scores"]["macro_f1"] for s in rows]
    assert macro == sorted(macro, reverse=True)
    assert {s["id"]: s["scores"] for s in rows} == {s["id"]: s["scores"] for s in before["submissions"]}
    assert refused.status_code == 409 and "competition ended" in refused.json()["detail"]
    page = httpx.get(f"{blind.url}/versions/v25s", timeout=30).text
    assert "private part of the test split" in page and "public macro F1" in page
