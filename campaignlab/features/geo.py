"""Geo features: PDFM ZIP embeddings, an offline stand-in table, and centroid pooling.

Google's Population Dynamics Foundation Model (PDFM) embeddings come as

* a CSV with a ``place`` column such as ``zip/01001`` and ``feature0`` .. ``feature329``
  (other columns such as ``state`` or ``city`` are ignored), or
* an export with a ``place_name`` column and a ``features`` array (CSV with a JSON list per row,
  JSON lines, a JSON list of records, or Parquet with a list column).

ZIP codes are always 5-character strings: ``zip/01001``, ``01001`` and a number that lost its leading
zero (``1001``) all become ``"01001"``. Rows for other place types (``county/...``) are skipped.

Pooling (report, "Geo"): a sample's vector is the centroid (mean) of the PDFM vectors of its ZIPs,
followed by two extra features: the fraction of its ZIPs found in the table, and a missing flag.
Policy for ZIPs absent from the table: they are skipped (the centroid is over the ZIPs found); when
none is found the centroid is all zeros and the missing flag is 1.0.

PDFM itself cannot be shipped, so ``standin_table`` derives a **PDFM stand-in** for any real ZIP from
its coordinates and state (``zipcodes`` package), deterministically: smooth random Fourier features
of the position on the sphere (nearby ZIPs get similar vectors) plus a per-state component. It has
PDFM's 330 dimensions and can be written in PDFM's CSV format (``write_standin_csv``, or
``python -m campaignlab.features.geo --out pdfm_standin_zip.csv``). It is a stand-in, not PDFM.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from campaignlab.errors import DataError

PDFM_DIMS = 330
STANDIN_NAME = "PDFM stand-in (derived from ZIP coordinates and state; NOT Google PDFM)"
# Fixed seed of the stand-in's projection: changing it changes every stand-in vector.
_STANDIN_SEED = 20240501
# Length scales (km) of the stand-in's spatial bands: country-wide, regional and metro-level structure.
_STANDIN_BANDS_KM = (3000.0, 800.0, 200.0, 50.0)
_STANDIN_STATE_DIMS = 42
_EARTH_RADIUS_KM = 6371.0


@dataclass
class PdfmTable:
    """ZIP -> vector table.

    Attributes:
        zips: 5-character ZIP strings (n,).
        vectors: (n, dims) float32.
        source: file path or the stand-in's name.
        standin: True for the offline stand-in.
    """

    zips: list[str]
    vectors: np.ndarray
    source: str
    standin: bool = False
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {z: i for i, z in enumerate(self.zips)}

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])


def normalize_zip(value: object) -> str | None:
    """``zip/01001``, ``01001``, ``1001`` -> ``"01001"``; other place types or junk -> None."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        s = str(int(value))
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or value != int(value):
            return None
        s = str(int(value))
    else:
        s = str(value).strip()
    if "/" in s:
        kind, _, s = s.partition("/")
        if kind.lower() not in ("zip", "zcta", "zipcode", "zcta5"):
            return None
    if not s.isdigit() or len(s) > 5:
        return None
    return s.zfill(5)


# --- loading -------------------------------------------------------------------------------------


def load_pdfm(path: str | Path) -> PdfmTable:
    """Load a PDFM ZIP table in any of the formats Google publishes (see the module docstring).

    Raises:
        DataError: unreadable file, no place column, features missing, of unequal length, not
            numeric or not finite, duplicate ZIPs, or no ZIP row at all.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise DataError(f"pdfm: {str(p)!r} does not exist")
    name = p.name.lower()
    try:
        if name.endswith(".parquet"):
            df = pd.read_parquet(p)
        elif name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            df = pd.read_json(p, lines=True, dtype=False)
        elif name.endswith((".json", ".json.gz")):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(p, "rt") as fh:
                df = pd.DataFrame(json.load(fh))
        else:
            # Place columns as strings so ZIPs keep their leading zeros.
            df = pd.read_csv(p, dtype={"place": str, "place_name": str}, low_memory=False)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise DataError(f"pdfm: {str(p)!r} is not a readable PDFM table: {err}") from None
    return table_from_frame(df, str(p))


def table_from_frame(df: object, source: str) -> PdfmTable:
    """Build a :class:`PdfmTable` from a DataFrame in either PDFM layout (validated)."""
    import pandas as pd

    assert isinstance(df, pd.DataFrame)
    feat_cols = [c for c in df.columns if isinstance(c, str) and c.startswith("feature") and c[7:].isdigit()]
    if "place" in df.columns and feat_cols:
        nums = sorted(int(c[7:]) for c in feat_cols)
        if nums != list(range(len(nums))):
            gaps = sorted(set(range(max(nums) + 1)) - set(nums))[:5]
            raise DataError(
                f"pdfm: {source!r}: feature columns must be feature0..feature{len(nums) - 1} "
                f"without gaps; missing e.g. {['feature' + str(g) for g in gaps]}"
            )
        places = df["place"].tolist()
        try:
            mat = df[[f"feature{i}" for i in range(len(nums))]].to_numpy(dtype=np.float64)
        except (ValueError, TypeError):
            raise DataError(f"pdfm: {source!r}: feature columns must be numeric") from None
    elif "place_name" in df.columns and "features" in df.columns:
        places = df["place_name"].tolist()
        rows = [_parse_vector(v, source, i) for i, v in enumerate(df["features"].tolist())]
        lengths = {len(r) for r in rows}
        if len(lengths) > 1:
            bad = next(i for i, r in enumerate(rows) if len(r) != len(rows[0]))
            raise DataError(
                f"pdfm: {source!r}: every 'features' array must have the same length; row 0 has "
                f"{len(rows[0])}, row {bad} has {len(rows[bad])}"
            )
        mat = np.asarray(rows, dtype=np.float64) if rows else np.zeros((0, 0))
    else:
        raise DataError(
            f"pdfm: {source!r} has columns {list(df.columns)[:8]}...; expected 'place' with "
            "'feature0'..'featureN', or 'place_name' with a 'features' array"
        )
    if mat.ndim != 2 or mat.shape[1] == 0:
        raise DataError(f"pdfm: {source!r}: no feature values (shape {mat.shape})")
    zips = [normalize_zip(v) for v in places]
    keep = np.array([z is not None for z in zips], dtype=bool)
    if not keep.any():
        raise DataError(f"pdfm: {source!r}: no ZIP rows (places like 'zip/01001'); first place {places[:1]}")
    mat = mat[keep]
    kept = [z for z in zips if z is not None]
    if not np.isfinite(mat).all():
        row = int(np.flatnonzero(~np.isfinite(mat).all(1))[0])
        raise DataError(f"pdfm: {source!r}: ZIP {kept[row]} has missing or non-finite feature values")
    if len(set(kept)) != len(kept):
        seen: set[str] = set()
        dup = next(z for z in kept if z in seen or seen.add(z))  # type: ignore[func-returns-value]
        raise DataError(f"pdfm: {source!r}: ZIP {dup} appears more than once")
    return PdfmTable(kept, mat.astype(np.float32), source, standin=False)


def _parse_vector(value: object, source: str, row: int) -> list[float]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DataError(f"pdfm: {source!r} row {row}: 'features' is not a JSON array") from None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise DataError(
            f"pdfm: {source!r} row {row}: 'features' must be an array, got {type(value).__name__}"
        )
    try:
        return [float(x) for x in value]
    except (TypeError, ValueError):
        raise DataError(f"pdfm: {source!r} row {row}: 'features' must hold numbers") from None


# --- stand-in ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _standin_projection() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed random directions, frequencies and phases of the stand-in's spatial features."""
    rng = np.random.default_rng(_STANDIN_SEED)
    n_spatial = PDFM_DIMS - _STANDIN_STATE_DIMS
    per_band = -(-n_spatial // len(_STANDIN_BANDS_KM))
    w = rng.standard_normal((per_band * len(_STANDIN_BANDS_KM), 3))
    # Frequency ~ 1/length-scale (in units of the unit sphere) gives an RBF-like similarity per band.
    scales = np.repeat([_EARTH_RADIUS_KM / s for s in _STANDIN_BANDS_KM], per_band)[:, None]
    w = (w * scales)[:n_spatial]
    b = rng.uniform(0, 2 * np.pi, n_spatial)
    return w, b, np.full(n_spatial, math.sqrt(2.0 / n_spatial) * 4.0)


def _state_vector(state: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(f"pdfm-standin-state:{state}".encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(_STANDIN_STATE_DIMS) * 0.5


def standin_vectors(lat: np.ndarray, lon: np.ndarray, states: list[str]) -> np.ndarray:
    """Stand-in PDFM vectors (n, 330) float32 from coordinates (degrees) and state codes.

    Values are rounded to 6 decimals, so the CSV written by :func:`write_standin_csv` reads back
    bit-identical.
    """
    lat_r, lon_r = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    xyz = np.stack([np.cos(lat_r) * np.cos(lon_r), np.cos(lat_r) * np.sin(lon_r), np.sin(lat_r)], 1)
    w, b, amp = _standin_projection()
    spatial = np.cos(xyz @ w.T + b) * amp  # (n, 288)
    state = np.stack([_state_vector(s) for s in states]) if states else np.zeros((0, _STANDIN_STATE_DIMS))
    return np.round(np.concatenate([spatial, state], 1), 6).astype(np.float32)


COORDS_FILE = Path(__file__).resolve().parent / "data" / "zip_coords.csv.gz"


@dataclass(frozen=True)
class _Place:
    state: str
    lat: float
    lon: float


@functools.lru_cache(maxsize=1)
def _shipped_coords() -> dict[str, _Place]:
    """ZIP -> state and coordinates of every active standard ZIP (``data/zip_coords.csv.gz``).

    Shipped because parsing the ``zipcodes`` package's full table costs seconds per process; the file
    is that table's extract (``python -m campaignlab.features.geo --write-coords``).
    """
    if not COORDS_FILE.is_file():
        return {}
    with gzip.open(COORDS_FILE, "rt") as fh:
        next(fh)
        out = {}
        for line in fh:
            z, st, lat, lon = line.rstrip("\n").split(",")
            out[z] = _Place(st, float(lat), float(lon))
    return out


@functools.lru_cache(maxsize=1)
def _zipcodes_coords() -> dict[str, _Place]:
    from campaignlab.synth.vocab import all_standard_zips

    return {z.zip_code: _Place(z.state, z.lat, z.lon) for z in all_standard_zips()}


def _places(zip_codes: list[str] | None) -> dict[str, _Place]:
    shipped = _shipped_coords()
    if zip_codes is not None and shipped and all(z in shipped for z in zip_codes):
        return {z: shipped[z] for z in zip_codes}
    # A ZIP the shipped extract lacks (e.g. a newer zipcodes release): ask the package itself.
    full = {**shipped, **_zipcodes_coords()}
    return full if zip_codes is None else {z: full[z] for z in zip_codes if z in full}


def standin_table(zip_codes: list[str] | None = None) -> PdfmTable:
    """The stand-in table for ``zip_codes`` (default: every active standard ZIP of ``zipcodes``).

    ZIPs the ``zipcodes`` package does not know are left out, so pooling treats them as missing.
    """
    places = _places(None if zip_codes is None else sorted(set(zip_codes)))
    wanted = sorted(places)
    p = [places[z] for z in wanted]
    vecs = standin_vectors(np.array([x.lat for x in p]), np.array([x.lon for x in p]), [x.state for x in p])
    return PdfmTable(wanted, vecs.reshape(len(p), PDFM_DIMS), STANDIN_NAME, standin=True)


def write_zip_coords(path: str | Path = COORDS_FILE) -> Path:
    """Write the shipped ZIP extract (zip, state, lat, lon) from the ``zipcodes`` package."""
    from campaignlab.io import atomic_write_bytes

    rows = sorted(_zipcodes_coords().items())
    lines = ["zip,state,lat,lon"] + [f"{z},{p.state},{p.lat!r},{p.lon!r}" for z, p in rows]
    atomic_write_bytes(path, gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return Path(path)


def write_standin_csv(path: str | Path, zip_codes: list[str] | None = None) -> Path:
    """Write the stand-in in PDFM's CSV format (``place`` = ``zip/NNNNN``, ``feature0..329``).

    A ``.gz`` suffix writes gzip. The ``place`` values are real ZIPs; the vectors are NOT PDFM (name the
    file as a stand-in, e.g. ``pdfm_standin_zip.csv``).
    """
    table = standin_table(zip_codes)
    path = Path(path)
    header = "place," + ",".join(f"feature{i}" for i in range(table.dims))
    lines = [header]
    for z, v in zip(table.zips, table.vectors.astype(np.float64), strict=True):
        lines.append(f"zip/{z}," + ",".join(f"{x:.6f}" for x in v))
    data = ("\n".join(lines) + "\n").encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    from campaignlab.io import atomic_write_bytes

    atomic_write_bytes(path, data)
    return path


# --- pooling -------------------------------------------------------------------------------------


def pool(zip_lists: list[list[str]], table: PdfmTable) -> tuple[np.ndarray, dict[str, int]]:
    """Centroid-pool each sample's ZIP vectors; returns (N, dims + 2) float32 and coverage counts.

    Columns: ``dims`` centroid values, then the fraction of the sample's ZIPs found in the table, then
    the missing flag (1.0 when none of its ZIPs is found; its centroid is then zeros).
    """
    n, d = len(zip_lists), table.dims
    lengths = np.array([len(z) for z in zip_lists], dtype=np.int64)
    flat = [z for zs in zip_lists for z in zs]
    pos = np.array([table.index.get(z, -1) for z in flat], dtype=np.int64)
    owner = np.repeat(np.arange(n), lengths)
    hit = pos >= 0
    sums = np.zeros((n, d), dtype=np.float64)
    np.add.at(sums, owner[hit], table.vectors[pos[hit]].astype(np.float64))
    found = np.bincount(owner[hit], minlength=n).astype(np.float64)
    out = np.zeros((n, d + 2), dtype=np.float32)
    nz = found > 0
    out[nz, :d] = (sums[nz] / found[nz, None]).astype(np.float32)
    out[:, d] = np.where(lengths > 0, found / np.maximum(lengths, 1), 0.0)
    out[:, d + 1] = (~nz).astype(np.float32)
    stats = {
        "zips_total": len(flat),
        "zips_found": int(hit.sum()),
        "distinct_zips_missing": len({z for z, h in zip(flat, hit, strict=True) if not h}),
        "samples_without_geo": int((~nz).sum()),
    }
    return out, stats


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - thin script
    """``python -m campaignlab.features.geo --out FILE [--zips Z ...] [--write-coords]``."""
    ap = argparse.ArgumentParser(description="Write the offline PDFM stand-in table (NOT Google PDFM).")
    ap.add_argument("--out", help="CSV path (.csv or .csv.gz)")
    ap.add_argument("--zips", nargs="*", help="only these ZIPs (default: every standard ZIP)")
    ap.add_argument("--write-coords", action="store_true", help="refresh data/zip_coords.csv.gz")
    args = ap.parse_args(argv)
    if args.write_coords:
        print(f"wrote {write_zip_coords()}")
    if args.out:
        path = write_standin_csv(args.out, args.zips)
        print(f"wrote PDFM stand-in table to {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
