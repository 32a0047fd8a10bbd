"""initial schema: functions, versions, executions, steps, step_payloads

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _json_or_null() -> sa.JSON:
    return sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "functions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_functions"),
        sa.UniqueConstraint("namespace", "name", name="uq_functions_namespace_name"),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("dependencies", sa.JSON(), nullable=False),
        sa.Column("signature", _json_or_null(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name="fk_versions_function_id_functions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.UniqueConstraint("function_id", "number", name="uq_versions_function_id_number"),
    )
    op.create_table(
        "executions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("output", _json_or_null(), nullable=True),
        sa.Column("error", _json_or_null(), nullable=True),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("queued_at", _utc(), nullable=False),
        sa.Column("started_at", _utc(), nullable=True),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("worker_id", sa.String(200), nullable=True),
        sa.Column("replay_of", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name="fk_executions_function_id_functions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name="fk_executions_version_id_versions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replay_of"],
            ["executions.id"],
            name="fk_executions_replay_of_executions",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_executions"),
    )
    op.create_index("ix_executions_status_queued_at", "executions", ["status", "queued_at"])
    op.create_index("ix_executions_function_id_id", "executions", ["function_id", "id"])
    op.create_index("ix_executions_namespace_name_id", "executions", ["namespace", "name", "id"])
    op.create_table(
        "steps",
        sa.Column("execution_id", sa.String(32), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("lineno", sa.Integer(), nullable=True),
        sa.Column("function", sa.String(401), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("duration_ns", sa.BigInteger(), nullable=True),
        sa.Column("error", _json_or_null(), nullable=True),
        sa.Column("stdout", sa.Text(), nullable=False),
        sa.Column("stdout_truncated", sa.Boolean(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("aggregates", sa.JSON(), nullable=False),
        sa.Column("generator", _json_or_null(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_steps_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "id", name="pk_steps"),
    )
    op.create_index("ix_steps_execution_id_parent_id", "steps", ["execution_id", "parent_id"])
    op.create_index("ix_steps_execution_id_sequence", "steps", ["execution_id", "sequence"])
    op.create_table(
        "step_payloads",
        sa.Column("execution_id", sa.String(32), nullable=False),
        sa.Column("step_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("redacted", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("warning", sa.Text(), nullable=True),
        sa.Column("blob", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id", "step_id"],
            ["steps.execution_id", "steps.id"],
            name="fk_step_payloads_execution_id_step_id_steps",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("execution_id", "step_id", "kind", "name", name="pk_step_payloads"),
    )


def downgrade() -> None:
    op.drop_table("step_payloads")
    op.drop_index("ix_steps_execution_id_sequence", table_name="steps")
    op.drop_index("ix_steps_execution_id_parent_id", table_name="steps")
    op.drop_table("steps")
    op.drop_index("ix_executions_namespace_name_id", table_name="executions")
    op.drop_index("ix_executions_function_id_id", table_name="executions")
    op.drop_index("ix_executions_status_queued_at", table_name="executions")
    op.drop_table("executions")
    op.drop_table("versions")
    op.drop_table("functions")
