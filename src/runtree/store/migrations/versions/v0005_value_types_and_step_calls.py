"""step_payloads.value_type/length; an index to count a function's calls as a step; function
descriptions from the entry point's docstring

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MAX_DESCRIPTION = 300


def upgrade() -> None:
    with op.batch_alter_table("step_payloads") as batch:
        batch.add_column(sa.Column("value_type", sa.String(200), nullable=True))
        batch.add_column(sa.Column("length", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_steps_function_name_calls",
        "steps",
        ["function", "name"],
        sqlite_where=sa.text("parent_id IS NOT NULL"),
        postgresql_where=sa.text("parent_id IS NOT NULL"),
    )
    _describe_from_docstrings()


def downgrade() -> None:
    op.drop_index("ix_steps_function_name_calls", table_name="steps")
    with op.batch_alter_table("step_payloads") as batch:
        batch.drop_column("length")
        batch.drop_column("value_type")


def _describe_from_docstrings() -> None:
    """Functions without a description get the first paragraph of their latest version's
    entry point docstring (already parsed at deploy, in the version's signature)."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT f.id, v.signature FROM functions f JOIN versions v ON v.function_id = f.id "
            "WHERE f.description IS NULL AND v.number = "
            "(SELECT max(number) FROM versions WHERE function_id = f.id)"
        )
    ).all()
    for function_id, signature in rows:
        summary = docstring_summary(_docstring(signature))
        if summary:
            connection.execute(
                sa.text("UPDATE functions SET description = :d WHERE id = :id"),
                {"d": summary, "id": function_id},
            )


def _docstring(signature: Any) -> str | None:
    if isinstance(signature, str):
        try:
            signature = json.loads(signature)
        except ValueError:
            return None
    if not isinstance(signature, dict):
        return None
    docstring = signature.get("docstring")
    return docstring if isinstance(docstring, str) else None


def docstring_summary(docstring: str | None) -> str | None:
    """The first paragraph, on one line, at most 300 characters (a copy of
    :func:`runtree.service.deploy.docstring_summary`: migrations must not import code that
    later changes)."""
    if not docstring:
        return None
    paragraph = docstring.strip().split("\n\n", 1)[0]
    text = " ".join(paragraph.split())
    if len(text) > MAX_DESCRIPTION:
        text = text[: MAX_DESCRIPTION - 1].rstrip() + "…"
    return text or None
