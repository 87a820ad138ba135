"""``ingest gs://...`` and ``ingest bq://...`` with the real google-cloud-storage and google-cloud-bigquery
clients against our fake servers on 127.0.0.1 (endpoints from the environment, as for an emulator)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from campaignlab.io import read_json
from tests.conftest import REPO, run_cli
from tests.fakes.bigquery_server import BigQueryFake
from tests.fakes.gcs_server import GcsFake

EXAMPLE = REPO / "examples" / "campaigns.csv"
MAPPING = REPO / "examples" / "mapping.yaml"


@pytest.fixture
def gcs() -> Iterator[GcsFake]:
    with GcsFake(page_size=2) as fake:  # tiny pages: the client must follow nextPageToken
        yield fake


@pytest.fixture
def bq() -> Iterator[BigQueryFake]:
    with BigQueryFake(page_size=7) as fake:
        yield fake


def test_gcs_object_gives_the_same_dataset_as_the_local_file(gcs: GcsFake, tmp_path: Path) -> None:
    gcs.put("agency-exports", "2025/campaigns.csv", EXAMPLE.read_bytes(), "text/csv")
    env = {"CAMPAIGNLAB_STORAGE_ENDPOINT": gcs.url}
    uri = "gs://agency-exports/2025/campaigns.csv"
    run_cli("ingest", uri, "--mapping", MAPPING, "--out", tmp_path / "gcs", env=env, check=True)
    run_cli("ingest", EXAMPLE, "--mapping", MAPPING, "--out", tmp_path / "local", check=True)
    a = pq.read_table(tmp_path / "gcs" / "samples.parquet").drop(["source"])
    b = pq.read_table(tmp_path / "local" / "samples.parquet").drop(["source"])
    assert a.equals(b)
    m = read_json(tmp_path / "gcs" / "manifest.json")
    assert m["source"]["kind"] == "gcs" and m["source"]["uri"] == "gs://agency-exports/2025/campaigns.csv"
    assert (
        m["source"]["files"][0]["sha256"]
        == read_json(tmp_path / "local" / "manifest.json")["source"]["files"][0]["sha256"]
    )
    assert gcs.calls("download_object")


def test_gcs_prefix_reads_every_part_and_skips_markers(gcs: GcsFake, tmp_path: Path) -> None:
    text = EXAMPLE.read_bytes().decode("utf-8-sig").splitlines(keepends=True)
    header, body = text[0], text[1:]
    # Cut between records (a line starting with an id), so each part is a valid CSV file.
    cuts = [i for i, line in enumerate(body) if line.startswith("CMP-")]
    mid = cuts[len(cuts) // 2]
    gcs.put("bkt", "export/part-000.csv", (header + "".join(body[:mid])).encode())
    gcs.put("bkt", "export/part-001.csv", (header + "".join(body[mid:])).encode())
    gcs.put("bkt", "export/_SUCCESS", b"")
    gcs.put("bkt", "other/ignored.csv", b"x\n")
    out = tmp_path / "ds"
    run_cli(
        "ingest",
        "gs://bkt/export",
        "--mapping",
        MAPPING,
        "--out",
        out,
        env={"CAMPAIGNLAB_STORAGE_ENDPOINT": gcs.url},
        check=True,
    )
    m = read_json(out / "manifest.json")
    assert [f["name"] for f in m["source"]["files"]] == [
        "gs://bkt/export/part-000.csv",
        "gs://bkt/export/part-001.csv",
    ]
    assert m["source"]["skipped"] == ["_SUCCESS"]
    assert m["num_input_rows"] == m["num_samples"] + m["num_rejected"]
    assert len(gcs.calls("list_objects")) >= 2  # paged listing


def test_gcs_errors_name_the_uri(gcs: GcsFake, tmp_path: Path) -> None:
    env = {"CAMPAIGNLAB_STORAGE_ENDPOINT": gcs.url}
    res = run_cli("ingest", "gs://missing-bucket/x.csv", "--out", tmp_path / "o", env=env)
    assert res.returncode == 2 and "gs://missing-bucket/x.csv does not exist" in res.stderr
    gcs.put("bkt", "x.csv", EXAMPLE.read_bytes())
    gcs.fail("download_object", 403, "caller does not have storage.objects.get access")
    res = run_cli("ingest", "gs://bkt/x.csv", "--out", tmp_path / "o", env=env)
    assert res.returncode == 2 and "permission denied reading gs://bkt/x.csv" in res.stderr
    assert "storage.objects.get" in res.stderr and not (tmp_path / "o").exists()


def bq_rows() -> list[dict]:
    rows = []
    for i in range(40):
        rows.append(
            {
                "Campaign_ID": f"BQ-{i:03d}",
                "Target_Audience": f"Adults {20 + i % 30} interested in travel",
                "Brand_Story": "Wander Air: hidden gems, flexible booking.",
                "Creative_Caption": "A short vertical video" if i != 5 else "",
                "Channel": ["TikTok", "YouTube", "Instagram"][i % 3],
                "Zips": ["10001", "02139"] if i != 9 else ["1234x"],
                "Outcome": ["negative", "average", "positive"][i % 3],
                "Launch_Date": dt.date(2024, 1, 1) + dt.timedelta(days=i),
                "Client": ["North", "South"][i % 2],
            }
        )
    return rows


def test_bigquery_table_is_read_with_types_and_rejects(bq: BigQueryFake, tmp_path: Path) -> None:
    bq.add_table("acme-marketing", "exports", "campaigns", bq_rows())
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "campaign_id: Campaign_ID\naudience: Target_Audience\nbrand: Brand_Story\n"
        "creative: Creative_Caption\n"
        "platform: Channel\ngeo: Zips\nlabel: Outcome\ndate: Launch_Date\nowner: Client\n"
    )
    out = tmp_path / "ds"
    res = run_cli(
        "ingest",
        "bq://acme-marketing.exports.campaigns",
        "--mapping",
        mapping,
        "--split",
        "time",
        "--max-rejected",
        "0.1",
        "--out",
        out,
        env={"CAMPAIGNLAB_BIGQUERY_ENDPOINT": bq.url},
        check=True,
    )
    assert "ingested 38 of 40 rows" in res.stdout
    s = pq.read_table(out / "samples.parquet").to_pandas()
    rej = pq.read_table(out / "rejected.parquet").to_pandas()
    assert rej[["row", "campaign_id", "reason"]].values.tolist() == [
        [6, "BQ-005", "empty_text"],
        [10, "BQ-009", "malformed_zip"],
    ]
    assert s["geo"].iloc[0].tolist() == ["10001", "02139"]
    assert str(s[s["split"] == "test"]["date"].min()) >= "2024-02-01"
    m = read_json(out / "manifest.json")
    assert (
        m["source"]["kind"] == "bigquery"
        and m["source"]["files"][0]["table"] == "acme-marketing.exports.campaigns"
    )
    assert len(bq.calls("list_rows")) == 6  # 40 rows in pages of 7


def test_bigquery_errors(bq: BigQueryFake, tmp_path: Path) -> None:
    env = {"CAMPAIGNLAB_BIGQUERY_ENDPOINT": bq.url}
    res = run_cli("ingest", "bq://acme-marketing.exports.nope", "--out", tmp_path / "o", env=env)
    assert res.returncode == 2 and "bq://acme-marketing.exports.nope does not exist" in res.stderr
    res = run_cli("ingest", "bq://not a table", "--out", tmp_path / "o", env=env)
    assert res.returncode == 2 and "expected bq://PROJECT.DATASET.TABLE" in res.stderr
    bq.add_table("p-1", "d", "t", bq_rows())
    bq.fail("list_rows", 403, "Access Denied: Table p-1:d.t: User does not have bigquery.tables.getData")
    res = run_cli("ingest", "bq://p-1.d.t", "--out", tmp_path / "o", env=env)
    assert res.returncode == 2 and "permission denied reading bq://p-1.d.t" in res.stderr
