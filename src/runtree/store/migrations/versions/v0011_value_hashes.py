"""value_hashes, value_hash_keys: keyed hashes of the scalar values steps handled (runtree find)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "value_hash_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sealed_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_value_hash_keys"),
    )
    op.create_table(
        "value_hashes",
        sa.Column("execution_id", sa.String(32), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_value_hashes_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "execution_id", "step_id", "kind", "key", "digest", name="pk_value_hashes"
        ),
    )
    op.create_index("ix_value_hashes_digest", "value_hashes", ["digest", "execution_id"])


def downgrade() -> None:
    op.drop_index("ix_value_hashes_digest", table_name="value_hashes")
    op.drop_table("value_hashes")
    op.drop_table("value_hash_keys")
