"""Input search through an index: a trigram GIN index on PostgreSQL, an FTS5 trigram table
kept by triggers on SQLite (see runtree.store.input_search)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger(__name__)

SQLITE_UPGRADE = (
    """CREATE TABLE execution_search_rows (
        rowid INTEGER NOT NULL,
        execution_id VARCHAR(32) NOT NULL,
        CONSTRAINT pk_execution_search_rows PRIMARY KEY (rowid),
        CONSTRAINT uq_execution_search_rows_execution_id UNIQUE (execution_id)
    )""",
    "CREATE VIRTUAL TABLE execution_input_fts USING fts5(doc, tokenize='trigram')",
    """CREATE TRIGGER executions_search_insert AFTER INSERT ON executions BEGIN
        INSERT INTO execution_search_rows (execution_id) VALUES (new.id);
        INSERT INTO execution_input_fts (rowid, doc) VALUES (last_insert_rowid(), lower(new.input));
    END""",
    """CREATE TRIGGER executions_search_update AFTER UPDATE OF input ON executions BEGIN
        UPDATE execution_input_fts SET doc = lower(new.input) WHERE rowid =
            (SELECT rowid FROM execution_search_rows WHERE execution_id = new.id);
    END""",
    # Retention deletes execution_search_rows rows itself (before the executions): the
    # document goes with its row, whoever deletes it.
    """CREATE TRIGGER execution_search_rows_delete AFTER DELETE ON execution_search_rows BEGIN
        DELETE FROM execution_input_fts WHERE rowid = old.rowid;
    END""",
    """CREATE TRIGGER executions_search_delete AFTER DELETE ON executions BEGIN
        DELETE FROM execution_search_rows WHERE execution_id = old.id;
    END""",
    "INSERT INTO execution_search_rows (execution_id) SELECT id FROM executions ORDER BY id",
    """INSERT INTO execution_input_fts (rowid, doc)
        SELECT r.rowid, lower(e.input) FROM execution_search_rows r
        JOIN executions e ON e.id = r.execution_id""",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER executions_search_delete",
    "DROP TRIGGER execution_search_rows_delete",
    "DROP TRIGGER executions_search_update",
    "DROP TRIGGER executions_search_insert",
    "DROP TABLE execution_input_fts",
    "DROP TABLE execution_search_rows",
)
TRIGRAM_INDEX = (
    "CREATE INDEX ix_executions_input_trgm ON executions "
    "USING gin (lower(CAST(input AS TEXT)) gin_trgm_ops)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)
        return
    connection = op.get_bind()
    try:
        with connection.begin_nested():
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:  # no right to create it: searches scan, as before
        logger.warning("input search stays unindexed: cannot create pg_trgm (%s)", exc.orig)
        return
    op.execute(TRIGRAM_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
        return
    op.execute("DROP INDEX IF EXISTS ix_executions_input_trgm")
