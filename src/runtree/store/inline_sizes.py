"""The bytes of the serialized originals kept inline in step rows (``steps.payloads``).

Small captured values live in their step's row as compact JSON lists (:mod:`.step_inline`),
their serialized original base64-encoded at position 4 of the list (position 7 in lists
written before migration 0015, whose first item is a string). Storage figures
(``runtree storage``, a prune's dry run) count those bytes as they count ``step_payloads``
blobs: the original's length, computed in SQL from the base64 text (``len * 3 / 4`` minus
its ``=`` padding) so that no row is read into Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, func, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from .common import table
from .schema import StepRow

_STEPS = table(StepRow)
_BLOB_INDEX = 4  # step_inline.INLINE_FIELDS.index("blob")
_V1_BLOB_INDEX = 7  # step_inline.V1_FIELDS.index("blob")


def inline_blob_bytes(session: Session) -> tuple[Any, ColumnElement[int]]:
    """``(from_clause, size)``: ``steps`` joined to one row per inline value, and the byte
    length of that value's original (NULL for a value stored without one). Filter and group
    on the ``steps`` columns of the from clause (``StepRow.execution_id``)."""
    if session.get_bind().dialect.name == "sqlite":
        values = func.json_each(_STEPS.c.payloads).table_valued("value").alias("inline_value")
        blob: ColumnElement[Any] = case(
            (
                func.json_type(values.c.value, "$[0]") == "text",
                func.json_extract(values.c.value, f"$[{_V1_BLOB_INDEX}]"),
            ),
            else_=func.json_extract(values.c.value, f"$[{_BLOB_INDEX}]"),
        )
    else:  # PostgreSQL: a function in FROM may refer to the tables before it (LATERAL)
        values = (
            func.jsonb_array_elements(cast(_STEPS.c.payloads, JSONB))
            .table_valued("value")
            .alias("inline_value")
        )
        blob = case(
            (
                func.jsonb_typeof(values.c.value.op("->")(0)) == "string",
                values.c.value.op("->>")(_V1_BLOB_INDEX),
            ),
            else_=values.c.value.op("->>")(_BLOB_INDEX),
        )
    text_length = func.length(blob)
    padding = text_length - func.length(func.replace(blob, "=", ""))
    size = cast(text_length / 4 * 3 - padding, Integer)
    return _STEPS.join(values, true()), size
