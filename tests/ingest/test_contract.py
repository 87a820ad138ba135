"""Each rejection reason, worked out by hand on tiny inputs: the row goes to the rejects with its row
number, id, field, value and reason; every other row is accepted; accepted + rejected = input."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaignlab.ingest import REASONS, read_campaigns

HEADER = "campaign_id,audience,brand,creative,platform,geo,label,date,owner\n"
GOOD = "{id},Women 25-34 into running,Stride: performance,Short video,TikTok,{geo},{label},2024-03-01,Acme\n"


def good(i: int, geo: str = "10001;02139", label: str = "positive") -> str:
    return GOOD.format(id=f"c{i}", geo=geo, label=label)


def write(tmp_path: Path, body: str, name: str = "c.csv") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body, encoding="utf-8")
    return p


CASES = [
    # (bad line, field, value, reason)
    (",Women,Brand,Video,TikTok,10001,positive,2024-03-01,Acme\n", "campaign_id", "", "missing_id"),
    ("x1,Women,Brand,   ,TikTok,10001,positive,2024-03-01,Acme\n", "creative", "   ", "empty_text"),
    ("x1,Women,Brand,Video,,10001,positive,2024-03-01,Acme\n", "platform", "", "empty_text"),
    ("x1,Women,Brand,Video,TikTok,,positive,2024-03-01,Acme\n", "geo", "", "missing_geo"),
    ("x1,Women,Brand,Video,TikTok,ABCDE,positive,2024-03-01,Acme\n", "geo", "ABCDE", "malformed_zip"),
    (
        "x1,Women,Brand,Video,TikTok,10001;9021,positive,2024-03-01,Acme\n",
        "geo",
        "10001;9021",
        "malformed_zip",
    ),
    ("x1,Women,Brand,Video,TikTok,10001,,2024-03-01,Acme\n", "label", "", "missing_label"),
    ("x1,Women,Brand,Video,TikTok,10001,great,2024-03-01,Acme\n", "label", "great", "unknown_label"),
    ("x1,Women,Brand,Video,TikTok,10001,3,2024-03-01,Acme\n", "label", "3", "unknown_label"),
    ("x1,Women,Brand,Video,TikTok,10001,positive,2024-02-31,Acme\n", "date", "2024-02-31", "bad_date"),
    ("c1,Women,Brand,Video,TikTok,10001,positive,2024-03-01,Acme\n", "campaign_id", "c1", "duplicate_id"),
    (
        "x1,Women,Brand,Video,TikTok,10001,positive,2024-03-01,Acme,extra\n",
        "(record)",
        None,
        "malformed_record",
    ),
]


@pytest.mark.parametrize(("line", "field", "value", "reason"), CASES, ids=[c[3] + "-" + c[1] for c in CASES])
def test_each_rejection_reason(tmp_path: Path, line: str, field: str, value: str | None, reason: str) -> None:
    # Prepare: two good rows around the bad one (row 2, line 3 of the file).
    src = write(tmp_path, good(1) + line + good(3))
    # Execute
    t = read_campaigns(src)
    # Assert
    assert t.campaigns["sample_id"].tolist() == ["c1", "c3"]
    assert len(t.campaigns) + len(t.rejected) == 3
    (r,) = t.rejected.to_dict("records")
    assert (r["row"], r["line"], r["field"], r["reason"]) == (2, 3, field, reason)
    if value is not None:
        assert r["value"] == value
    else:
        assert "x1" in r["value"] and "10 fields, the header has 9" in r["message"]
    assert reason in REASONS and "{" not in r["message"]  # a formatted sentence, not a template
    if reason == "duplicate_id":
        assert "row 1" in r["message"]


def test_missing_date_only_when_the_time_split_needs_one(tmp_path: Path) -> None:
    src = write(tmp_path, good(1) + "x2,Women,Brand,Video,TikTok,10001,positive,,Acme\n")
    assert len(read_campaigns(src).rejected) == 0  # random split: an empty date is fine
    t = read_campaigns(src, require_date=True)
    assert t.rejected[["row", "field", "reason"]].values.tolist() == [[2, "date", "missing_date"]]


def test_every_problem_of_a_row_is_listed(tmp_path: Path) -> None:
    src = write(tmp_path, "x1,,Brand,Video,TikTok,ABCDE,maybe,2024-03-01,Acme\n")
    (r,) = read_campaigns(src).rejected.to_dict("records")
    assert r["field"] == "audience" and r["reason"] == "empty_text"  # the first in contract order
    assert r["problems"] == "audience: empty_text; geo: malformed_zip; label: unknown_label"


def test_values_the_contract_accepts(tmp_path: Path) -> None:
    body = (
        'a,W,B,C,TikTok,"10001, 02139",Positive,2024-03-01,Acme\n'
        "b,W,B,C,TikTok,10001|02139,AVERAGE,2024-03-01T10:00:00,\n"
        "c,W,B,C,TikTok,10001 02139-1234,0,2024-03-01,Acme\n"
        "d,W,B,C,TikTok,\"['10001', '02139']\",2.0,,Acme\n"
        "e,W,B,C,TikTok,10001;;02139;,  negative ,2024-03-01,Acme\n"
    )
    t = read_campaigns(write(tmp_path, body))
    assert t.rejected.empty
    c = t.campaigns.set_index("sample_id")
    assert c["label"].tolist() == [2, 1, 0, 2, 0]
    assert all(g == ["10001", "02139"] for g in c["geo"])
    assert c.loc["b", "owner"] is None and str(c.loc["b", "date"]) == "2024-03-01"
    assert c.loc["d", "date"] is None


def test_mapping_renames_columns_and_maps_outcome_words(tmp_path: Path) -> None:
    src = tmp_path / "agency.csv"
    src.write_text(
        "ID,Who,Story,Caption,Channel,Zips,Result,When\n"
        "A1,Women,Brand,Video,TikTok,1001,Beat target,03/04/2024\n"
        "A2,Women,Brand,Video,TikTok,02139,missed,04/04/2024\n"
        "A3,Women,Brand,Video,TikTok,02139,Missed,31/31/2024\n"
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "campaign_id: ID\naudience: Who\nbrand: Story\ncreative: Caption\nplatform: Channel\ngeo: Zips\n"
        "label: Result\ndate: When\nlabel_values: {Beat target: positive, Missed: 0}\n"
        "date_format: '%d/%m/%Y'\nzip_zero_pad: true\n"
    )
    t = read_campaigns(src, mapping)
    assert t.campaigns["label"].tolist() == [2, 0]
    assert t.campaigns["geo"].tolist() == [["01001"], ["02139"]]
    assert str(t.campaigns["date"].iloc[0]) == "2024-04-03"
    assert t.rejected[["row", "field", "reason"]].values.tolist() == [[3, "date", "bad_date"]]
    assert "expected the date_format '%d/%m/%Y'" in t.rejected["message"].iloc[0]


def test_missing_column_names_the_field_and_the_columns(tmp_path: Path) -> None:
    from campaignlab.errors import DataError

    src = tmp_path / "c.csv"
    src.write_text("campaign_id,audience,brand,creative,platform,zips,label\nc1,a,b,c,d,10001,1\n")
    with pytest.raises(DataError, match=r"geo: column 'geo' not found .*'zips'"):
        read_campaigns(src)
    bad_map = tmp_path / "m.yaml"
    bad_map.write_text("geo: ZIP Codes\n")
    with pytest.raises(DataError, match=r"mapping says geo: 'ZIP Codes'"):
        read_campaigns(src, bad_map)
    typo = tmp_path / "t.yaml"
    typo.write_text("gео: zips\n")  # a typo'd key (Cyrillic letters) is refused, not ignored
    from campaignlab.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown key"):
        read_campaigns(src, typo)


def test_unlabelled_reads_no_label(tmp_path: Path) -> None:
    src = tmp_path / "new.csv"
    src.write_text("campaign_id,audience,brand,creative,platform,geo\nn1,a,b,c,TikTok,10001\n")
    t = read_campaigns(src, unlabelled=True)
    assert t.campaigns["label"].tolist() == [-1] and t.rejected.empty
