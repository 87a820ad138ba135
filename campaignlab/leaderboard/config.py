"""One strict config model per ``campaignlab leaderboard`` command, plus the database-URL rules."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from campaignlab.config import StrictModel
from campaignlab.errors import ConfigError

DEFAULT_MAX_UPLOAD_MB = 20.0
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
    max_upload_mb: float = Field(DEFAULT_MAX_UPLOAD_MB, gt=0, le=2048)
    log_level: str = Field("info", pattern="^(critical|error|warning|info|debug)$")


class AddVersionConfig(_DbModel):
    """``campaignlab leaderboard add-version``."""

    name: str = Field(pattern=VERSION_NAME_RE.pattern)
    dataset: Path
    features: Path | None = None
    data_dir: Path | None = None


class CreateTokenConfig(_DbModel):
    """``campaignlab leaderboard create-token``."""

    researcher: str = Field(pattern=RESEARCHER_RE.pattern)


class SubmitConfig(StrictModel):
    """``campaignlab leaderboard submit`` (and :func:`campaignlab.leaderboard.client.submit_predictions`)."""

    url: str = Field(pattern=r"^https?://")
    token: str = Field(min_length=8)
    version: str = Field(pattern=VERSION_NAME_RE.pattern)
    predictions: Path
    model: str = Field("", max_length=120)
    timeout: float = Field(120.0, gt=0)


class DownloadConfig(StrictModel):
    """``campaignlab leaderboard download``."""

    url: str = Field(pattern=r"^https?://")
    token: str = Field(min_length=8)
    version: str = Field(pattern=VERSION_NAME_RE.pattern)
    split: str = Field(pattern="^(train|test)$")
    kind: str = Field("raw", pattern="^(raw|features)$")
    out: Path
    timeout: float = Field(300.0, gt=0)
