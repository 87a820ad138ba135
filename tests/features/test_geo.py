"""PDFM loading in Google's formats, the stand-in table, and centroid pooling (answers worked by hand)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from campaignlab.errors import DataError
from campaignlab.features import geo


def write_place_csv(path, rows: dict[str, list[float]], extra: bool = False) -> None:
    d = len(next(iter(rows.values())))
    header = ["place", *(["state", "city"] if extra else []), *[f"feature{i}" for i in range(d)]]
    lines = [",".join(header)]
    for place, vec in rows.items():
        lines.append(",".join([place, *(["XX", "Town"] if extra else []), *map(str, vec)]))
    path.write_text("\n".join(lines) + "\n")


def test_place_csv_keeps_leading_zeros_and_skips_other_place_types(tmp_path):
    p = tmp_path / "pdfm.csv"
    write_place_csv(
        p, {"zip/01001": [1.0, 2.0], "zip/94107": [3.0, 4.0], "county/geoId/06075": [9.0, 9.0]}, extra=True
    )
    t = geo.load_pdfm(p)
    assert t.zips == ["01001", "94107"] and t.dims == 2 and not t.standin
    np.testing.assert_array_equal(t.vectors, np.array([[1, 2], [3, 4]], np.float32))
    assert t.vectors.dtype == np.float32


def test_export_formats_place_name_and_features_array(tmp_path):
    rows = [
        {"place_name": "zip/01001", "features": [1.0, 2.0, 3.0]},
        {"place_name": "2134", "features": [4, 5, 6]},
    ]
    csv = tmp_path / "export.csv"
    pd.DataFrame(
        {"place_name": [r["place_name"] for r in rows], "features": [json.dumps(r["features"]) for r in rows]}
    ).to_csv(csv, index=False)
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    js = tmp_path / "export.json.gz"
    js.write_bytes(gzip.compress(json.dumps(rows).encode()))
    pq_path = tmp_path / "export.parquet"
    pd.DataFrame(rows).to_parquet(pq_path)
    for path in (csv, jsonl, js, pq_path):
        t = geo.load_pdfm(path)
        assert t.zips == ["01001", "02134"], path
        np.testing.assert_array_equal(t.vectors, np.array([[1, 2, 3], [4, 5, 6]], np.float32))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("place,feature0,feature2\nzip/01001,1,2\n", "without gaps"),
        ("place,feature0,feature1\nzip/01001,1,abc\n", "numeric"),
        ("place,feature0,feature1\nzip/01001,1,\n", "non-finite"),
        ("place,feature0\nzip/01001,1\nzip/01001,2\n", "more than once"),
        ("place,feature0\ncounty/x,1\n", "no ZIP rows"),
        ("zip,value\n01001,1\n", "expected 'place'"),
        ('place_name,features\nzip/01001,"[1, 2]"\nzip/01002,"[1, 2, 3]"\n', "same length"),
        ('place_name,features\nzip/01001,"not json"\n', "JSON array"),
    ],
)
def test_wrong_shapes_fail_clearly(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(DataError, match=message):
        geo.load_pdfm(p)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        geo.load_pdfm(tmp_path / "nope.csv")


def test_normalize_zip():
    assert geo.normalize_zip("zip/01001") == "01001"
    assert geo.normalize_zip(1001) == "01001"
    assert geo.normalize_zip(" 94107 ") == "94107"
    assert geo.normalize_zip("county/06075") is None
    assert geo.normalize_zip("941070") is None
    assert geo.normalize_zip(None) is None


def test_pool_centroid_coverage_and_missing_policy():
    table = geo.PdfmTable(["00001", "00002", "00003"], np.array([[1, 0], [0, 1], [4, 4]], np.float32), "hand")
    out, stats = geo.pool(
        [["00001", "00002"], ["00001", "99999"], ["99999"], ["00003", "00001", "00002"]], table
    )
    assert out.shape == (4, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], [0.5, 0.5, 1.0, 0.0])  # mean of two, all found
    np.testing.assert_allclose(out[1], [1.0, 0.0, 0.5, 0.0])  # missing ZIP skipped, coverage 1/2
    np.testing.assert_allclose(out[2], [0.0, 0.0, 0.0, 1.0])  # none found: zeros + missing flag
    np.testing.assert_allclose(out[3], [5 / 3, 5 / 3, 1.0, 0.0])
    assert stats == {"zips_total": 8, "zips_found": 6, "distinct_zips_missing": 1, "samples_without_geo": 1}


def test_standin_is_deterministic_local_and_round_trips_through_csv(tmp_path):
    zips = ["01001", "01002", "94107", "94110", "10001"]
    t1, t2 = geo.standin_table(zips), geo.standin_table(zips[::-1])
    assert t1.standin and "stand-in" in t1.source and "NOT Google PDFM" in t1.source
    assert t1.zips == sorted(zips) and t1.dims == geo.PDFM_DIMS
    np.testing.assert_array_equal(t1.vectors, t2.vectors)

    def cos(a, b):
        va, vb = t1.vectors[t1.index[a]], t1.vectors[t1.index[b]]
        return float(va @ vb / np.linalg.norm(va) / np.linalg.norm(vb))

    # Neighbouring ZIPs (same state, a few km apart) are closer than ZIPs across the country.
    assert cos("94107", "94110") > cos("94107", "01001") + 0.2
    assert cos("01001", "01002") > cos("01001", "94110") + 0.2

    path = geo.write_standin_csv(tmp_path / "pdfm_standin_zip.csv.gz", zips)
    back = geo.load_pdfm(path)
    assert back.zips == t1.zips
    np.testing.assert_array_equal(back.vectors, t1.vectors)
    head = gzip.decompress(path.read_bytes()).decode().splitlines()[:2]
    assert head[0].startswith("place,feature0,feature1") and head[0].endswith("feature329")
    assert head[1].startswith("zip/01001,")


def test_standin_leaves_unknown_zips_out():
    t = geo.standin_table(["01001", "00000"])
    assert t.zips == ["01001"]


def test_shipped_zip_extract_matches_the_zipcodes_package():
    """The shipped coordinates give the same stand-in as the zipcodes package (the generator's source)."""
    from campaignlab.synth.vocab import pick_zips

    shipped = geo._shipped_coords()
    full = geo._zipcodes_coords()
    assert shipped == full
    picked = [z.zip_code for z in pick_zips(60, 12345)]
    t = geo.standin_table(picked)
    assert t.zips == sorted(picked)
