"""Initial schema: researchers, tokens, versions, submissions.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "researchers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("researcher_id", sa.Integer, sa.ForeignKey("researchers.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_train", sa.Integer, nullable=False),
        sa.Column("n_test", sa.Integer, nullable=False),
        sa.Column("has_features", sa.Boolean, nullable=False),
        sa.Column("info", sa.Text, nullable=False),
        sa.Column("test_labels", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
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
        sa.Column("predictions", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_submissions_version_id", "submissions", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_submissions_version_id", table_name="submissions")
    op.drop_table("submissions")
    op.drop_table("versions")
    op.drop_table("tokens")
    op.drop_table("researchers")
