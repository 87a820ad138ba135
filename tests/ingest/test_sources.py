"""Sources: CSV encodings, BOMs, quoting and delimiters; JSON Lines; Parquet; a folder of files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from campaignlab.errors import DataError
from campaignlab.ingest import read_campaigns

ROWS = [
    {"campaign_id": "c1", "audience": "Femmes 25-34", "brand": "Crème Café, “the original”",
     "creative": 'A "quoted"\ncaption on two lines', "platform": "Instagram", "geo": "10001;02139",
     "label": "positive"},
    {"campaign_id": "c2", "audience": "Hommes 55+", "brand": "Lumière Skin", "creative": "Static image",
     "platform": "Facebook", "geo": "60601", "label": "Negative"},
]  # fmt: skip


def csv_text(delimiter: str = ",") -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(ROWS[0]), delimiter=delimiter, lineterminator="\r\n")
    w.writeheader()
    w.writerows(ROWS)
    return buf.getvalue()


def check(t, n: int = 2) -> None:
    assert t.rejected.empty, t.rejected.to_dict("records")
    c = t.campaigns.set_index("sample_id")
    assert len(c) == n
    assert c.loc["c1", "brand"] == "Crème Café, “the original”"
    assert c.loc["c1", "creative"] == 'A "quoted"\ncaption on two lines'
    assert c.loc["c1", "geo"] == ["10001", "02139"]
    assert c.loc["c2", "label"] == 0


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("cp1252", b"")],
    ids=["utf8", "utf8-bom", "utf16-bom", "cp1252"],
)
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str, bom: bytes) -> None:
    p = tmp_path / "c.csv"
    p.write_bytes(bom + csv_text().encode(encoding))
    t = read_campaigns(p)
    check(t)
    assert t.source.tables[0].details["encoding"] in {
        encoding,
        "utf-8-sig",
        "utf-16",
        "cp1252",
        "windows-1252",
    }
    # The multi-line record keeps its start line: the second record starts on line 4.
    assert t.campaigns["source_row"].tolist() == [1, 2]


def test_csv_explicit_encoding_and_semicolons(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_bytes(csv_text(";").encode("latin-1", errors="replace"))
    with pytest.raises(DataError, match="cannot decode the file as 'ascii'"):
        read_campaigns(p, encoding="ascii")
    t = read_campaigns(p, encoding="latin-1")
    assert t.campaigns.set_index("sample_id").loc["c1", "geo"] == ["10001", "02139"]


def test_jsonl_with_a_broken_line_and_lists(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    lines = [json.dumps({**ROWS[0], "geo": ["10001", 2139]}), "", "{not json", json.dumps(ROWS[1]), "[1, 2]"]
    p.write_text("\n".join(lines) + "\n")
    t = read_campaigns(p)
    assert t.campaigns["geo"].tolist()[0] == ["10001", "02139"]  # an integer ZIP gets its leading zero back
    rej = t.rejected[["row", "line", "reason"]].values.tolist()
    assert rej == [[2, 3, "malformed_record"], [4, 5, "malformed_record"]]
    assert len(t.campaigns) + len(t.rejected) == 4


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    p = tmp_path / "c.parquet"
    table = pa.table(
        {
            "campaign_id": pa.array([101, 102], pa.int64()),
            "audience": ["a", "b"],
            "brand": ["b", None],
            "creative": ["c", "c"],
            "platform": ["TikTok", "X"],
            "geo": pa.array([["10001"], ["02139", "60601"]], pa.list_(pa.string())),
            "label": pa.array([2, 1], pa.int8()),
            "date": pa.array([None, None], pa.date32()),
        }
    )
    pq.write_table(table, p)
    t = read_campaigns(p)
    assert t.campaigns["sample_id"].tolist() == ["101"]
    assert t.rejected[["row", "campaign_id", "field", "reason"]].values.tolist() == [
        [2, "102", "brand", "empty_text"]
    ]
    assert t.source.tables[0].lines == [None, None]


def test_folder_reads_every_file_and_skips_markers(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "part-1.csv").write_text(csv_text())
    (folder / "part-2.jsonl").write_text(json.dumps({**ROWS[0], "campaign_id": "c9"}) + "\n")
    (folder / "_SUCCESS").write_text("")
    t = read_campaigns(folder)
    assert sorted(t.campaigns["sample_id"]) == ["c1", "c2", "c9"]
    assert t.source.skipped == ["_SUCCESS"]
    assert [f.name for f in t.source.tables] == ["part-1.csv", "part-2.jsonl"]
    (folder / "notes.docx").write_text("x")
    with pytest.raises(DataError, match=r"unsupported file\(s\) \['notes.docx'\]"):
        read_campaigns(folder)


def test_duplicate_ids_across_files_name_the_first_file(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "a.csv").write_text(csv_text())
    (folder / "b.csv").write_text(csv_text())
    t = read_campaigns(folder)
    assert len(t.campaigns) == 2 and len(t.rejected) == 2
    assert set(t.rejected["reason"]) == {"duplicate_id"}
    assert "row 1 of a.csv" in t.rejected["message"].iloc[0]


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_campaigns(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        read_campaigns(tmp_path / "empty.csv")
