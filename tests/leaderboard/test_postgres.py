"""The same service on PostgreSQL: a throwaway cluster on 127.0.0.1, the same migrations and API."""

from __future__ import annotations

import asyncio
import glob
import io
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO, run_cli
from tests.leaderboard.conftest import Server, answer_labels, free_port


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; on our machines and CI the tests are root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        subprocess.run(["bash", str(REPO / "scripts" / "ensure-postgres.sh")], check=True)
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="clb-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "lb", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    subprocess.run(
        _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            _as_postgres(
                [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "lb", "leaderboard"]
            ),
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://lb@127.0.0.1:{port}/leaderboard"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]))
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow  # starts a PostgreSQL cluster
def test_postgres_serves_the_same_api(postgres_url: str, tiny_dataset: Path, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from campaignlab.leaderboard.store import Store, metadata

    data_dir = tmp_path / "data"
    add = ("leaderboard", "add-version", "v25", "--dataset", tiny_dataset, "--db", postgres_url)
    add = (*add, "--allow-guessable-seed")
    missing_dir = run_cli(*add)
    assert missing_dir.returncode == 2 and "--data-dir" in missing_dir.stderr
    run_cli(*add, "--data-dir", data_dir, check=True)
    store = Store(postgres_url)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.dispose()
    token = run_cli("leaderboard", "create-token", "--db", postgres_url, "--researcher", "dana", check=True)

    srv = Server(tmp_path, Path("unused"), free_port(), {"dana": token.stdout.strip()})
    srv.serve_args = ["--db", postgres_url, "--data-dir", str(data_dir)]
    srv.start()
    try:
        truth = answer_labels(tiny_dataset)
        ids, y = truth["sample_id"].to_pylist(), np.asarray(truth["label"], np.int8)
        bodies = []
        for k in range(12):
            pred = y.copy()
            pred[: 5 * k] = (pred[: 5 * k] + 1) % 3
            buf = io.BytesIO()
            pq.write_table(pa.table({"sample_id": pa.array(ids), "label": pa.array(pred)}), buf)
            bodies.append(buf.getvalue())

        async def fire() -> list[httpx.Response]:
            headers = {"Authorization": f"Bearer {srv.tokens['dana']}"}
            async with httpx.AsyncClient(base_url=srv.url, headers=headers, timeout=120) as ac:
                return await asyncio.gather(
                    *(ac.post("/api/versions/v25/submissions", content=b) for b in bodies)
                )

        assert [r.status_code for r in asyncio.run(fire())] == [201] * 12
        # Idempotency-Key on PostgreSQL too: a retry returns the stored submission.
        with srv.client("dana") as c:
            first = c.post(
                "/api/versions/v25/submissions", content=bodies[3], headers={"Idempotency-Key": "k1"}
            )
            again = c.post(
                "/api/versions/v25/submissions", content=bodies[3], headers={"Idempotency-Key": "k1"}
            )
            assert first.status_code == again.status_code == 201 and first.json() == again.json()
            assert again.headers["idempotent-replayed"] == "true"
        with srv.client("dana") as c:
            ranking = c.get("/api/versions/v25/ranking").json()["submissions"]
            assert len(ranking) == 13 and ranking[0]["scores"]["macro_f1"] == 1.0
            test = pq.read_table(io.BytesIO(c.get("/api/versions/v25/splits/test").content))
            assert "label" not in test.column_names and test.num_rows == len(ids)
        srv.kill()
        srv.start()
        with srv.client("dana") as c:
            assert c.get("/api/versions/v25/ranking").json()["submissions"] == ranking
        assert httpx.get(srv.url + "/api/versions", timeout=30).status_code == 401
    finally:
        srv.kill(signal.SIGTERM)
