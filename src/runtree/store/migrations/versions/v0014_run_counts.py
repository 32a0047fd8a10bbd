"""Run counters: how many executions of each version are in each status (shadow runs left
out), kept by triggers on executions in the transaction that inserts, moves or deletes an
execution (see RunCountRow in runtree.store.schema)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies (a migration never imports live code that may change after it).
BACKFILL = """INSERT INTO run_counts (version_id, status, count)
    SELECT version_id, status, count(*) FROM executions WHERE shadow_report_id IS NULL
    GROUP BY version_id, status"""
SQLITE_UPGRADE = (
    """CREATE TRIGGER executions_count_insert AFTER INSERT ON executions
    WHEN new.shadow_report_id IS NULL BEGIN
        INSERT INTO run_counts (version_id, status, count) VALUES (new.version_id, new.status, 1)
            ON CONFLICT (version_id, status) DO UPDATE SET count = count + 1;
    END""",
    """CREATE TRIGGER executions_count_update AFTER UPDATE OF status ON executions
    WHEN new.shadow_report_id IS NULL AND old.status IS NOT new.status BEGIN
        UPDATE run_counts SET count = count - 1
            WHERE version_id = old.version_id AND status = old.status;
        INSERT INTO run_counts (version_id, status, count) VALUES (new.version_id, new.status, 1)
            ON CONFLICT (version_id, status) DO UPDATE SET count = count + 1;
    END""",
    """CREATE TRIGGER executions_count_delete AFTER DELETE ON executions
    WHEN old.shadow_report_id IS NULL BEGIN
        UPDATE run_counts SET count = count - 1
            WHERE version_id = old.version_id AND status = old.status;
    END""",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER executions_count_delete",
    "DROP TRIGGER executions_count_update",
    "DROP TRIGGER executions_count_insert",
)
# One status change locks two counter rows: always in the order of their status names, so
# that two transactions moving executions of one version in opposite directions (a claim,
# queued -> running; a hand-back, running -> queued) cannot deadlock.
POSTGRESQL_UPGRADE = (
    """CREATE FUNCTION runtree_count_runs() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        first_status text;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO run_counts (version_id, status, count)
                VALUES (NEW.version_id, NEW.status, 1)
                ON CONFLICT (version_id, status) DO UPDATE SET count = run_counts.count + 1;
        ELSIF TG_OP = 'DELETE' THEN
            UPDATE run_counts SET count = count - 1
                WHERE version_id = OLD.version_id AND status = OLD.status;
        ELSE
            first_status := least(OLD.status, NEW.status);
            IF first_status = OLD.status THEN
                UPDATE run_counts SET count = count - 1
                    WHERE version_id = OLD.version_id AND status = OLD.status;
            END IF;
            INSERT INTO run_counts (version_id, status, count)
                VALUES (NEW.version_id, NEW.status, 1)
                ON CONFLICT (version_id, status) DO UPDATE SET count = run_counts.count + 1;
            IF first_status <> OLD.status THEN
                UPDATE run_counts SET count = count - 1
                    WHERE version_id = OLD.version_id AND status = OLD.status;
            END IF;
        END IF;
        RETURN NULL;
    END;
    $$""",
    """CREATE TRIGGER executions_count_insert AFTER INSERT ON executions FOR EACH ROW
        WHEN (NEW.shadow_report_id IS NULL) EXECUTE FUNCTION runtree_count_runs()""",
    """CREATE TRIGGER executions_count_update AFTER UPDATE OF status ON executions FOR EACH ROW
        WHEN (NEW.shadow_report_id IS NULL AND OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION runtree_count_runs()""",
    """CREATE TRIGGER executions_count_delete AFTER DELETE ON executions FOR EACH ROW
        WHEN (OLD.shadow_report_id IS NULL) EXECUTE FUNCTION runtree_count_runs()""",
)
POSTGRESQL_DOWNGRADE = (
    "DROP TRIGGER executions_count_delete ON executions",
    "DROP TRIGGER executions_count_update ON executions",
    "DROP TRIGGER executions_count_insert ON executions",
    "DROP FUNCTION runtree_count_runs()",
)


def upgrade() -> None:
    op.create_table(
        "run_counts",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_run_counts_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "status", name=op.f("pk_run_counts")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    # Triggers first, then the backfill, all in the migration's transaction: no execution
    # written meanwhile is counted twice or missed.
    for statement in SQLITE_UPGRADE if sqlite else POSTGRESQL_UPGRADE:
        op.execute(statement)
    op.execute(BACKFILL)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_DOWNGRADE if sqlite else POSTGRESQL_DOWNGRADE:
        op.execute(statement)
    op.drop_table("run_counts")
