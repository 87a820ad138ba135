"""The raw-campaign contract: the fields of one campaign, how each is parsed, and why a row is rejected.

One campaign per row:

* ``campaign_id`` (text): non-empty, unique in the input.
* ``audience``, ``brand``, ``creative``, ``platform`` (text): non-empty after trimming whitespace.
* ``geo`` (ZIP codes): a list, or one string delimited by ``;`` ``,`` ``|`` or spaces; each a 5-digit US
  ZIP (ZIP+4 ``12345-6789`` keeps its 5 digits; an integer ZIP from a numeric column that lost its
  leading zero, e.g. ``2139``, is padded).
* ``label`` (outcome tier): ``0``/``1``/``2`` or ``negative``/``average``/``positive`` in any case (or
  the source's own words, mapped in the mapping file); absent for campaigns to score (``--unlabelled``).
* ``date`` (optional): ISO 8601 (``2024-03-31``, ``2024-03-31T10:00``) or the mapping's ``date_format``.
* ``owner`` (optional text): the data owner (advertiser, client, market).

A row that breaks a rule is rejected with one of :data:`REASONS` (a stable code), the field, the value
and a message; :class:`Campaign` (pydantic) does the per-row validation.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from campaignlab import LABEL_NAMES

FIELDS = ("campaign_id", "audience", "brand", "creative", "platform", "geo", "label", "date", "owner")
"""Every contract field, in the documented order."""
REQUIRED_FIELDS = ("campaign_id", "audience", "brand", "creative", "platform", "geo", "label")
OPTIONAL_FIELDS = ("date", "owner")
TEXT_FIELDS = ("audience", "brand", "creative", "platform")

REASONS: dict[str, str] = {
    "missing_id": "campaign_id is empty",
    "duplicate_id": "campaign_id already used by an earlier row (the first one is kept)",
    "empty_text": "a text field (audience, brand, creative, platform) is empty",
    "missing_geo": "geo holds no ZIP code",
    "malformed_zip": "a geo entry is not a 5-digit US ZIP code",
    "missing_label": "label is empty (use --unlabelled for campaigns to score)",
    "unknown_label": "label is not 0/1/2, negative/average/positive or a word of the mapping's label_values",
    "bad_date": "date is not a date (ISO 8601 or the mapping's date_format)",
    "missing_date": "date is empty but --split time needs one",
    "malformed_record": "the record could not be parsed (wrong number of fields, invalid JSON, ...)",
}
"""Rejection reason code -> what it means (also the docs' table)."""

LABEL_WORDS = {name: i for i, name in enumerate(LABEL_NAMES)}
_GEO_SPLIT = re.compile(r"[;,|\s]+")
_ZIP4 = re.compile(r"^(\d{5})-\d{4}$")


class ParseOptions(BaseModel):
    """How raw values are read (from the mapping file and the command's flags)."""

    model_config = ConfigDict(frozen=True)

    unlabelled: bool = False
    label_values: dict[str, int] = Field(default_factory=dict)
    """Lower-cased source word -> class index (besides the contract's own words and digits)."""
    date_format: str | None = None
    require_date: bool = False
    zip_zero_pad: bool = False


def is_blank(value: Any) -> bool:
    """None, NaN or a whitespace-only string."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _opts(info: ValidationInfo) -> ParseOptions:
    ctx = info.context or {}
    opts = ctx.get("options")
    return opts if isinstance(opts, ParseOptions) else ParseOptions()


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).strip()


def parse_label(value: Any, opts: ParseOptions) -> int:
    """0/1/2, "2", "2.0", "Positive", "POSITIVE" or a mapped word -> class index.

    Raises:
        PydanticCustomError: ``missing_label`` or ``unknown_label``.
    """
    if is_blank(value):
        raise PydanticCustomError("missing_label", REASONS["missing_label"])
    if isinstance(value, bool):
        raise PydanticCustomError("unknown_label", "label '{value}' is a boolean", {"value": value})
    if isinstance(value, int | float) and float(value) in (0.0, 1.0, 2.0):
        return int(value)
    word = _text(value).lower()
    if word in LABEL_WORDS:
        return LABEL_WORDS[word]
    if word in opts.label_values:
        return opts.label_values[word]
    try:
        number = float(word)
    except ValueError:
        number = math.nan
    if number in (0.0, 1.0, 2.0):
        return int(number)
    extra = f", or one of {sorted(opts.label_values)}" if opts.label_values else ""
    raise PydanticCustomError(
        "unknown_label",
        "label '{value}' -> expected 0, 1, 2 or negative/average/positive (any case){extra}",
        {"value": _text(value), "extra": extra},
    )


def _zip_token(token: Any, opts: ParseOptions) -> str:
    if isinstance(token, bool):
        raise PydanticCustomError("malformed_zip", "geo entry '{value}' is not a ZIP code", {"value": token})
    if isinstance(token, int | float) and not isinstance(token, bool):
        # A numeric ZIP lost its leading zeros in its source (a number column): padding is unambiguous.
        if isinstance(token, float) and (not math.isfinite(token) or token != int(token)):
            raise PydanticCustomError(
                "malformed_zip", "geo entry '{value}' is not a ZIP code", {"value": token}
            )
        if 0 < int(token) < 100_000:
            return f"{int(token):05d}"
        raise PydanticCustomError("malformed_zip", "geo entry '{value}' is not a ZIP code", {"value": token})
    s = _text(token).strip("[](){}'\"")
    if len(s) == 5 and s.isdigit():
        return s
    m = _ZIP4.match(s)
    if m:
        return m.group(1)
    if opts.zip_zero_pad and s.isdigit() and 3 <= len(s) < 5:
        return s.zfill(5)
    hint = ""
    if s.isdigit() and len(s) < 5:
        hint = " (a leading zero lost in a spreadsheet? set zip_zero_pad: true in the mapping)"
    raise PydanticCustomError(
        "malformed_zip",
        "geo entry '{value}' -> expected a 5-digit ZIP code{hint}",
        {"value": s, "hint": hint},
    )


def parse_geo(value: Any, opts: ParseOptions) -> list[str]:
    """A list of ZIPs, or one string delimited by ``;`` ``,`` ``|`` or whitespace -> 5-digit ZIP strings.

    Raises:
        PydanticCustomError: ``missing_geo`` or ``malformed_zip``.
    """
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()  # numpy arrays from Parquet list columns
    if isinstance(value, list | tuple):
        tokens: list[Any] = [t for t in value if not is_blank(t)]
    elif is_blank(value):
        tokens = []
    elif isinstance(value, int | float):
        tokens = [value]
    else:
        tokens = [t for t in _GEO_SPLIT.split(_text(value)) if t.strip("[](){}'\"")]
    if not tokens:
        raise PydanticCustomError("missing_geo", REASONS["missing_geo"])
    return [_zip_token(t, opts) for t in tokens]


def parse_date(value: Any, opts: ParseOptions) -> dt.date | None:
    """ISO 8601 (or ``date_format``) -> date; empty -> None (or ``missing_date`` when required).

    Raises:
        PydanticCustomError: ``bad_date`` or ``missing_date``.
    """
    if is_blank(value):
        if opts.require_date:
            raise PydanticCustomError("missing_date", REASONS["missing_date"])
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime().date()
    s = _text(value)
    try:
        if opts.date_format:
            return dt.datetime.strptime(s, opts.date_format).date()
        try:
            return dt.date.fromisoformat(s)
        except ValueError:
            return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).date()
    except ValueError:
        want = f"the date_format {opts.date_format!r}" if opts.date_format else "ISO 8601 (2024-03-31)"
        raise PydanticCustomError(
            "bad_date",
            "date '{value}' -> expected {want}",
            {"value": s, "want": want},
        ) from None


class Campaign(BaseModel):
    """One validated campaign. Validate with ``Campaign.model_validate(row, context={"options": opts})``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    campaign_id: str
    audience: str
    brand: str
    creative: str
    platform: str
    geo: list[str]
    label: int | None = None
    date: dt.date | None = None
    owner: str | None = None

    @field_validator("campaign_id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        if is_blank(v):
            raise PydanticCustomError("missing_id", REASONS["missing_id"])
        if isinstance(v, float) and v == int(v):
            v = int(v)  # an integer id read from a float column keeps its integer spelling
        return _text(v)

    @field_validator(*TEXT_FIELDS, mode="before")
    @classmethod
    def _nonempty(cls, v: Any, info: ValidationInfo) -> str:
        if is_blank(v):
            raise PydanticCustomError("empty_text", "{field} is empty", {"field": info.field_name})
        return _text(v)

    @field_validator("geo", mode="before")
    @classmethod
    def _geo(cls, v: Any, info: ValidationInfo) -> list[str]:
        return parse_geo(v, _opts(info))

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, v: Any, info: ValidationInfo) -> int | None:
        opts = _opts(info)
        return None if opts.unlabelled else parse_label(v, opts)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: Any, info: ValidationInfo) -> dt.date | None:
        return parse_date(v, _opts(info))

    @field_validator("owner", mode="before")
    @classmethod
    def _owner(cls, v: Any) -> str | None:
        return None if is_blank(v) else _text(v)
