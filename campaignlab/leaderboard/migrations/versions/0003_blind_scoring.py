"""Blind scoring that stays blind (issue 17).

* versions: the hash of the input files (which hold the labels) becomes the unpublished ``input_hash``;
  ``content_hash`` is now the hash of the served files (NULL for the versions registered before, whose
  served files were never hashed); the public info loses ``seed`` and ``input_sha256``; a secret
  public/private split (``public_mask``) and the competition's end (``ends_at``) are added. A version
  registered before has every test sample public (its scores were published on the whole test split)
  and is flagged ``labels_reconstructible`` when its generator seed was published.
* submission_scores: one row per submission and part; the scores stored in ``submissions`` move there
  unchanged as the ``public`` part (= the whole test split of those versions).
* submissions: ``idempotency_key`` and ``request_sha256`` (Idempotency-Key), an index for the quota.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The score columns as of this revision (frozen here: later metric changes get their own revision).
_SCORES = (
    "macro_f1", "f1_negative", "f1_average", "f1_positive", "weighted_f1", "priority_weighted_f1", "accuracy",
)  # fmt: skip
_versions = sa.table(
    "versions",
    sa.column("id", sa.Integer),
    sa.column("n_test", sa.Integer),
    sa.column("info", sa.Text),
    sa.column("public_mask", sa.LargeBinary),
)


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.alter_column("content_hash", new_column_name="input_hash", existing_type=sa.String(64))
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("public_mask", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    n_test: dict[int, int] = {}
    for v in conn.execute(sa.select(_versions.c.id, _versions.c.n_test, _versions.c.info)).all():
        n_test[int(v.id)] = int(v.n_test)
        info = json.loads(v.info)
        seed = info.pop("seed", None)
        info.pop("input_sha256", None)
        info.update(n_public=int(v.n_test), public_fraction=1.0, labels_reconstructible=seed is not None)
        conn.execute(
            _versions.update()
            .where(_versions.c.id == v.id)
            .values(info=json.dumps(info, sort_keys=True), public_mask=b"\x01" * int(v.n_test))
        )
    with op.batch_alter_table("versions") as batch:
        batch.alter_column("public_mask", existing_type=sa.LargeBinary, nullable=False)

    scores = op.create_table(
        "submission_scores",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("part", sa.String(8), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        *[sa.Column(k, sa.Float, nullable=False) for k in _SCORES],
    )
    old = sa.table("submissions", sa.column("id"), sa.column("version_id"), *[sa.column(k) for k in _SCORES])
    rows = [
        {
            "submission_id": r["id"],
            "part": "public",
            "n": n_test[int(r["version_id"])],
            **{k: r[k] for k in _SCORES},
        }
        for r in (row._mapping for row in conn.execute(sa.select(old)).all())
    ]
    if rows:
        op.bulk_insert(scores, rows)
    with op.batch_alter_table("submissions") as batch:
        for k in _SCORES:
            batch.drop_column(k)
        batch.add_column(sa.Column("idempotency_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("request_sha256", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_submissions_idempotency", ["researcher_id", "idempotency_key"])
    op.create_index("ix_submissions_quota", "submissions", ["researcher_id", "version_id", "created_at"])


def downgrade() -> None:
    raise NotImplementedError("0003 moves scores and drops published facts: restore a backup instead")
