"""api keys, audit log, webhooks (deliveries, idempotency keys), schedules (fires)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=True),
        sa.Column("revoked_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "server_flags",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_server_flags"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(300), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_namespace_id", "audit_log", ["namespace", "id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(100), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("verify", sa.String(20), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("sync_timeout_s", sa.Float(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
        sa.UniqueConstraint("path", name="uq_webhooks_path"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(100), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("query_string", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_size", sa.BigInteger(), nullable=False),
        sa.Column("body_truncated", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(300), nullable=True),
        sa.Column("execution_id", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="fk_webhook_deliveries_webhook_id_webhooks",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_webhook_deliveries_execution_id_executions",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index(
        "ix_webhook_deliveries_webhook_id_id", "webhook_deliveries", ["webhook_id", "id"]
    )
    op.create_index("ix_webhook_deliveries_execution_id", "webhook_deliveries", ["execution_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("execution_id", sa.String(32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name="fk_idempotency_keys_webhook_id_webhooks",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_idempotency_keys_execution_id_executions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("webhook_id", "key", name="pk_idempotency_keys"),
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(100), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_fire_at", _utc(), nullable=False),
        sa.Column("last_fire_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_schedules"),
    )
    op.create_index("ix_schedules_paused_next_fire_at", "schedules", ["paused", "next_fire_at"])
    op.create_table(
        "schedule_fires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("fire_time", _utc(), nullable=False),
        sa.Column("execution_id", sa.String(32), nullable=True),
        sa.Column("fired_at", _utc(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name="fk_schedule_fires_schedule_id_schedules",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name="fk_schedule_fires_execution_id_executions",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_schedule_fires"),
        sa.UniqueConstraint(
            "schedule_id", "fire_time", name="uq_schedule_fires_schedule_id_fire_time"
        ),
    )


def downgrade() -> None:
    op.drop_table("schedule_fires")
    op.drop_index("ix_schedules_paused_next_fire_at", table_name="schedules")
    op.drop_table("schedules")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_webhook_deliveries_execution_id", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_webhook_id_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    op.drop_index("ix_audit_log_namespace_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("server_flags")
    op.drop_table("api_keys")
