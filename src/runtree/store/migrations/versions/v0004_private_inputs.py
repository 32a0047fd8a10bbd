"""execution_private_inputs: unredacted inputs, kept only while an execution has not ended

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "execution_private_inputs",
        sa.Column(
            "execution_id",
            sa.String(32),
            sa.ForeignKey("executions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("input", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("execution_private_inputs")
