"""Validate every raw record against the contract: accepted campaigns and rejected rows, nothing lost.

:func:`validate_source` maps each table's columns to the contract (the mapping file), validates each
record with :class:`campaignlab.ingest.contract.Campaign` (pydantic), then rejects repeated ids (the
first row with an id is kept). Every input record ends up in exactly one of the two frames, so
``len(accepted) + len(rejected) == number of input records``.

Rejected frame columns (also ``rejected.parquet``): ``source`` (file or table), ``row`` (1-based record
number in it), ``line`` (the line it starts on, text formats only), ``campaign_id`` (as given, may be
empty), ``field``, ``value`` (as given, as text), ``reason`` (a code of
:data:`campaignlab.ingest.contract.REASONS`), ``message``, and ``problems`` (every problem of the row,
``field: reason`` joined by ``; ``: the first one is in ``field``/``reason``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import ValidationError

from campaignlab.ingest.contract import FIELDS, Campaign, ParseOptions, is_blank
from campaignlab.ingest.mapping import Mapping, resolve_columns
from campaignlab.ingest.sources import Source

ACCEPTED_COLUMNS = (
    "sample_id",
    "audience",
    "brand",
    "creative",
    "platform",
    "geo",
    "label",
    "date",
    "owner",
    "source",
    "source_row",
)
REJECTED_COLUMNS = (
    "source",
    "row",
    "line",
    "campaign_id",
    "field",
    "value",
    "reason",
    "message",
    "problems",
)
_FIELD_ORDER = {f: i for i, f in enumerate(FIELDS)}


@dataclass
class Validated:
    """Accepted campaigns and rejected rows of one source (see the module docstring)."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    columns: dict[str, dict[str, str]]  # table name -> contract field -> source column
    notes: list[str] = field(default_factory=list)

    @property
    def num_input(self) -> int:
        return len(self.accepted) + len(self.rejected)


def _as_text(value: Any) -> str | None:
    if is_blank(value) and not isinstance(value, str):
        return None
    if isinstance(value, list | tuple):
        return ";".join(map(str, value))
    if hasattr(value, "tolist") and not isinstance(value, str):
        return ";".join(map(str, value.tolist()))
    return str(value)


def reject_row(
    source: str, row: int, line: int | None, cid: Any, problems: list[tuple[str, Any, str, str]]
) -> dict[str, Any]:
    """One rejected row (a record of :data:`REJECTED_COLUMNS`) from its problems.

    Args:
        source: the file or table it came from.
        row: its 1-based record number there (the service: the instance's 0-based index).
        line: the line it starts on (text formats), else None.
        cid: its campaign id as given (may be empty).
        problems: ``(field, value, reason code, message)`` of each problem; the first in contract
            field order is the row's ``field``/``reason``.
    """
    problems = sorted(problems, key=lambda p: _FIELD_ORDER.get(p[0], 99))
    f, value, reason, message = problems[0]
    return {
        "source": source,
        "row": row,
        "line": line,
        "campaign_id": _as_text(cid),
        "field": f,
        "value": _as_text(value),
        "reason": reason,
        "message": message,
        "problems": "; ".join(f"{p[0]}: {p[2]}" for p in problems),
    }


def validate_source(source: Source, mapping: Mapping, options: ParseOptions) -> Validated:
    """Validate every record of ``source`` (see the module docstring).

    Raises:
        DataError: a table lacks a column the contract needs (naming the field and the columns it has).
    """
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    columns: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    ctx = {"options": options}
    for table in source.tables:
        cols = resolve_columns(table.columns, mapping, unlabelled=options.unlabelled, source=table.name)
        columns[table.name] = cols
        if options.unlabelled and "label" in cols:
            notes.append(f"{table.name}: column {cols['label']!r} (label) not read: --unlabelled")
        if options.require_date and "date" not in cols:
            from campaignlab.errors import ConfigError

            raise ConfigError(
                f"split: got 'time' -> needs a date column, and {table.name} has none "
                f"(columns {table.columns}); map one with `date: COLUMN` in the mapping file"
            )
        for bad in table.malformed:
            rejected.append(
                reject_row(
                    table.name,
                    bad.row,
                    bad.line,
                    None,
                    [("(record)", bad.raw, "malformed_record", bad.message)],
                )
            )
        used = [(f, c) for f, c in cols.items() if not (f == "label" and options.unlabelled)]
        for raw, row, line in zip(table.rows, table.row_numbers, table.lines, strict=True):
            record = {f: raw.get(c) for f, c in used}
            try:
                c = Campaign.model_validate(record, context=ctx)
            except ValidationError as err:
                problems = []
                for e in err.errors():
                    f = str(e["loc"][0]) if e.get("loc") else "(record)"
                    problems.append((f, record.get(f), e["type"], e["msg"]))
                rejected.append(reject_row(table.name, row, line, record.get("campaign_id"), problems))
                continue
            accepted.append(
                {
                    "sample_id": c.campaign_id,
                    "audience": c.audience,
                    "brand": c.brand,
                    "creative": c.creative,
                    "platform": c.platform,
                    "geo": c.geo,
                    "label": -1 if c.label is None else c.label,
                    "date": c.date,
                    "owner": c.owner,
                    "source": table.name,
                    "source_row": row,
                    "source_line": line,
                }
            )
    # Repeated ids: the first row (in source order) is kept, every later one is rejected.
    first: dict[str, tuple[str, int]] = {}
    kept: list[dict[str, Any]] = []
    for a in accepted:
        sid = a["sample_id"]
        if sid in first:
            src, row = first[sid]
            where = f"row {row}" + (f" of {src}" if src != a["source"] else "")
            rejected.append(
                reject_row(
                    a["source"],
                    a["source_row"],
                    a["source_line"],
                    sid,
                    [("campaign_id", sid, "duplicate_id", f"campaign_id {sid!r} already used by {where}")],
                )
            )
            continue
        first[sid] = (a["source"], a["source_row"])
        kept.append(a)
    acc = pd.DataFrame(kept, columns=[*ACCEPTED_COLUMNS, "source_line"]).drop(columns="source_line")
    for col in ("date", "owner"):  # absent values are None (pandas would make them NaN)
        acc[col] = acc[col].astype(object).where(acc[col].notna(), None)
    rej = pd.DataFrame(rejected, columns=list(REJECTED_COLUMNS))
    order = {t.name: i for i, t in enumerate(source.tables)}
    if len(rej):
        rej = rej.sort_values(["source", "row"], key=lambda s: s.map(order) if s.name == "source" else s)
        rej = rej.reset_index(drop=True)
    return Validated(acc, rej, columns, notes)
