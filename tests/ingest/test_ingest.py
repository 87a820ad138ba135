"""``campaignlab ingest`` end to end on the example export: its own columns, outcome words and broken rows."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from campaignlab.io import read_json
from tests.conftest import REPO, run_cli

EXAMPLE = REPO / "examples" / "campaigns.csv"
MAPPING = REPO / "examples" / "mapping.yaml"


def records_in(path: Path) -> int:
    """Records of a CSV file as Python's csv module counts them (quoted newlines included)."""
    text = path.read_bytes().decode("utf-8-sig")
    return sum(1 for row in csv.reader(io.StringIO(text, newline="")) if row) - 1


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ingest") / "campaigns"
    run_cli("ingest", EXAMPLE, "--mapping", MAPPING, "--split", "time", "--out", out, check=True)
    return out


def test_nothing_is_dropped_and_every_reject_has_a_row_and_reason(ingested: Path) -> None:
    samples = pq.read_table(ingested / "samples.parquet").to_pandas()
    rejected = pq.read_table(ingested / "rejected.parquet").to_pandas()
    m = read_json(ingested / "manifest.json")
    assert len(samples) + len(rejected) == m["num_input_rows"] == records_in(EXAMPLE)
    assert set(rejected["reason"]) == {
        "missing_label",
        "unknown_label",
        "empty_text",
        "malformed_zip",
        "bad_date",
        "duplicate_id",
        "malformed_record",
    }
    assert rejected["row"].notna().all() and rejected["line"].notna().all()
    assert rejected["message"].str.len().min() > 5
    # A reported line really is that record's first line in the file.
    lines = EXAMPLE.read_bytes().decode("utf-8-sig").splitlines()  # what an editor numbers
    for r in rejected[rejected["reason"] != "malformed_record"].head(20).itertuples():
        assert lines[int(r.line) - 1].startswith(str(r.campaign_id) + ","), r
    # Source rows of accepted and rejected records are disjoint and cover 1..N.
    rows = sorted(samples["source_row"].tolist() + rejected["row"].tolist())
    assert rows == list(range(1, m["num_input_rows"] + 1))


def test_samples_follow_the_generators_contract(ingested: Path, tiny_dataset: Path) -> None:
    mine = pq.read_schema(ingested / "samples.parquet")
    theirs = pq.read_schema(tiny_dataset / "samples.parquet")
    for col in ("sample_id", "split", "label", "audience", "brand", "creative", "platform", "geo"):
        assert mine.field(col).type == theirs.field(col).type, col
    assert str(mine.field("date").type) == "date32[day]" and str(mine.field("owner").type) == "string"


def test_time_split_puts_the_latest_campaigns_in_test(ingested: Path) -> None:
    s = pq.read_table(ingested / "samples.parquet").to_pandas()
    m = read_json(ingested / "manifest.json")
    train, test = s[s["split"] == "train"], s[s["split"] == "test"]
    assert train["date"].max() < test["date"].min()
    assert str(test["date"].min()) == m["split"]["cutoff_date"]
    assert abs(len(test) / len(s) - 0.2) < 0.02


def test_manifest_records_source_mapping_counts_and_vocabularies(ingested: Path) -> None:
    m = read_json(ingested / "manifest.json")
    assert m["source"]["files"][0]["sha256"] == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
    assert m["source"]["files"][0]["encoding"] == "utf-8-sig"
    assert m["mapping"]["columns"]["campaigns.csv"]["label"] == "Outcome"
    assert m["mapping"]["label_values"] == {"below benchmark": 0, "at benchmark": 1, "above benchmark": 2}
    assert m["vocabularies"]["platform"] == sorted(
        ["Instagram", "TikTok", "YouTube", "Facebook", "LinkedIn", "Pinterest", "Snapchat", "X"]
    )
    assert len(m["vocabularies"]["owner"]) == 5
    s = pq.read_table(ingested / "samples.parquet").to_pandas()
    for split in ("train", "test"):
        part = s[s["split"] == split]
        assert m["counts"][split] == {
            n: int((part["label"] == i).sum()) for i, n in enumerate(("negative", "average", "positive"))
        }
    assert sum(m["rejected_by_reason"].values()) == m["num_rejected"]
    assert m["zip_coverage"]["share_found"] > 0.99


def test_data_report_is_written(ingested: Path) -> None:
    assert (ingested / "data_report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (ingested / "data_report.html").read_text()
    for part in (
        "Class balance",
        "Platforms",
        "Data owners",
        "ZIP coverage",
        "Text lengths",
        "Rejected rows",
    ):
        assert part in page
    assert "data:image/png;base64," in page


def test_too_many_rejects_fail_with_a_summary_and_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    res = run_cli("ingest", EXAMPLE, "--mapping", MAPPING, "--max-rejected", "0.01", "--out", out)
    assert res.returncode == 2
    assert "more than --max-rejected 1%" in res.stderr and "no dataset written" in res.stderr
    assert "duplicate_id" in res.stderr and "campaigns.csv row" in res.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unlabelled_campaigns_to_score(tmp_path: Path) -> None:
    out = tmp_path / "new"
    res = run_cli(
        "ingest",
        REPO / "examples" / "new_campaigns.csv",
        "--mapping",
        MAPPING,
        "--unlabelled",
        "--out",
        out,
        check=True,
    )
    s = pq.read_table(out / "samples.parquet").to_pandas()
    assert len(s) == 200 and set(s["label"]) == {-1} and set(s["split"]) == {"test"}
    assert read_json(out / "manifest.json")["labelled"] is False
    assert "ingested 200 of 200 rows" in res.stdout


def test_time_split_without_dates_is_a_config_error(tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("campaign_id,audience,brand,creative,platform,geo,label\nc1,a,b,c,d,10001,1\n")
    res = run_cli("ingest", src, "--split", "time", "--out", tmp_path / "o")
    assert res.returncode == 2 and "needs a date column" in res.stderr
    res = run_cli("ingest", src, "--split", "sometimes", "--out", tmp_path / "o")
    assert res.returncode == 2 and "split: got 'sometimes'" in res.stderr
