"""shadow replay: functions.current_version, shadow_reports, executions.shadow_report_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("functions") as batch:
        batch.add_column(sa.Column("current_version", sa.Integer(), nullable=True))
    # Until now the newest version was the current one.
    op.execute(
        "UPDATE functions SET current_version = "
        "(SELECT max(number) FROM versions WHERE versions.function_id = functions.id)"
    )
    op.create_table(
        "shadow_reports",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("baseline_version", sa.Integer(), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name="fk_shadow_reports_function_id_functions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shadow_reports"),
    )
    op.create_index("ix_shadow_reports_function_id_id", "shadow_reports", ["function_id", "id"])
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("shadow_report_id", sa.String(32), nullable=True))
        batch.create_foreign_key(
            "fk_executions_shadow_report_id_shadow_reports",
            "shadow_reports",
            ["shadow_report_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_executions_shadow_report_id", ["shadow_report_id"])


def downgrade() -> None:
    with op.batch_alter_table("executions") as batch:
        batch.drop_index("ix_executions_shadow_report_id")
        batch.drop_constraint("fk_executions_shadow_report_id_shadow_reports", type_="foreignkey")
        batch.drop_column("shadow_report_id")
    op.drop_index("ix_shadow_reports_function_id_id", table_name="shadow_reports")
    op.drop_table("shadow_reports")
    with op.batch_alter_table("functions") as batch:
        batch.drop_column("current_version")
