"""An execution's private input: the unredacted input, kept sealed (:mod:`..sealed`) apart
from the redacted copy everyone reads, and deleted when the execution ends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.orm import Session

from ..common import check_json, chunks, table
from ..schema import PrivateInputRow
from ..sealed import open_json, seal_json
from ..value_index import index_private_input

# The sealed column (its name is the associated data of each sealed value).
PRIVATE_INPUT_FIELD = "execution_private_inputs.sealed_input"

PRIVATE_INPUTS = table(PrivateInputRow)
_FORGET_PRIVATE = delete(PRIVATE_INPUTS).where(
    PRIVATE_INPUTS.c.execution_id.in_(bindparam("execution_ids", expanding=True))
)
_FORGET_PRIVATE_ONE = delete(PRIVATE_INPUTS).where(
    PRIVATE_INPUTS.c.execution_id == bindparam("execution_id")
)


def keep_private_input(session: Session, execution_id: str, private_input: Any) -> None:
    """Store ``private_input`` sealed for ``execution_id`` (and index its values, when it
    is a document, for the value search)."""
    check_json("private_input", private_input)
    sealed = seal_json(session, PRIVATE_INPUT_FIELD, private_input)
    session.add(PrivateInputRow(execution_id=execution_id, sealed_input=sealed))
    if isinstance(private_input, dict):
        index_private_input(session, execution_id, private_input)


def private_input(session: Session, execution_id: str) -> Any:
    """The unredacted input of a not yet ended execution, or ``None``;
    :class:`~runtree.errors.SecretKeyError` when it cannot be opened."""
    row = session.get(PrivateInputRow, execution_id)
    return None if row is None else open_json(session, PRIVATE_INPUT_FIELD, row.sealed_input)


def forget_private_inputs(session: Session, execution_ids: list[str]) -> None:
    """Delete the private inputs of these executions (they ended)."""
    if len(execution_ids) == 1:  # every end: no expanding IN list to render
        session.execute(_FORGET_PRIVATE_ONE, {"execution_id": execution_ids[0]})
        return
    for ids in chunks(execution_ids):
        session.execute(_FORGET_PRIVATE, {"execution_ids": list(ids)})
