"""The leaderboard's system of record: researchers, API tokens, dataset versions, submissions.

One SQLAlchemy schema serves SQLite (the default, a single file) and PostgreSQL; Alembic migrations in
``campaignlab/leaderboard/migrations`` create and upgrade it (:meth:`Store.migrate`). Large, public
split files live in a data folder (see :mod:`campaignlab.leaderboard.versions`); the answer key, which
must never leave the server, lives only in the database: the test labels (``versions.test_labels``) and
the secret public/private split of the test samples (``versions.public_mask``). A SQLite database file
and its WAL files are owner-only (0600). Scores are stored at full precision, one row per submission and
part (:data:`submission_scores`); what a researcher sees is shaped by :mod:`campaignlab.leaderboard.public`.

SQLite runs in WAL mode with a busy timeout, and every write goes through one lock per process, so
concurrent submissions queue instead of failing with "database is locked".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import io
import json
import os
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
from campaignlab.evaluation.metrics import SCORE_NAMES

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
    # sha256 over the input files (they hold the test labels): identity for add-version, never published.
    sa.Column("input_hash", sa.String(64), nullable=False),
    # sha256 over the served split files (nothing secret); NULL for versions registered before 0003.
    sa.Column("content_hash", sa.String(64), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("n_train", sa.Integer, nullable=False),
    sa.Column("n_test", sa.Integer, nullable=False),
    sa.Column("has_features", sa.Boolean, nullable=False),
    # Public facts only (preset, train class counts, public part size, file names and hashes): JSON.
    sa.Column("info", sa.Text, nullable=False),
    # Parquet bytes (sample_id, label) of the test split: the secret the server scores against.
    sa.Column("test_labels", sa.LargeBinary, nullable=False),
    # One byte per test sample (answer-key order), 1 = public part: secret, drawn server-side.
    sa.Column("public_mask", sa.LargeBinary, nullable=False),
    # End of the competition: from then on the ranking is on the private part (NULL: runs on).
    sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
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
    sa.Column("predictions_sha256", sa.String(64), nullable=False),
    # The predicted labels as int8 bytes, one per test sample in answer-key order (the ids are the
    # version's); only the submitting researcher may read them back.
    sa.Column("predictions", sa.LargeBinary, nullable=False),
    # Idempotency-Key header and the sha256 of the request it came with (a retry replays the record).
    sa.Column("idempotency_key", sa.String(200), nullable=True),
    sa.Column("request_sha256", sa.String(64), nullable=True),
    sa.UniqueConstraint("researcher_id", "idempotency_key", name="uq_submissions_idempotency"),
    sa.Index("ix_submissions_quota", "researcher_id", "version_id", "created_at"),
)

# The scores of one submission on one part of the test split ("public" or "private").
submission_scores = sa.Table(
    "submission_scores",
    metadata,
    sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
    sa.Column("part", sa.String(8), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    *[sa.Column(k, sa.Float, nullable=False) for k in SCORE_NAMES],
)

PARTS = ("public", "private")
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class QuotaExceededError(CampaignlabError):
    """The researcher used up today's submissions for a version (HTTP 429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class IdempotencyConflictError(CampaignlabError):
    """An ``Idempotency-Key`` was used before with a different request (HTTP 422)."""


class CompetitionEndedError(CampaignlabError):
    """The version's competition has ended: its scores are final (HTTP 409)."""


class NotFoundError(CampaignlabError):
    """A named version, submission or researcher does not exist."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite gives back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def _iso(value: dt.datetime) -> str:
    return _aware(value).isoformat()


@dataclass(frozen=True)
class Researcher:
    id: int
    name: str


@dataclass(frozen=True)
class Version:
    """A registered version as the service sees it (no answer key, no public/private assignment)."""

    id: int
    name: str
    content_hash: str | None  # sha256 over the served files; None for versions registered before 0003
    created_at: str
    n_train: int
    n_test: int
    has_features: bool
    info: dict[str, Any]  # public facts only: see versions.register_version
    ends_at: dt.datetime | None

    def ended(self, at: dt.datetime | None = None) -> bool:
        """Whether the competition is over (the private part ranks, new submissions are refused)."""
        return self.ends_at is not None and (at or now()) >= self.ends_at

    @property
    def n_public(self) -> int:
        return int(self.info.get("n_public", self.n_test))


@dataclass(frozen=True)
class AnswerKey:
    """The answer key of one version: test sample ids, their labels and the secret public/private split."""

    ids: pa.Array  # (n_test,) string, unique
    labels: np.ndarray  # (n_test,) int8
    public: np.ndarray  # (n_test,) bool: True = public part


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
            path = sqlite_file(url)
            if path is not None:
                restrict_sqlite_files(path)
        self._write_lock = threading.Lock()
        self._keys: dict[int, AnswerKey] = {}

    # Schema ---------------------------------------------------------------------------------------

    def migrate(self) -> str:
        """Upgrade the schema to the newest Alembic revision; returns that revision."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        # Keep the host's logging setup: env.py does not call fileConfig.
        with self._write_lock, self.engine.connect() as conn:
            if self.is_sqlite:
                # SQLite's batch migrations copy tables; foreign keys must be off while they do (the
                # pragma is ignored inside a transaction, hence before begin()).
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
            except sa.exc.OperationalError as err:
                raise ConfigError(f"db: cannot open or migrate the database: {err.orig}") from None
            finally:
                if self.is_sqlite:
                    conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                    conn.commit()
        path = sqlite_file(self.url)
        if path is not None:
            restrict_sqlite_files(path)  # the WAL and shared-memory files exist from now on
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
        input_hash: str,
        content_hash: str,
        n_train: int,
        n_test: int,
        has_features: bool,
        info: dict[str, Any],
        test_labels: bytes,
        public_mask: np.ndarray,
        ends_at: dt.datetime | None = None,
    ) -> Version:
        mask = np.asarray(public_mask, dtype=np.uint8)
        assert mask.shape == (n_test,), (mask.shape, n_test)
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(
                versions.insert().values(
                    name=name,
                    input_hash=input_hash,
                    content_hash=content_hash,
                    created_at=now(),
                    n_train=n_train,
                    n_test=n_test,
                    has_features=has_features,
                    info=json.dumps(info, sort_keys=True),
                    test_labels=test_labels,
                    public_mask=mask.tobytes(),
                    ends_at=ends_at,
                )
            )
        return self.get_version(name)

    _VERSION_COLUMNS = (
        "id", "name", "content_hash", "created_at", "n_train", "n_test", "has_features", "info", "ends_at",
    )  # fmt: skip

    def find_version(self, name: str) -> Version | None:
        cols = [versions.c[c] for c in self._VERSION_COLUMNS]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*cols).where(versions.c.name == name)).first()
        return None if row is None else _version(row)

    def find_input_hash(self, name: str) -> str | None:
        """The secret input hash of version ``name`` (for add-version's same-content check)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(versions.c.input_hash).where(versions.c.name == name)
            ).scalar_one_or_none()
        return None if value is None else str(value)

    def get_version(self, name: str) -> Version:
        v = self.find_version(name)
        if v is None:
            raise NotFoundError(f"version: got {name!r} -> no such version (see GET /api/versions)")
        return v

    def list_versions(self) -> list[Version]:
        cols = [versions.c[c] for c in self._VERSION_COLUMNS]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols).order_by(versions.c.id)).all()
        return [_version(r) for r in rows]

    def end_competition(self, name: str, at: dt.datetime | None = None) -> Version:
        """End the competition on version ``name`` now (or at ``at``): the private part ranks from then.

        Raises:
            NotFoundError: no such version.
            ConfigError: the version has no private part (all its test samples are public).
        """
        version = self.get_version(name)
        if version.n_public >= version.n_test:
            raise ConfigError(
                f"name: version {name!r} has no private part (all {version.n_test} test samples are "
                "public, as for every version registered before blind scoring): there is nothing to reveal"
            )
        with self._write_lock, self.engine.begin() as conn:
            conn.execute(versions.update().where(versions.c.id == version.id).values(ends_at=at or now()))
        return self.get_version(name)

    def answer_key(self, version: Version) -> AnswerKey:
        """The version's answer key, loaded once per process (versions are immutable)."""
        key = self._keys.get(version.id)
        if key is None:
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(versions.c.test_labels, versions.c.public_mask).where(
                        versions.c.id == version.id
                    )
                ).one()
            table = pq.read_table(io.BytesIO(row.test_labels))
            key = AnswerKey(
                table["sample_id"].combine_chunks(),
                np.asarray(table["label"], dtype=np.int8),
                np.frombuffer(bytes(row.public_mask), dtype=np.uint8).astype(bool),
            )
            self._keys[version.id] = key
        return key

    # Submissions ----------------------------------------------------------------------------------

    def replay(
        self, researcher: Researcher, key: str, request_sha256: str, conn: Any = None
    ) -> dict[str, Any] | None:
        """The submission an earlier request with this ``Idempotency-Key`` stored, if any.

        Raises:
            IdempotencyConflictError: the key came with a different request before.
        """
        query = sa.select(submissions.c.id, submissions.c.request_sha256).where(
            submissions.c.researcher_id == researcher.id, submissions.c.idempotency_key == key
        )
        if conn is None:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        else:
            row = conn.execute(query).first()
        if row is None:
            return None
        if row.request_sha256 != request_sha256:
            raise IdempotencyConflictError(
                "Idempotency-Key: this key was used before with a different request (version, model or "
                "file); use a new key for a new submission"
            )
        return {"id": int(row.id)}

    def check_quota(self, conn: Any, version: Version, researcher: Researcher, quota: int) -> None:
        """Raise :class:`QuotaExceededError` when ``researcher`` used up today's (UTC) submissions."""
        t = now()
        day = t.replace(hour=0, minute=0, second=0)
        used = conn.execute(
            sa.select(sa.func.count())
            .select_from(submissions)
            .where(
                submissions.c.researcher_id == researcher.id,
                submissions.c.version_id == version.id,
                submissions.c.created_at >= day,
            )
        ).scalar_one()
        if used >= quota:
            tomorrow = day + dt.timedelta(days=1)
            raise QuotaExceededError(
                f"quota: {researcher.name} has made {used} of {quota} submissions allowed per version and "
                f"UTC day on version {version.name!r}; the next is possible at {tomorrow.isoformat()}",
                retry_after=max(1, int((tomorrow - t).total_seconds())),
            )

    def quota_left(self, version: Version, researcher: Researcher, quota: int) -> None:
        """Refuse early (before reading an upload) when the quota is used up."""
        with self.engine.connect() as conn:
            self.check_quota(conn, version, researcher, quota)

    def add_submission(
        self,
        *,
        version: Version,
        researcher: Researcher,
        model: str,
        scores: dict[str, dict[str, float]],
        counts: dict[str, int],
        n_rows: int,
        predictions: bytes,
        daily_quota: int,
        idempotency_key: str | None = None,
        request_sha256: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a scored submission; returns (the stored record, whether it is an idempotent replay).

        The idempotency check, the quota check and the insert run under one lock and in one transaction,
        so concurrent requests can neither exceed the quota nor store one key twice.

        Raises:
            IdempotencyConflictError: ``idempotency_key`` was used with another request.
            QuotaExceededError: today's quota is used up.
        """
        created = now()
        with self._write_lock, self.engine.begin() as conn:
            if idempotency_key is not None and request_sha256 is not None:
                earlier = self.replay(researcher, idempotency_key, request_sha256, conn)
                if earlier is not None:
                    return self.get_submission(int(earlier["id"])), True
            self.check_quota(conn, version, researcher, daily_quota)
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
                    idempotency_key=idempotency_key,
                    request_sha256=request_sha256,
                ),
            )
            conn.execute(
                submission_scores.insert(),
                [
                    {"submission_id": sid, "part": part, "n": counts[part], **_floats(values)}
                    for part, values in scores.items()
                ],
            )
        return self.get_submission(sid), False

    def _submissions(self, where: Any) -> list[dict[str, Any]]:
        query = (
            sa.select(
                submissions.c.id,
                submissions.c.model,
                submissions.c.created_at,
                submissions.c.n_rows,
                submissions.c.researcher_id,
                researchers.c.name.label("researcher"),
                versions.c.name.label("version"),
            )
            .join(researchers, researchers.c.id == submissions.c.researcher_id)
            .join(versions, versions.c.id == submissions.c.version_id)
            .where(where)
            .order_by(submissions.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            ids = [int(r.id) for r in rows]
            parts: dict[int, dict[str, dict[str, float]]] = {i: {} for i in ids}
            if ids:
                for s in conn.execute(
                    sa.select(submission_scores).where(submission_scores.c.submission_id.in_(ids))
                ):
                    parts[int(s.submission_id)][s.part] = {k: float(getattr(s, k)) for k in SCORE_NAMES}
        return [
            {
                "id": int(r.id),
                "version": r.version,
                "researcher": r.researcher,
                "model": r.model,
                "created_at": _iso(r.created_at),
                "n_rows": int(r.n_rows),
                "scores": parts[int(r.id)],
            }
            for r in rows
        ]

    def get_submission(self, submission_id: int) -> dict[str, Any]:
        """One submission with its scores per part, at full precision (see :mod:`.public` for views)."""
        rows = self._submissions(submissions.c.id == submission_id)
        if not rows:
            raise NotFoundError(f"submission: got {submission_id} -> no such submission")
        return rows[0]

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

    def submissions_of(self, version: Version) -> list[dict[str, Any]]:
        """Every submission of ``version`` in submission order, scores at full precision."""
        return self._submissions(submissions.c.version_id == version.id)

    def count_submissions(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar_one())


def sqlite_file(url: str) -> Path | None:
    from campaignlab.leaderboard.config import sqlite_path

    return sqlite_path(url)


def restrict_sqlite_files(path: Path) -> None:
    """Make the SQLite file (it holds the answer keys) and its WAL/shared-memory files owner-only (0600).

    The database file is created here, 0600, before SQLite first opens it: SQLite gives the ``-wal``,
    ``-shm`` and ``-journal`` files it creates the database file's permissions. Existing files (a
    database made by an older release) are narrowed to 0600 too, by chmod only: opening and closing a
    file SQLite has open would drop that process's POSIX locks on it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(p, 0o600)


def _floats(values: dict[str, float]) -> dict[str, float]:
    return {k: float(values[k]) for k in SCORE_NAMES}


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
        ends_at=None if row.ends_at is None else _aware(row.ends_at),
    )


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
