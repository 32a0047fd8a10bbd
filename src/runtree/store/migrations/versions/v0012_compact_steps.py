"""Compact steps: small captured values move into their step's row (``steps.payloads``);
the ``(execution_id, sequence)`` index goes (the primary key finds an execution's steps)

A small step used to cost a steps row, three index entries and a ``step_payloads`` row (with
its primary-key entry) per captured value, each repeating the 32-character execution id:
about 700 bytes on SQLite for a few bytes of content. Values whose serialized original is at
most 256 bytes and that were not truncated are now a compact JSON list in the step row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copies of runtree.store.step_codec's INLINE_BLOB_MAX and inline layout: migrations must not
# import code that later changes.
INLINE_BLOB_MAX = 256
FIELDS = (
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
EXECUTIONS_PER_BATCH = 200

PAYLOADS = sa.table(
    "step_payloads",
    sa.column("execution_id", sa.String),
    sa.column("step_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("name", sa.String),
    sa.column("position", sa.Integer),
    sa.column("preview", sa.JSON(none_as_null=False)),
    sa.column("size", sa.BigInteger),
    sa.column("format", sa.String),
    sa.column("truncated", sa.Boolean),
    sa.column("redacted", sa.Boolean),
    sa.column("sha256", sa.String),
    sa.column("warning", sa.String),
    sa.column("blob", sa.LargeBinary),
    sa.column("value_type", sa.String),
    sa.column("length", sa.BigInteger),
)
STEPS = sa.table(
    "steps",
    sa.column("execution_id", sa.String),
    sa.column("id", sa.Integer),
    sa.column("payloads", sa.JSON(none_as_null=True)),
)


# No batch_alter_table on steps: on SQLite it copies the table and drops the old one, and
# dropping it deletes every step_payloads row (ON DELETE CASCADE). Both backends can add and
# drop a column in place (SQLite since 3.35).


def upgrade() -> None:
    op.add_column("steps", sa.Column("payloads", sa.JSON(), nullable=True))
    op.drop_index("ix_steps_execution_id_sequence", table_name="steps")
    for execution_ids in _execution_batches():
        _move_inline(execution_ids)


def downgrade() -> None:
    for execution_ids in _execution_batches():
        _move_out(execution_ids)
    op.execute("ALTER TABLE steps DROP COLUMN payloads")
    op.create_index("ix_steps_execution_id_sequence", "steps", ["execution_id", "sequence"])


def _execution_batches() -> Any:
    ids = [row[0] for row in op.get_bind().execute(sa.text("SELECT id FROM executions"))]
    for start in range(0, len(ids), EXECUTIONS_PER_BATCH):
        yield ids[start : start + EXECUTIONS_PER_BATCH]


def _small(execution_ids: list[str]) -> Any:
    return sa.and_(
        PAYLOADS.c.execution_id.in_(execution_ids),
        PAYLOADS.c.truncated.is_(sa.false()),
        sa.or_(PAYLOADS.c.blob.is_(None), sa.func.length(PAYLOADS.c.blob) <= INLINE_BLOB_MAX),
    )


def _move_inline(execution_ids: list[str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(PAYLOADS)
        .where(_small(execution_ids))
        .order_by(PAYLOADS.c.execution_id, PAYLOADS.c.step_id, PAYLOADS.c.kind, PAYLOADS.c.position)
    ).mappings()
    by_step: dict[tuple[str, int], list[list[Any]]] = {}
    for row in rows:
        by_step.setdefault((row["execution_id"], row["step_id"]), []).append(_inline(row))
    if not by_step:
        return
    connection.execute(
        STEPS.update()
        .where(
            STEPS.c.execution_id == sa.bindparam("e"),
            STEPS.c.id == sa.bindparam("s"),
        )
        .values(payloads=sa.bindparam("p")),
        [{"e": e, "s": s, "p": entries} for (e, s), entries in by_step.items()],
    )
    connection.execute(PAYLOADS.delete().where(_small(execution_ids)))


def _inline(row: Any) -> list[Any]:
    values = dict(row)
    values["flags"] = (1 if row["truncated"] else 0) | (2 if row["redacted"] else 0)
    blob = row["blob"]
    values["blob"] = None if blob is None else base64.b64encode(bytes(blob)).decode("ascii")
    entry = [values[field] for field in FIELDS]
    while entry[-1] is None:
        entry.pop()
    return entry


def _move_out(execution_ids: list[str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(STEPS).where(
            STEPS.c.execution_id.in_(execution_ids), STEPS.c.payloads.is_not(None)
        )
    ).mappings()
    payloads = []
    for row in rows:
        for entry in row["payloads"] or ():
            values = dict(zip(FIELDS, entry + [None] * (len(FIELDS) - len(entry)), strict=True))
            flags = values.pop("flags") or 0
            blob = values["blob"]
            payloads.append(
                {
                    **values,
                    "execution_id": row["execution_id"],
                    "step_id": row["id"],
                    "truncated": bool(flags & 1),
                    "redacted": bool(flags & 2),
                    "blob": None if blob is None else base64.b64decode(blob),
                }
            )
    if payloads:
        connection.execute(PAYLOADS.insert(), payloads)
