"""Raw campaigns to score: the fields a prediction needs, validated row by row.

The raw-campaign contract (see docs/serving.md and the ingest docs): per campaign ``campaign_id``,
``audience``, ``brand``, ``creative``, ``platform`` (text), ``geo`` (ZIP codes: a list, or one string
delimited by ``;``, ``,``, ``|`` or spaces) and optionally ``label``, ``date`` and ``owner`` (accepted,
not used to score). A row that cannot be scored is not dropped: it becomes a :class:`RowError` naming
its row, id, field, value and the reason, and the other rows are scored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaignlab.errors import ConfigError, DataError

TEXT_FIELDS = ("audience", "brand", "creative", "platform")
REQUIRED_FIELDS = ("campaign_id", *TEXT_FIELDS, "geo")
OPTIONAL_FIELDS = ("label", "date", "owner")
KNOWN_FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
MAX_TEXT_CHARS = 20_000
"""Longest text accepted (the encoders read the first 256 tokens; longer input is a mistake)."""
MAX_ZIPS = 1_000
_GEO_SPLIT = re.compile(r"[;,|\s]+")
ERROR_COLUMNS = ("source", "row", "campaign_id", "field", "value", "reason", "message")
"""Columns of ``errors.parquet`` (the same names as the rejected rows of ``campaignlab ingest``)."""
REASONS = {
    "missing_id": "campaign_id is empty",
    "duplicate_id": "campaign_id already used by an earlier row (the first one is scored)",
    "empty_text": "a text field (audience, brand, creative, platform) is empty",
    "text_too_long": f"a text field is longer than {MAX_TEXT_CHARS} characters",
    "missing_geo": "geo holds no ZIP code",
    "malformed_zip": "a geo entry is not a 5-digit US ZIP code",
    "malformed_record": "the record is not an object of campaign fields",
    "unknown_field": "a field the contract does not have (the service refuses typos)",
    "not_scored": "the model could not score the row",
}
"""Reason code -> what it means."""


@dataclass
class RowError:
    """Why one input row could not be scored.

    Attributes:
        row: the row's number in its source (0-based instance index for the service; for files the
            1-based record number, as in the rejected rows of ``ingest``).
        campaign_id: its id, when it had one.
        field: the field at fault.
        value: the offending value (shortened).
        reason: a code of :data:`REASONS`.
        message: what was wrong and what was expected.
        source: the file the row came from ("" for the service).
    """

    row: int
    campaign_id: str | None
    field: str
    value: str
    reason: str
    message: str
    source: str = ""

    def describe(self, prefix: str = "instances") -> str:
        """``instances[3].geo: got '1234' -> ...`` (the service's 400 message)."""
        return f"{prefix}[{self.row}].{self.field}: got {self.value} -> {self.message}"


@dataclass
class Campaigns:
    """Validated campaigns, one entry per field and row (parallel lists)."""

    row: list[int] = field(default_factory=list)
    campaign_id: list[str] = field(default_factory=list)
    audience: list[str] = field(default_factory=list)
    brand: list[str] = field(default_factory=list)
    creative: list[str] = field(default_factory=list)
    platform: list[str] = field(default_factory=list)
    geo: list[list[str]] = field(default_factory=list)
    source: list[str] = field(default_factory=list)  # the file each row came from ("" for the service)

    def __len__(self) -> int:
        return len(self.row)

    def take(self, idx: Iterable[int]) -> Campaigns:
        idx = list(idx)
        return Campaigns(*[[getattr(self, f)[i] for i in idx] for f in self.__dataclass_fields__])

    def records(self) -> list[dict[str, Any]]:
        return [
            {"campaign_id": c, "audience": a, "brand": b, "creative": cr, "platform": p, "geo": list(g)}
            for c, a, b, cr, p, g in zip(
                self.campaign_id,
                self.audience,
                self.brand,
                self.creative,
                self.platform,
                self.geo,
                strict=True,
            )
        ]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _GeoError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_geo(value: Any) -> list[str]:
    """ZIP codes from a list or a delimited string; each must be 5 digits.

    Raises:
        ValueError: with the reason (``.reason``: a code of :data:`REASONS`), naming the first bad ZIP.
    """
    if value is None:
        raise _GeoError("missing_geo", "expected ZIP codes (a list or a string delimited by ; , | or spaces)")
    if isinstance(value, str):
        items: list[Any] = [z for z in _GEO_SPLIT.split(value.strip()) if z]
    elif isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = list(value.tolist() if hasattr(value, "tolist") else value)
    else:
        raise _GeoError(
            "malformed_zip", f"expected a list of ZIP codes or a delimited string, not {type(value).__name__}"
        )
    if not items:
        raise _GeoError("missing_geo", "expected at least one ZIP code")
    if len(items) > MAX_ZIPS:
        raise _GeoError("malformed_zip", f"expected at most {MAX_ZIPS} ZIP codes, got {len(items)}")
    out = []
    for z in items:
        if isinstance(z, bool) or not isinstance(z, (str, int)):
            raise _GeoError("malformed_zip", f"geo entry {z!r} -> expected a 5-digit ZIP code")
        s = str(z).strip()
        if isinstance(z, int) and 0 <= z <= 99_999:
            s = s.zfill(5)  # a number that lost its leading zero
        if len(s) != 5 or not s.isdigit():
            raise _GeoError("malformed_zip", f"geo entry {s!r} -> expected a 5-digit ZIP code")
        out.append(s)
    return out


def validate_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    require_id: bool = True,
    origins: list[tuple[str, int]] | None = None,
    strict_fields: bool = False,
) -> tuple[Campaigns, list[RowError]]:
    """Validate raw campaign rows; return the scoreable ones and one error per failing row.

    Args:
        rows: mappings with the contract's fields.
        require_id: a missing ``campaign_id`` is an error (batch input); else the row number is the id.
        origins: ``(source file, 1-based record number)`` of each row (default: ``("", 0, 1, 2, ...)``,
            the instance index of a service request).
        strict_fields: an unknown field is an error (the service: a typo must not be ignored).
    """
    ok = Campaigns()
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rows):
        source, row = origins[i] if origins is not None else ("", i)
        if not isinstance(raw, Mapping):
            errors.append(
                RowError(row, None, "(record)", _short(raw), "malformed_record",
                         "expected an object of campaign fields", source)
            )  # fmt: skip
            continue
        cid_raw = raw.get("campaign_id")
        cid = (
            None
            if cid_raw is None or (isinstance(cid_raw, str) and not cid_raw.strip())
            else str(cid_raw).strip()
        )

        def fail(
            fld: str,
            value: Any,
            reason: str,
            message: str,
            cid: str | None = cid,
            row: int = row,
            src: str = source,
        ) -> None:
            errors.append(RowError(row, cid, fld, _short(value), reason, message, src))

        if strict_fields:
            unknown = sorted(k for k in raw if k not in KNOWN_FIELDS)
            if unknown:
                fail(
                    unknown[0],
                    raw[unknown[0]],
                    "unknown_field",
                    f"unknown field; expected some of {list(KNOWN_FIELDS)}",
                )
                continue
        if cid is None:
            if require_id:
                fail("campaign_id", cid_raw, "missing_id", "expected a non-empty id")
                continue
            cid = str(row)
        if cid in seen:
            fail("campaign_id", cid, "duplicate_id", f"campaign_id {cid!r} already used by row {seen[cid]}")
            continue
        texts = {}
        bad = False
        for f in TEXT_FIELDS:
            v = raw.get(f)
            if not isinstance(v, str) or not v.strip():
                fail(f, v, "empty_text", "expected a non-empty text")
                bad = True
                break
            if len(v) > MAX_TEXT_CHARS:
                fail(f, v, "text_too_long", f"expected at most {MAX_TEXT_CHARS} characters, got {len(v)}")
                bad = True
                break
            texts[f] = v.strip()
        if bad:
            continue
        try:
            zips = parse_geo(raw.get("geo"))
        except _GeoError as err:
            fail("geo", raw.get("geo"), err.reason, str(err))
            continue
        seen[cid] = row
        ok.row.append(row)
        ok.campaign_id.append(cid)
        for f in TEXT_FIELDS:
            getattr(ok, f).append(texts[f])
        ok.geo.append(zips)
        ok.source.append(source)
    return ok, errors


def errors_table(errors: list[RowError]) -> Any:
    """The errors file's table: ``source``, ``row`` int64, ``campaign_id``, ``field``, ``value``,
    ``reason`` (a code of :data:`REASONS`), ``message``."""
    import pyarrow as pa

    return pa.table(
        {
            "source": pa.array([e.source for e in errors], pa.string()),
            "row": pa.array([e.row for e in errors], pa.int64()),
            "campaign_id": pa.array([e.campaign_id for e in errors], pa.string()),
            "field": pa.array([e.field for e in errors], pa.string()),
            "value": pa.array([e.value for e in errors], pa.string()),
            "reason": pa.array([e.reason for e in errors], pa.string()),
            "message": pa.array([e.message for e in errors], pa.string()),
        }
    )


# --- reading a source ------------------------------------------------------------------------------

SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson", ".json")


def read_mapping(path: str | Path | None) -> dict[str, str]:
    """A mapping file (YAML ``contract_field: user column``) as ``{user column: contract field}``."""
    if path is None:
        return {}
    from campaignlab.config import read_yaml

    data = read_yaml(path)
    unknown = sorted(k for k in data if k not in KNOWN_FIELDS)
    if unknown:
        raise ConfigError(
            f"mapping {str(path)!r}: {unknown[0]}: got an unknown field -> expected one of "
            f"{list(KNOWN_FIELDS)}"
        )
    return {str(v): str(k) for k, v in data.items()}


def _frame(path: Path) -> Any:
    import pandas as pd

    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            df = pd.read_parquet(path)
        elif name.endswith((".jsonl", ".ndjson")):
            df = pd.read_json(path, lines=True, dtype=False)
        elif name.endswith(".json"):
            df = pd.read_json(path, dtype=False)
        else:
            # Everything as text, so ZIPs keep their leading zeros; a BOM is stripped.
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise DataError(f"campaigns {str(path)!r} are not readable: {err}") from None
    return df


def read_campaign_rows(
    source: str | Path, mapping: str | Path | None = None
) -> tuple[list[dict[str, Any]], list[tuple[str, int]], dict[str, Any]]:
    """Rows of a campaigns source as mappings with the contract's field names, and what was read.

    ``source``: a CSV, Parquet, JSON Lines or JSON file; a folder of such files; or a dataset folder
    written by ``campaignlab ingest``/``generate`` (its ``samples.parquet``, ``sample_id`` as id).

    Returns:
        The rows, the ``(file, 1-based record number)`` of each, and ``{"source", "files", "rows",
        "ignored_columns"}``.
    """
    import pandas as pd

    src = str(source)
    if src.startswith(("gs://", "bq://")):
        return _read_remote(src, mapping)
    path = Path(src)
    renames = read_mapping(mapping)
    if path.is_dir():
        if (path / "samples.parquet").is_file():
            files = [path / "samples.parquet"]
            renames = {"sample_id": "campaign_id", **renames}
        else:
            files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))
            if not files:
                raise DataError(f"campaigns folder {src!r} holds no {', '.join(SUFFIXES)} file")
    elif path.is_file():
        if not path.name.lower().endswith(SUFFIXES):
            raise DataError(f"campaigns {src!r}: expected a file ending in {', '.join(SUFFIXES)}")
        files = [path]
    else:
        raise DataError(f"campaigns {src!r} do not exist")
    frames = [_frame(f) for f in files]
    origins = [(str(f), i + 1) for f, fr in zip(files, frames, strict=True) for i in range(len(fr))]
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df = df.rename(columns=renames)
    ignored = sorted(str(c) for c in df.columns if c not in KNOWN_FIELDS)
    missing = [c for c in REQUIRED_FIELDS if c not in df.columns]
    if missing:
        raise DataError(
            f"campaigns {src!r} have no column(s) {missing} (columns: {[str(c) for c in df.columns][:12]}); "
            "rename yours with --mapping FILE (YAML: campaign_id: Your Column)"
        )
    keep = [c for c in KNOWN_FIELDS if c in df.columns]
    rows = df[keep].to_dict(orient="records")
    info = {"source": src, "files": [str(f) for f in files], "rows": len(rows), "ignored_columns": ignored}
    return rows, origins, info


def _read_remote(
    src: str, mapping: str | Path | None
) -> tuple[list[dict[str, Any]], list[tuple[str, int]], dict[str, Any]]:
    raise ConfigError(
        f"campaigns {src!r}: gs:// and bq:// sources are read by `campaignlab ingest SOURCE --unlabelled`; "
        "ingest them first and pass the dataset folder"
    )
