"""Bundles in S3 Object Lock storage: each object's version id and checksum, recorded when
the bundle is committed to the bucket.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

T = sa.Text


def upgrade() -> None:
    op.create_table(
        "bundle_objects",
        sa.Column("bundle_id", T, nullable=False),
        sa.Column("name", T, nullable=False),
        sa.Column("version_id", T, nullable=False),
        sa.Column("sha256", T, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("stored_at", T, nullable=False),
        sa.PrimaryKeyConstraint("bundle_id", "name"),
    )


def downgrade() -> None:
    raise NotImplementedError("evidence stores are never downgraded")
