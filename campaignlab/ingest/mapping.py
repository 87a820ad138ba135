"""The mapping file: the user's column names -> the contract's fields, and how to read their values.

A YAML mapping, every key optional::

    campaign_id: Campaign ID        # contract field: the source's column name
    audience: Target Audience
    brand: Brand Story
    creative: Creative Caption
    platform: Channel
    geo: ZIP Codes
    label: Outcome
    date: Launch Date
    owner: Client
    label_values:                   # the source's own outcome words -> tier (0/1/2 or the tier's name)
      underperformed: negative
      on target: average
      beat target: positive
    date_format: "%d/%m/%Y"         # strptime format when dates are not ISO 8601
    zip_zero_pad: false             # pad 3-4 digit ZIP strings with leading zeros (spreadsheet damage)

A field not named in the mapping is looked up under its own name (``campaign_id``, ``geo``, ...). Column
names match exactly; if none does, a column that matches ignoring case and surrounding spaces is used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from campaignlab import LABEL_NAMES
from campaignlab.config import StrictModel, read_yaml, validate
from campaignlab.errors import ConfigError, DataError
from campaignlab.ingest.contract import FIELDS, REQUIRED_FIELDS


class Mapping(StrictModel):
    """A validated mapping file (see the module docstring). Unknown keys are an error."""

    campaign_id: str | None = None
    audience: str | None = None
    brand: str | None = None
    creative: str | None = None
    platform: str | None = None
    geo: str | None = None
    label: str | None = None
    date: str | None = None
    owner: str | None = None
    label_values: dict[str, int] = Field(default_factory=dict)
    date_format: str | None = None
    zip_zero_pad: bool = False

    @field_validator("label_values", mode="before")
    @classmethod
    def _label_values(cls, v: Any) -> dict[str, int]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise ValueError("expected a mapping of source word -> negative/average/positive (or 0/1/2)")
        out: dict[str, int] = {}
        for word, tier in v.items():
            t = str(tier).strip().lower()
            if t in LABEL_NAMES:
                out[str(word).strip().lower()] = LABEL_NAMES.index(t)
            elif t in ("0", "1", "2"):
                out[str(word).strip().lower()] = int(t)
            else:
                raise ValueError(f"{word!r}: tier {tier!r} -> expected negative/average/positive or 0/1/2")
        return out

    def columns(self) -> dict[str, str]:
        """Contract field -> the column name given in the mapping (only the fields it names)."""
        return {f: getattr(self, f) for f in FIELDS if getattr(self, f) is not None}


def load_mapping(path: str | Path | None) -> Mapping:
    """Read and validate a mapping file; ``None`` is the identity mapping."""
    if path is None:
        return Mapping()
    return validate(Mapping, read_yaml(path), source=f"mapping {str(path)!r}")


def as_mapping(mapping: str | Path | Mapping | dict[str, Any] | None, source: str = "mapping") -> Mapping:
    """A :class:`Mapping` from a file path, a dict (a pipeline parameter), a Mapping or None (identity)."""
    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, dict):
        return validate(Mapping, mapping, source=source)
    return load_mapping(mapping)


def mapping_option(text: str | None) -> Path | dict[str, Any] | None:
    """The ``--mapping`` flag's value: a YAML file's path, or the mapping itself as a JSON object.

    A pipeline passes its ``mapping`` run parameter (a dict) as JSON; a person passes a file.

    Raises:
        ConfigError: the value starts like a JSON object but is not one.
    """
    if text is None or not text.strip():
        return None
    if text.strip().startswith("{"):
        import json

        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"--mapping: got {text!r} -> a YAML file or a JSON object ({err})") from None
        if not isinstance(value, dict):  # pragma: no cover - "{" starts an object or invalid JSON
            raise ConfigError(f"--mapping: got {text!r} -> a YAML file or a JSON object")
        return value
    return Path(text)


def resolve_columns(columns: list[str], mapping: Mapping, *, unlabelled: bool, source: str) -> dict[str, str]:
    """Contract field -> source column, for the columns a source actually has.

    Raises:
        DataError: a required field has no column (naming the field, the column looked for and the
            columns the source has), or a column the mapping names does not exist.
    """
    explicit = mapping.columns()
    by_folded: dict[str, list[str]] = {}
    for c in columns:
        by_folded.setdefault(c.strip().casefold(), []).append(c)
    resolved: dict[str, str] = {}
    problems: list[str] = []
    for f in FIELDS:
        want = explicit.get(f, f)
        if want in columns:
            resolved[f] = want
            continue
        near = by_folded.get(want.strip().casefold(), [])
        if len(near) == 1:
            resolved[f] = near[0]
            continue
        if f == "label" and unlabelled:
            continue  # campaigns to score: a label column may be absent even if the mapping names one
        if f in explicit or f in REQUIRED_FIELDS:
            how = f"mapping says {f}: {want!r}" if f in explicit else f"no mapping for {f!r}"
            problems.append(f"{f}: column {want!r} not found ({how})")
    if problems:
        raise DataError(
            f"{source}: " + "; ".join(problems) + f". The source's columns are {columns}. "
            "Name them in a mapping file (--mapping), e.g. `campaign_id: Campaign ID`."
        )
    return resolved
