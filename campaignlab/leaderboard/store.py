"""The leaderboard's system of record: researchers, API tokens, dataset versions, submissions.

One SQLAlchemy schema serves SQLite (the default, a single file) and PostgreSQL; Alembic migrations in
``campaignlab/leaderboard/migrations`` create and upgrade it (:meth:`Store.migrate`). Large, public
split files live in a data folder (see :mod:`campaignlab.leaderboard.versions`); the test labels, which
must never leave the server, live only in the database (``versions.test_labels``).

SQLite runs in WAL mode with a busy timeout, and every write goes through one lock per process, so
concurrent submissions queue instead of failing with "database is locked".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from campaignlab.errors import CampaignlabError, ConfigError

metadata = sa.MetaData()

researchers = sa.Table(
    "researchers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("researcher_id", sa.Integer, sa.ForeignKey("researchers.id"), nullable=False),
    # sha256 hex of the token; the token itself is shown once and never stored.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("n_train", sa.Integer, nullable=False),
    sa.Column("n_test", sa.Integer, nullable=False),
    sa.Column("has_features", sa.Boolean, nullable=False),
    # Public facts only (preset, seed, train class counts, file names and hashes): JSON text.
    sa.Column("info", sa.Text, nullable=False),
    # Parquet bytes (sample_id, label) of the test split: the secret the server scores against.
    sa.Column("test_labels", sa.LargeBinary, nullable=False),
)

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False, index=True),
    sa.Column("researcher_id", sa.Integer, sa.ForeignKey("researchers.id"), nullable=False),
    sa.Column("model", sa.String(120), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("macro_f1", sa.Float, nullable=False),
    sa.Column("f1_negative", sa.Float, nullable=False),
    sa.Column("f1_average", sa.Float, nullable=False),
    sa.Column("f1_positive", sa.Float, nullable=False),
    sa.Column("weighted_f1", sa.Float, nullable=False),
    sa.Column("accuracy", sa.Float, nullable=False),
    sa.Column("predictions_sha256", sa.String(64), nullable=False),
    # The predicted labels as int8 bytes, one per test sample in answer-key order (the ids are the
    # version's); only the submitting researcher may read them back.
    sa.Column("predictions", sa.LargeBinary, nullable=False),
)

SCORE_FIELDS = ("macro_f1", "f1_negative", "f1_average", "f1_positive", "weighted_f1", "accuracy")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class NotFoundError(CampaignlabError):
    """A named version, submission or researcher does not exist."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(value: dt.datetime) -> str:
    # SQLite gives back naive datetimes; everything stored is UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


@dataclass(frozen=True)
class Researcher:
    id: int
    name: str


@dataclass(frozen=True)
class Version:
    id: int
    name: str
    content_hash: str
    created_at: str
    n_train: int
    n_test: int
    has_features: bool
    info: dict[str, Any]

    def public(self) -> dict[str, Any]:
        """What any API response may say about a version (no test labels, no test class counts)."""
        return {
            "name": self.name,
            "content_hash": self.content_hash,
            "created_at": self.created_at,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "has_features": self.has_features,
            **{k: v for k, v in self.info.items() if k not in ("files", "folder")},
            "files": sorted(self.info.get("files", {})),
        }


@dataclass(frozen=True)
class AnswerKey:
    """The answer key of one version: test sample ids and their labels, aligned."""

    ids: pa.Array  # (n_test,) string, unique
    labels: np.ndarray  # (n_test,) int8


class Store:
    """Database access for the service and the CLI. Thread-safe; one instance per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if self.is_sqlite:
            # check_same_thread: connections move between FastAPI's worker threads (pooled, one at a time).
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = sa.create_engine(url, **kwargs)
        except (sa.exc.ArgumentError, ImportError) as err:
            raise ConfigError(f"db: got {url!r} -> not a usable SQLAlchemy URL ({err})") from None
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._write_lock = threading.Lock()
        self._keys: dict[int, AnswerKey] = {}

    # Schema ---------------------------------------------------------------------------------------

    def migrate(self) -> str:
        """Upgrade the schema to the newest Alembic revision; returns that revision."""
        from alembic import command
        from alembic.config import Config

        path = sqlite_file(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        # Keep the host's logging setup: env.py does not call fileConfig.
        with self._write_lock, self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            try:
                command.upgrade(cfg, "head")
            except sa.exc.OperationalError as err:
                raise ConfigError(f"db: cannot open or migrate the database: {err.orig}") from None
        return self.revision()

    def revision(self) -> str:
        """The Alembic revision the database is at ("" before the first migration)."""
        with self.engine.connect() as conn:
            try:
                return str(
                    conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
                    or ""
                )
            except sa.exc.DBAPIError:
                return ""

    def dispose(self) -> None:
        self.engine.dispose()

    # Researchers and tokens -----------------------------------------------------------------------

    def create_token(self, researcher: str) -> str:
        """Create the researcher if new, add a fresh token and return it (the only time it is seen)."""
        token = "clb_" + secrets.token_urlsafe(32)
        with self._write_lock, self.engine.begin() as conn:
            rid = conn.execute(
                sa.select(researchers.c.id).where(researchers.c.name == researcher)
            ).scalar_one_or_none()
            if rid is None:
                rid = _insert(conn, researchers.insert().values(name=researcher, created_at=now()))
            conn.execute(
                tokens.insert().values(researcher_id=rid, token_hash=hash_token(token), created_at=now())
            )
        return token

    def revoke_tokens(self, researcher: str) -> int:
        """Revoke every token of ``researcher``; returns how many were active."""
        with self._write_lock, self.engine.begin() as conn:
            rid = conn.execute(
                sa.select(researchers.c.id).where(researchers.c.name == researcher)
            ).scalar_one_or_none()
            if rid is None:
                raise NotFoundError(f"researcher: got {researcher!r} -> no such researcher")
            res = conn.execute(
                tokens.update()
                .where(tokens.c.researcher_id == rid, tokens.c.revoked == sa.false())
                .values(revoked=True)
            )
            return int(res.rowcount or 0)

    def authenticate(self, token: str) -> Researcher | None:
        """The researcher owning an active ``token``, else None (constant-time hash comparison)."""
        if not token or len(token) > 200:
            return None
        digest = hash_token(token)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(tokens.c.token_hash, researchers.c.id, researchers.c.name)
                .join(researchers, researchers.c.id == tokens.c.researcher_id)
                .where(tokens.c.token_hash == digest, tokens.c.revoked == sa.false())
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return Researcher(row.id, row.name)

    # Versions -------------------------------------------------------------------------------------

    def insert_version(
        self,
        *,
        name: str,
        content_hash: str,
        n_train: int,
        n_test: int,
        has_features: bool,
        info: dict[str, Any],
        test_labels: bytes,
    ) -> Version:
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                versions.insert().values(
                    name=name,
                    content_hash=content_hash,
                    created_at=now(),
                    n_train=n_train,
                    n_test=n_test,
                    has_features=has_features,
                    info=json.dumps(info, sort_keys=True),
                    test_labels=test_labels,
                )
            )
        return self.get_version(name)

    def find_version(self, name: str) -> Version | None:
        cols = [c for c in versions.c if c.name != "test_labels"]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*cols).where(versions.c.name == name)).first()
        return None if row is None else _version(row)

    def get_version(self, name: str) -> Version:
        v = self.find_version(name)
        if v is None:
            raise NotFoundError(f"version: got {name!r} -> no such version (see GET /api/versions)")
        return v

    def list_versions(self) -> list[Version]:
        cols = [c for c in versions.c if c.name != "test_labels"]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols).order_by(versions.c.id)).all()
        return [_version(r) for r in rows]

    def answer_key(self, version: Version) -> AnswerKey:
        """The version's answer key, loaded once per process (versions are immutable)."""
        key = self._keys.get(version.id)
        if key is None:
            with self.engine.connect() as conn:
                blob = conn.execute(
                    sa.select(versions.c.test_labels).where(versions.c.id == version.id)
                ).scalar_one()
            table = pq.read_table(io.BytesIO(blob))
            key = AnswerKey(table["sample_id"].combine_chunks(), np.asarray(table["label"], dtype=np.int8))
            self._keys[version.id] = key
        return key

    # Submissions ----------------------------------------------------------------------------------

    def add_submission(
        self,
        *,
        version: Version,
        researcher: Researcher,
        model: str,
        scores: dict[str, float],
        n_rows: int,
        predictions: bytes,
    ) -> dict[str, Any]:
        created = now()
        with self._write_lock, self.engine.begin() as conn:
            sid = _insert(
                conn,
                submissions.insert().values(
                    version_id=version.id,
                    researcher_id=researcher.id,
                    model=model,
                    created_at=created,
                    n_rows=n_rows,
                    predictions_sha256=hashlib.sha256(predictions).hexdigest(),
                    predictions=predictions,
                    **{k: float(scores[k]) for k in SCORE_FIELDS},
                ),
            )
        return {
            "id": int(sid),
            "version": version.name,
            "researcher": researcher.name,
            "model": model,
            "created_at": _iso(created),
            "n_rows": n_rows,
            "scores": {k: float(scores[k]) for k in SCORE_FIELDS},
        }

    def _submission_query(self) -> sa.Select:
        return (
            sa.select(
                submissions.c.id,
                submissions.c.model,
                submissions.c.created_at,
                submissions.c.n_rows,
                submissions.c.researcher_id,
                researchers.c.name.label("researcher"),
                versions.c.name.label("version"),
                *[submissions.c[k] for k in SCORE_FIELDS],
            )
            .join(researchers, researchers.c.id == submissions.c.researcher_id)
            .join(versions, versions.c.id == submissions.c.version_id)
        )

    def get_submission(self, submission_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(self._submission_query().where(submissions.c.id == submission_id)).first()
        if row is None:
            raise NotFoundError(f"submission: got {submission_id} -> no such submission")
        return _submission(row)

    def submission_predictions(self, submission_id: int) -> tuple[int, pa.Table]:
        """(owner researcher id, table of sample_id and predicted label) of a submission."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(submissions.c.researcher_id, submissions.c.predictions, versions.c.name)
                .join(versions, versions.c.id == submissions.c.version_id)
                .where(submissions.c.id == submission_id)
            ).first()
        if row is None:
            raise NotFoundError(f"submission: got {submission_id} -> no such submission")
        key = self.answer_key(self.get_version(row.name))
        labels = np.frombuffer(bytes(row.predictions), dtype=np.int8)
        return int(row.researcher_id), pa.table({"sample_id": key.ids, "label": pa.array(labels)})

    def ranking(self, version: Version) -> list[dict[str, Any]]:
        """Every submission of ``version``, best macro F1 first (ties: earlier submission first)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                self._submission_query()
                .where(submissions.c.version_id == version.id)
                .order_by(submissions.c.macro_f1.desc(), submissions.c.id.asc())
            ).all()
        out = []
        for rank, row in enumerate(rows, 1):
            out.append({"rank": rank, **_submission(row)})
        return out

    def count_submissions(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar_one())


def sqlite_file(url: str) -> Path | None:
    from campaignlab.leaderboard.config import sqlite_path

    return sqlite_path(url)


def _insert(conn: Any, stmt: Any) -> int:
    """Execute an INSERT and return the new row's integer primary key."""
    key = conn.execute(stmt).inserted_primary_key
    assert key is not None
    return int(key[0])


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; busy_timeout: a second writer waits instead of failing.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    # NORMAL in WAL mode: a committed submission survives a crash of the server process.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _version(row: Any) -> Version:
    return Version(
        id=int(row.id),
        name=row.name,
        content_hash=row.content_hash,
        created_at=_iso(row.created_at),
        n_train=int(row.n_train),
        n_test=int(row.n_test),
        has_features=bool(row.has_features),
        info=json.loads(row.info),
    )


def _submission(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "version": row.version,
        "researcher": row.researcher,
        "model": row.model,
        "created_at": _iso(row.created_at),
        "n_rows": int(row.n_rows),
        "scores": {k: float(getattr(row, k)) for k in SCORE_FIELDS},
    }


def labels_blob(sample_ids: pa.Array | pa.ChunkedArray, labels: pa.Array | pa.ChunkedArray) -> bytes:
    """Parquet bytes of (sample_id, label int8): how answer keys and predictions are stored."""
    table = pa.table({"sample_id": _array(sample_ids, pa.string()), "label": _array(labels, pa.int8())})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _array(values: Any, typ: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values.cast(typ) if isinstance(values, pa.Array) else pa.array(values, typ)
