"""retention_policies: how long executions, webhook deliveries and audit entries are kept

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("function", sa.String(200), nullable=False),
        sa.Column("keep_days", sa.Integer(), nullable=True),
        sa.Column("keep_last", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(300), nullable=True),
        sa.UniqueConstraint(
            "kind", "namespace", "function", name="uq_retention_policies_kind_namespace_function"
        ),
    )


def downgrade() -> None:
    op.drop_table("retention_policies")
