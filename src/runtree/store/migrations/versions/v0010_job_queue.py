"""job queue: Procrastinate's schema on PostgreSQL, the workers table, jobs for queued runs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopping", sa.Boolean(), nullable=False),
    )
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite keeps the embedded queue: the executions table
    from runtree.store import jobs

    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar() is None:
        bind.exec_driver_sql(jobs.procrastinate_schema())
    bind.exec_driver_sql(jobs.LOCK_INDEX)
    # Executions queued before the queue existed get their job now (or nothing runs them).
    queued = bind.execute(
        sa.text(
            "SELECT e.id, v.settings FROM executions e JOIN versions v ON v.id = e.version_id "
            "WHERE e.status = 'queued' ORDER BY e.queued_at"
        )
    ).all()
    for execution_id, settings in queued:
        jobs.defer(bind, execution_id, jobs.queue_of(settings))


def downgrade() -> None:
    op.drop_table("workers")
    if op.get_bind().dialect.name == "postgresql":
        from runtree.store import jobs

        op.get_bind().exec_driver_sql(jobs.DROP_PROCRASTINATE)
