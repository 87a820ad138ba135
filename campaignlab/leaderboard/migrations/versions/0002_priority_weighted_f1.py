"""``weighted_f1`` means the support-weighted F1 everywhere (issue 13): the stored 0.5/0.4/0.1 score moves
to ``priority_weighted_f1`` and ``weighted_f1`` is recomputed from each submission's stored predictions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow.parquet as pq
import sqlalchemy as sa
from alembic import op

from campaignlab.evaluation.metrics import weighted_f1

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_versions = sa.table("versions", sa.column("id", sa.Integer), sa.column("test_labels", sa.LargeBinary))
_submissions = sa.table(
    "submissions",
    sa.column("id", sa.Integer),
    sa.column("version_id", sa.Integer),
    sa.column("predictions", sa.LargeBinary),
    sa.column("weighted_f1", sa.Float),
)


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("weighted_f1", new_column_name="priority_weighted_f1")
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("weighted_f1", sa.Float, nullable=True))
    conn = op.get_bind()
    truth = {
        int(v.id): np.asarray(pq.read_table(io.BytesIO(bytes(v.test_labels)))["label"], dtype=np.int8)
        for v in conn.execute(sa.select(_versions.c.id, _versions.c.test_labels))
    }
    rows = conn.execute(sa.select(_submissions.c.id, _submissions.c.version_id, _submissions.c.predictions))
    for sub in rows.all():
        y_pred = np.frombuffer(bytes(sub.predictions), dtype=np.int8)  # answer-key order
        value = weighted_f1(truth[int(sub.version_id)], y_pred)
        conn.execute(_submissions.update().where(_submissions.c.id == sub.id).values(weighted_f1=value))
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("weighted_f1", existing_type=sa.Float, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("weighted_f1")
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("priority_weighted_f1", new_column_name="weighted_f1")
