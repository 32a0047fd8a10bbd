"""Compact rows: shorter inline step values, no rowid copy of steps and value hashes on
SQLite, and the calls index only over steps that name a function

A small step cost about 430 bytes on SQLite (and its value-index rows twice that again), for
a few bytes of content:

* inline values (``steps.payloads``) are written in a shorter layout from now on (the kind
  as a number, the size and the usual ``pickle`` format left out, see
  ``runtree.store.step_codec``); lists already stored keep the layout they were written in
  and read back the same (the decoder knows both), so no row is rewritten on the way up. On
  the way down the new lists are written in the old layout again.
* SQLite: ``steps`` and ``value_hashes`` become ``WITHOUT ROWID`` tables, so the primary key
  is the table instead of a second copy of every key beside a rowid table (the tables are
  copied once, in this migration).
* ``ix_executions_shadow_report_id`` holds shadow runs only: with an entry for every other
  execution (NULL), SQLite listed executions through it (``shadow_report_id IS NULL``) and
  sorted them all instead of reading the newest by primary key (191 ms for a page of 100,000
  executions instead of under 1 ms).
* ``ix_steps_function_name_calls`` counts a function's calls (``function = ... AND name =
  ...``): it now leaves out steps without a function (plain code), most of them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALLS_INDEX = "ix_steps_function_name_calls"
SHADOW_INDEX = "ix_executions_shadow_report_id"

# Frozen copies of the SQLite tables (as migrations 0001-0012 left them), WITHOUT ROWID.
SQLITE_STEPS = """CREATE TABLE {name} (
	execution_id VARCHAR(32) NOT NULL,
	id INTEGER NOT NULL,
	parent_id INTEGER,
	sequence INTEGER NOT NULL,
	depth INTEGER NOT NULL,
	name TEXT NOT NULL,
	filename TEXT,
	lineno INTEGER,
	function VARCHAR(401),
	version INTEGER,
	status VARCHAR(20) NOT NULL,
	started_at_ns BIGINT NOT NULL,
	duration_ns BIGINT,
	error JSON,
	stdout TEXT NOT NULL,
	stdout_truncated BOOLEAN NOT NULL,
	warnings JSON NOT NULL,
	aggregates JSON NOT NULL,
	generator JSON,
	extra JSON,
	payloads JSON,
	CONSTRAINT pk_steps PRIMARY KEY (execution_id, id),
	CONSTRAINT fk_steps_execution_id_executions FOREIGN KEY(execution_id)
		REFERENCES executions (id) ON DELETE CASCADE
){rowid}"""
SQLITE_STEPS_COLUMNS = (
    "execution_id, id, parent_id, sequence, depth, name, filename, lineno, function, version, "
    "status, started_at_ns, duration_ns, error, stdout, stdout_truncated, warnings, "
    "aggregates, generator, extra, payloads"
)
SQLITE_VALUE_HASHES = """CREATE TABLE {name} (
	execution_id VARCHAR(32) NOT NULL,
	step_id INTEGER NOT NULL,
	kind VARCHAR(20) NOT NULL,
	"key" VARCHAR(200) NOT NULL,
	digest VARCHAR(32) NOT NULL,
	CONSTRAINT pk_value_hashes PRIMARY KEY (execution_id, step_id, kind, "key", digest),
	CONSTRAINT fk_value_hashes_execution_id_executions FOREIGN KEY(execution_id)
		REFERENCES executions (id) ON DELETE CASCADE
){rowid}"""
SQLITE_VALUE_HASHES_COLUMNS = 'execution_id, step_id, kind, "key", digest'

# The inline layouts (copies of runtree.store.step_codec's at this revision).
V1_FIELDS = (
    "kind",
    "name",
    "position",
    "preview",
    "size",
    "format",
    "flags",
    "blob",
    "value_type",
    "length",
    "sha256",
    "warning",
)
KINDS = ("input", "output", "first_yield")
BATCH = 2_000


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index(CALLS_INDEX, table_name="steps")
    if sqlite:
        _rebuild("steps", SQLITE_STEPS, SQLITE_STEPS_COLUMNS, " WITHOUT ROWID")
        op.execute(
            "CREATE INDEX ix_steps_execution_id_parent_id ON steps (execution_id, parent_id)"
        )
        _rebuild("value_hashes", SQLITE_VALUE_HASHES, SQLITE_VALUE_HASHES_COLUMNS, " WITHOUT ROWID")
        op.execute("CREATE INDEX ix_value_hashes_digest ON value_hashes (digest, execution_id)")
    _calls_index("function IS NOT NULL AND parent_id IS NOT NULL")
    _shadow_index("shadow_report_id IS NOT NULL")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _to_v1()
    op.drop_index(CALLS_INDEX, table_name="steps")
    if sqlite:
        _rebuild("steps", SQLITE_STEPS, SQLITE_STEPS_COLUMNS, "")
        op.execute(
            "CREATE INDEX ix_steps_execution_id_parent_id ON steps (execution_id, parent_id)"
        )
        _rebuild("value_hashes", SQLITE_VALUE_HASHES, SQLITE_VALUE_HASHES_COLUMNS, "")
        op.execute("CREATE INDEX ix_value_hashes_digest ON value_hashes (digest, execution_id)")
    _calls_index("parent_id IS NOT NULL")
    _shadow_index(None)


def _shadow_index(where: str | None) -> None:
    op.drop_index(SHADOW_INDEX, table_name="executions")
    condition = None if where is None else sa.text(where)
    op.create_index(
        SHADOW_INDEX,
        "executions",
        ["shadow_report_id"],
        sqlite_where=condition,
        postgresql_where=condition,
    )


def _calls_index(where: str) -> None:
    op.create_index(
        CALLS_INDEX,
        "steps",
        ["function", "name"],
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def _rebuild(table: str, ddl: str, columns: str, rowid: str) -> None:
    """Copy ``table`` into a new one (foreign keys are not enforced during migrations on
    SQLite, see runtree.store.migrate, so dropping the old table deletes no child row)."""
    op.execute(ddl.format(name=f"{table}_new", rowid=rowid))
    op.execute(f"INSERT INTO {table}_new ({columns}) SELECT {columns} FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {table}_new RENAME TO {table}")


def _to_v1() -> None:
    """Write inline lists of the new layout in the old one (migration 0012's downgrade and
    older code read only that)."""
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        newer = "json_type(payloads, '$[0][0]') = 'integer'"
    else:
        newer = "jsonb_typeof(CAST(payloads AS jsonb) -> 0 -> 0) = 'number'"
    rows = connection.execute(
        sa.text(
            f"SELECT execution_id, id, payloads FROM steps WHERE payloads IS NOT NULL AND {newer}"
        )
    )
    value = ":p" if connection.dialect.name == "sqlite" else "CAST(:p AS json)"
    update = sa.text(f"UPDATE steps SET payloads = {value} WHERE execution_id = :e AND id = :s")
    batch: list[dict[str, Any]] = []
    for execution_id, step_id, payloads in rows.fetchall():
        entries = json.loads(payloads) if isinstance(payloads, str) else payloads
        batch.append({"e": execution_id, "s": step_id, "p": json.dumps([_v1(e) for e in entries])})
        if len(batch) == BATCH:
            connection.execute(update, batch)
            batch = []
    if batch:
        connection.execute(update, batch)


def _v1(entry: list[Any]) -> list[Any]:
    if isinstance(entry[0], str):  # already the old layout
        return entry
    code, name, position, preview, *rest = entry
    rest += [None] * (7 - len(rest))
    blob, value_type, length, size, format_, sha256, warning = rest
    if size is None:
        size = len(blob) * 3 // 4 - blob.count("=", -2) if blob is not None else 0
    values = {
        "kind": KINDS[code % 4],
        "name": name,
        "position": position,
        "preview": preview,
        "size": size,
        "format": "pickle" if format_ is None else format_,
        "flags": code // 4,
        "blob": blob,
        "value_type": value_type,
        "length": length,
        "sha256": sha256,
        "warning": warning,
    }
    old = [values[field] for field in V1_FIELDS]
    while old[-1] is None:
        old.pop()
    return old
