"""Raw campaigns to score, read and validated by the own-data contract (:mod:`campaignlab.ingest`).

Batch prediction (``campaignlab predict --campaigns``) reads its source exactly as
``campaignlab ingest --unlabelled`` does — a CSV/Parquet/JSON Lines file, a folder of them, ``gs://`` or
``bq://``, with the same mapping file (column names, ``date_format``, ``zip_zero_pad``) — and validates
every row with the ingest contract. A dataset folder written by ``ingest`` or ``generate`` is read from
its ``samples.parquet``. The service validates its JSON instances with the same row validation, plus
what a request needs: no unknown field (a typo must not be ignored), texts as JSON strings, and size
limits per text and per geo list.

A row that cannot be scored is never dropped: it is a rejected row with the columns of ingest's
``rejected.parquet`` (:data:`ERROR_COLUMNS`), and the other rows are scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Mapping as Record
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from campaignlab.errors import ConfigError
from campaignlab.ingest.contract import FIELDS, TEXT_FIELDS, ParseOptions, is_blank
from campaignlab.ingest.contract import REASONS as CONTRACT_REASONS
from campaignlab.ingest.mapping import Mapping, as_mapping
from campaignlab.ingest.sources import Malformed, RawTable, Source
from campaignlab.ingest.validate import REJECTED_COLUMNS, reject_row, validate_source

ERROR_COLUMNS = REJECTED_COLUMNS
"""Columns of ``errors.parquet``: those of ingest's ``rejected.parquet``."""
MAX_TEXT_CHARS = 20_000
"""The service's longest text (the encoders read the first 256 tokens; longer input is a mistake)."""
MAX_ZIPS = 1_000
"""The service's largest geo list."""
REQUEST_SOURCE = "request"
"""``source`` of the service's rejected instances (their ``row`` is the 0-based instance index)."""
SERVING_REASONS = {
    "unknown_field": "a field the contract does not have (the service refuses typos)",
    "wrong_type": "a field of the wrong JSON type (texts are strings, geo a string or a list)",
    "text_too_long": f"a text is longer than the service accepts ({MAX_TEXT_CHARS} characters)",
    "too_many_zips": f"geo holds more ZIP codes than the service accepts ({MAX_ZIPS})",
    "not_scored": "the model could not score the row",
}
_NOT_TO_SCORE = ("missing_label", "unknown_label", "missing_date")  # no label is read, no date needed
REASONS = {**{k: v for k, v in CONTRACT_REASONS.items() if k not in _NOT_TO_SCORE}, **SERVING_REASONS}
"""Reason code -> what it means: the ingest contract's (no label is read to score) and the serving ones."""
_DATASET_SAMPLES = "samples.parquet"
_STRING_FIELDS = (*TEXT_FIELDS, "date", "owner")


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
    source: list[str] = field(default_factory=list)  # the file each row came from ("request": the service)

    def __len__(self) -> int:
        return len(self.row)

    def take(self, idx: Iterable[int]) -> Campaigns:
        idx = list(idx)
        return Campaigns(*[[getattr(self, f)[i] for i in idx] for f in self.__dataclass_fields__])

    @classmethod
    def from_accepted(cls, accepted: pd.DataFrame) -> Campaigns:
        """From ingest's accepted frame (``sample_id``, the five fields, ``source``, ``source_row``)."""
        return cls(
            row=[int(r) for r in accepted["source_row"]],
            campaign_id=[str(c) for c in accepted["sample_id"]],
            audience=list(accepted["audience"]),
            brand=list(accepted["brand"]),
            creative=list(accepted["creative"]),
            platform=list(accepted["platform"]),
            geo=[list(g) for g in accepted["geo"]],
            source=[str(s) for s in accepted["source"]],
        )


@dataclass
class CampaignsToScore:
    """What :func:`read_to_score` returns.

    Attributes:
        campaigns: the rows that passed the contract.
        rejected: one row per rejected input row (:data:`ERROR_COLUMNS`).
        info: where they came from (``uri``, ``kind``, ``sha256``, ``files``, ``columns`` per file,
            ``ignored_columns``, ``rows`` read, ``notes``), recorded in ``summary.json``.
    """

    campaigns: Campaigns
    rejected: pd.DataFrame
    info: dict[str, Any]


def read_to_score(
    source: str | Path,
    mapping: str | Path | Mapping | dict[str, Any] | None = None,
    *,
    encoding: str | None = None,
) -> CampaignsToScore:
    """Read and validate campaigns to score, as ``campaignlab ingest SOURCE --unlabelled`` would.

    Args:
        source: a CSV/Parquet/JSON Lines file, a folder of them, ``gs://BUCKET/PATH``,
            ``bq://PROJECT.DATASET.TABLE``, or a dataset folder written by ``ingest``/``generate``.
        mapping: the mapping file (or its keys as a dict); ``ingest``'s mapping files work unchanged.
        encoding: text encoding of CSV/JSON files (default: detected).

    Raises:
        DataError: the source cannot be read or lacks a required column.
        ConfigError: a mapping given for a dataset folder (already in the contract's columns).
    """
    from campaignlab.ingest.dataset import read_campaigns

    uri = str(source)
    m = as_mapping(mapping)
    kind = None
    path = Path(uri)
    if not uri.startswith(("gs://", "bq://")) and path.is_dir() and (path / _DATASET_SAMPLES).is_file():
        # A dataset folder: its samples are already validated and in the contract's names.
        if m != Mapping():
            raise ConfigError(
                f"mapping: got {mapping!r} for the dataset folder {uri!r} -> a dataset folder is already in "
                "the contract's columns; give --mapping only with raw campaigns"
            )
        from campaignlab.io import require_complete

        require_complete(path, "dataset folder", needs=(_DATASET_SAMPLES,))
        m, kind = Mapping(campaign_id="sample_id"), "dataset"
        path = path / _DATASET_SAMPLES
    table = read_campaigns(path if kind else uri, m, unlabelled=True, encoding=encoding)
    ignored: set[str] = set()
    for t in table.source.tables:
        used = set(table.validated.columns.get(t.name, {}).values())
        ignored |= {c for c in t.columns if c not in used}
    info = {
        "uri": uri,
        "kind": kind or table.source.kind,
        "sha256": table.source.sha256,
        "files": [
            {"name": t.name, "format": t.kind, "sha256": t.sha256, "records": t.num_records}
            for t in table.source.tables
        ],
        "columns": table.validated.columns,
        "ignored_columns": sorted(ignored),
        "rows": table.num_input,
        "notes": [*table.validated.notes, *(f"not read: {s}" for s in table.source.skipped)],
    }
    return CampaignsToScore(Campaigns.from_accepted(table.campaigns), table.rejected, info)


def _json_type(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list",
             dict: "an object"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _request_problems(instance: dict[str, Any]) -> list[tuple[str, Any, str, str]]:
    """What the service refuses before the contract sees an instance: unknown fields, wrong JSON types
    (the contract would read ``{"brand": ["a"]}`` as the text "['a']")."""
    problems = [
        (
            k,
            json.dumps(instance[k], default=str),
            "unknown_field",
            f"unknown field; expected some of {list(FIELDS)}",
        )
        for k in sorted(k for k in instance if k not in FIELDS)
    ]
    allowed: dict[str, tuple[type, ...]] = {
        **{f: (str,) for f in _STRING_FIELDS},
        "campaign_id": (str, int),
        "geo": (str, list, int),  # a list of ZIPs, a delimited string, or one ZIP as a number
    }
    for f, types in allowed.items():
        v = instance.get(f)
        if v is not None and (isinstance(v, bool) or not isinstance(v, types)):
            want = {str: "a string", int: "a number", list: "a list"}
            expected = " or ".join(want[t] for t in types)
            problems.append(
                (f, json.dumps(v, default=str), "wrong_type", f"expected {expected}, got {_json_type(v)}")
            )
    return problems


def validate_instances(
    instances: list[Any], *, max_text_chars: int = MAX_TEXT_CHARS, max_zips: int = MAX_ZIPS
) -> tuple[Campaigns, pd.DataFrame]:
    """Validate the service's instances with the ingest contract (plus the service's own rules).

    ``campaign_id`` is optional (the instance index is the id); ``label`` is not read. Rejected rows have
    ``source`` "request" and ``row`` the instance's 0-based index.

    Returns:
        The valid campaigns (in instance order) and the rejected rows (:data:`ERROR_COLUMNS`).
    """
    table = RawTable(REQUEST_SOURCE, "json", list(FIELDS), [], [], [])
    refused: list[dict[str, Any]] = []
    for i, inst in enumerate(instances):
        if not isinstance(inst, dict):
            table.malformed.append(
                Malformed(
                    i,
                    None,
                    json.dumps(inst, default=str)[:500],
                    f"expected a JSON object of campaign fields, got {_json_type(inst)}",
                )
            )
            continue
        problems = _request_problems(inst)
        if problems:
            refused.append(reject_row(REQUEST_SOURCE, i, None, inst.get("campaign_id"), problems))
            continue
        record = {f: inst.get(f) for f in FIELDS}
        if is_blank(record["campaign_id"]):
            record["campaign_id"] = str(i)
        table.rows.append(record)
        table.row_numbers.append(i)
        table.lines.append(None)
    v = validate_source(Source(REQUEST_SOURCE, "request", [table]), Mapping(), ParseOptions(unlabelled=True))
    accepted = v.accepted
    keep = []
    for a in accepted.to_dict("records"):
        problems = [
            (
                f,
                _short(a[f]),
                "text_too_long",
                f"expected at most {max_text_chars} characters, got {len(a[f])}",
            )
            for f in TEXT_FIELDS
            if len(a[f]) > max_text_chars
        ]
        if len(a["geo"]) > max_zips:
            problems.append(
                (
                    "geo",
                    a["geo"],
                    "too_many_zips",
                    f"expected at most {max_zips} ZIP codes, got {len(a['geo'])}",
                )
            )
        if problems:
            refused.append(reject_row(REQUEST_SOURCE, a["source_row"], None, a["sample_id"], problems))
        keep.append(not problems)
    rejected = pd.concat(
        [f for f in (v.rejected, pd.DataFrame(refused, columns=list(ERROR_COLUMNS))) if len(f)]
        or [v.rejected]
    )
    rejected = rejected.sort_values("row", kind="stable").reset_index(drop=True)
    return Campaigns.from_accepted(accepted.loc[keep]), rejected


def not_scored(campaigns: Campaigns, message: str) -> pd.DataFrame:
    """Rejected rows (reason ``not_scored``) for campaigns the model could not score."""
    rows = [
        reject_row(src, r, None, cid, [("(record)", None, "not_scored", message)])
        for r, cid, src in zip(campaigns.row, campaigns.campaign_id, campaigns.source, strict=True)
    ]
    return pd.DataFrame(rows, columns=list(ERROR_COLUMNS))


def _short(value: Any, limit: int = 80) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 3] + "..."
    return value


def describe(error: Record[Any, Any], prefix: str = "instances") -> str:
    """The service's 400 message for a rejected instance: ``instances[3].geo: got '1234' -> ...``."""
    where = f"{prefix}[{error['row']}]" + ("" if error["field"] == "(record)" else f".{error['field']}")
    return f"{where}: got {_short(error['value'])!r} -> {error['message']}"


def errors_table(rejected: pd.DataFrame) -> Any:
    """The ``errors.parquet`` table: ingest's ``rejected.parquet`` columns and types."""
    from campaignlab.ingest.dataset import rejected_table

    return rejected_table(rejected)
