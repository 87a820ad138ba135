"""One strict config model per ``campaignlab leaderboard`` command, plus the database-URL rules."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from pathlib import Path

from pydantic import Field, field_validator

from campaignlab.config import StrictModel
from campaignlab.errors import ConfigError

DEFAULT_MAX_UPLOAD_MB = 20.0
DEFAULT_DAILY_QUOTA = 5  # accepted submissions per researcher, version and UTC day
DEFAULT_SCORE_DECIMALS = 4  # every score leaves the server rounded to this many decimals
DEFAULT_PUBLIC_FRACTION = 0.5  # share of the test samples ranked on while a competition runs
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds for a request's headers to arrive
DEFAULT_BODY_TIMEOUT = 60.0  # seconds for an upload's body to arrive (20 MB at ~350 KB/s)
MODEL_MAX_CHARS = 120
# Unicode categories a model name may not hold: controls (NUL, CR, LF, ...), format characters (the
# bidirectional overrides U+202A-U+202E and isolates U+2066-U+2069, zero-width joiners), line and
# paragraph separators, and spaces other than the plain one. Private-use and unassigned code points
# are let through: they cannot move or hide text (they show as boxes), and excluding them would take
# a 10 KB pattern in the API schema. (Lone surrogates never reach here: a URL's UTF-8 cannot hold them.)
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}
VERSION_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RESEARCHER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def normalise_db_url(db: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (meaning a SQLite file)."""
    db = db.strip()
    if not db:
        raise ConfigError(
            "db: got '' -> expected a database URL (sqlite:///FILE, postgresql://...) or a path"
        )
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser().resolve()}"
    return db


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///FILE`` URL; None for other databases or an in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def default_data_dir(url: str, data_dir: Path | None) -> Path:
    """Where split files live: ``--data-dir``, else ``<sqlite file>.data`` next to a SQLite database.

    Raises:
        ConfigError: for a non-file database without ``--data-dir``.
    """
    if data_dir is not None:
        return data_dir.expanduser().resolve()
    path = sqlite_path(url)
    if path is None:
        raise ConfigError(
            f"data_dir: got None for db {redact_url(url)!r} -> expected --data-dir (only a SQLite file "
            "database has a default data folder, <file>.data)"
        )
    return path.with_name(path.name + ".data").resolve()


def redact_url(url: str) -> str:
    """Hide a password in a database URL before it is printed or logged."""
    return re.sub(r"://([^:/@]+):[^@/]*@", r"://\1:***@", url)


def _forbidden(ch: str) -> str | None:
    """The Unicode category of ``ch`` when a model name may not hold it, else None."""
    cat = unicodedata.category(ch)
    return cat if cat in _FORBIDDEN_CATEGORIES or (cat == "Zs" and ch != " ") else None


def check_model_name(model: str) -> str:
    """A model name as shown in the ranking: printable text of at most 120 characters.

    Raises:
        ValueError: for control, bidirectional-override and other invisible characters, or any space
            other than U+0020 (the name reaches HTML pages and terminals).
    """
    if len(model) > MODEL_MAX_CHARS:
        raise ValueError(f"expected at most {MODEL_MAX_CHARS} characters (got {len(model)})")
    for ch in model:
        cat = _forbidden(ch)
        if cat is not None:
            raise ValueError(
                "expected printable text without control, bidirectional-override or invisible "
                f"characters (found U+{ord(ch):04X}, Unicode category {cat})"
            )
    return model


@functools.cache
def model_name_pattern() -> str:
    """:func:`check_model_name`'s rule for the basic multilingual plane, as a regular expression.

    For the OpenAPI schema: a negated class of the forbidden ranges of this Python's Unicode database
    (a few dozen, built once). The few forbidden code points above U+FFFF (format characters such as
    the invisible tag characters U+E0000-U+E007F) cannot be written in a pattern that both ECMA-262
    (JSON Schema's dialect) and Python read the same way; the schema's description names them.
    """
    ranges: list[tuple[int, int]] = []
    for cp in range(0x10000):
        if _forbidden(chr(cp)) is None:
            continue
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    body = "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)
    return f"^[^{body}]{{0,{MODEL_MAX_CHARS}}}$"


class _DbModel(StrictModel):
    db: str = Field(description="SQLAlchemy URL (sqlite:///FILE or postgresql+psycopg://...) or a path")

    @field_validator("db")
    @classmethod
    def _db(cls, v: str) -> str:
        return normalise_db_url(v)


class ServeConfig(_DbModel):
    """``campaignlab leaderboard serve``."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path | None = None
    max_upload_mb: float = Field(DEFAULT_MAX_UPLOAD_MB, gt=0, le=100)
    daily_quota: int = Field(DEFAULT_DAILY_QUOTA, ge=1, le=100_000)
    score_decimals: int = Field(DEFAULT_SCORE_DECIMALS, ge=1, le=8)
    header_timeout: float = Field(DEFAULT_HEADER_TIMEOUT, gt=0, le=600)
    body_timeout: float = Field(DEFAULT_BODY_TIMEOUT, gt=0, le=3600)
    log_level: str = Field("info", pattern="^(critical|error|warning|info|debug)$")


class AddVersionConfig(_DbModel):
    """``campaignlab leaderboard add-version``."""

    name: str = Field(pattern=VERSION_NAME_RE.pattern)
    dataset: Path
    features: Path | None = None
    data_dir: Path | None = None
    public_fraction: float = Field(DEFAULT_PUBLIC_FRACTION, gt=0, le=1)
    ends_at: dt.datetime | None = None
    allow_guessable_seed: bool = False

    @field_validator("ends_at")
    @classmethod
    def _aware(cls, v: dt.datetime | None) -> dt.datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("expected a time with a zone, e.g. 2026-12-31T00:00:00Z")
        return v


class RevealConfig(_DbModel):
    """``campaignlab leaderboard reveal``."""

    name: str = Field(pattern=VERSION_NAME_RE.pattern)


class CreateTokenConfig(_DbModel):
    """``campaignlab leaderboard create-token``."""

    researcher: str = Field(pattern=RESEARCHER_RE.pattern)


class SubmitConfig(StrictModel):
    """``campaignlab leaderboard submit`` (and :func:`campaignlab.leaderboard.client.submit_predictions`)."""

    url: str = Field(pattern=r"^https?://")
    token: str = Field(min_length=8)
    version: str = Field(pattern=VERSION_NAME_RE.pattern)
    predictions: Path
    model: str = ""
    timeout: float = Field(120.0, gt=0)

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        return check_model_name(v)


class DownloadConfig(StrictModel):
    """``campaignlab leaderboard download``."""

    url: str = Field(pattern=r"^https?://")
    token: str = Field(min_length=8)
    version: str = Field(pattern=VERSION_NAME_RE.pattern)
    split: str = Field(pattern="^(train|test)$")
    kind: str = Field("raw", pattern="^(raw|features)$")
    out: Path
    timeout: float = Field(300.0, gt=0)
