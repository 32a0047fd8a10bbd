"""Searching executions by their input, through an index on both backends.

What a search finds is defined by :func:`search_fragments`: texts that must occur in the
input as stored (compact JSON with ``", "`` and ``": "`` separators and ASCII escapes),
compared in lower case. The index behind it (migration 0013):

* PostgreSQL: a trigram GIN index (``pg_trgm``) on ``lower(CAST(input AS TEXT))``, which
  serves ``LIKE '%...%'`` as it is. Without the extension (no right to create it) the same
  query scans.
  A ``key=value`` search also asks for the value alone (:func:`narrowing_fragment`), so
  the index is read for the value's trigrams, not the key's, which are in almost every
  input.
* SQLite: an FTS5 table with the ``trigram`` tokenizer holding ``lower(input)`` of each
  execution, kept by triggers on ``executions`` (so every writer, and every delete, keeps it
  right); ``execution_search_rows`` gives each execution a stable integer row id for it,
  and deleting one of its rows deletes that document (a trigger).
  FTS5 uses the index for ``GLOB`` (not for ``LIKE ... ESCAPE``), so fragments become GLOB
  patterns there; a ``key=value`` search reads the index for the value alone and checks
  the exact fragments on the inputs found. Fragments shorter than three characters cannot
  use a trigram index and scan on both backends.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    SQLColumnExpression,
    String,
    Table,
    Text,
    and_,
    cast,
    func,
    or_,
    text,
)
from sqlalchemy.orm import Session

from .schema import ExecutionRow

_KEY_VALUE = re.compile(r"\s*([A-Za-z_]\w*)\s*[=:]\s*(.+?)\s*", re.DOTALL)

FTS_TABLE = "execution_input_fts"
SEARCH_ROWS = "execution_search_rows"
TRIGRAM_INDEX = "ix_executions_input_trgm"

SEARCH_ROWS_TABLE = Table(
    SEARCH_ROWS,
    MetaData(),  # not the models' metadata: SQLite only, created by SQL in its migration
    Column("rowid", Integer, primary_key=True),
    Column("execution_id", String(32), nullable=False),
)
"""The SQLite side table, for retention's deletion (:data:`.retention.EXECUTION_DATA`):
deleting a row deletes its document from the FTS table (a trigger), so an execution's
search entry can be deleted before or with the execution."""


def is_search_object(name: str | None) -> bool:
    """Whether a table or index is part of the search index, which the ORM metadata leaves
    out (a virtual table and an expression index it cannot describe): schema comparisons skip
    these."""
    return name is not None and (name.startswith(FTS_TABLE) or name in (SEARCH_ROWS, TRIGRAM_INDEX))


def search_fragments(text: str) -> list[str]:
    """The lower-case texts whose presence in an execution's input makes it a match (any one
    of them).

    ``key=value`` (or ``key: value``) finds that key with exactly that value anywhere in the
    input (``value`` is read as JSON when it is JSON, else as a string): the key and value
    followed by ``,``, ``}`` or ``]``. Anything else finds the text itself, as typed or as it
    appears inside a JSON string."""
    match = _KEY_VALUE.fullmatch(text)
    if match is not None:
        key, raw = match.groups()
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        prefix = f'"{key}": {json.dumps(value)}'.lower()
        return [prefix + end for end in (",", "}", "]")]
    return sorted({text.lower(), json.dumps(text)[1:-1].lower()})


def narrowing_fragment(text: str) -> str | None:
    """For a ``key=value`` search, the value as it appears in the input (lower case), when it
    is long enough for a trigram index (three characters or more): every match contains it,
    and it is much rarer than the key with its quotes and ``": "``, whose trigrams are in
    almost every input (an FTS5 trigram query reads every listed trigram's entries).
    ``None`` for any other search."""
    match = _KEY_VALUE.fullmatch(text)
    if match is None:
        return None
    fragment = search_fragments(text)[0]
    key = f'"{match.group(1)}": '.lower()
    value = fragment[len(key) : -1]
    return value if len(value) >= 3 else None


def like_pattern(fragment: str) -> str:
    """``%fragment%`` with ``\\`` escaping LIKE's wildcards."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def glob_pattern(fragment: str) -> str:
    """``*fragment*`` with GLOB's special characters as one-character classes."""
    return "*" + re.sub(r"([*?\[\]])", r"[\1]", fragment) + "*"


def input_matches(session: Session, search: str) -> ColumnElement[bool]:
    """The condition on ``executions`` for ``search`` (see :func:`search_fragments`)."""
    fragments = search_fragments(search)
    if session.get_bind().dialect.name == "sqlite":
        narrow = narrowing_fragment(search)
        if narrow is not None:
            # The index finds the inputs holding the value; the exact fragments are checked
            # on those (the document is lower(input), so the same GLOB on it is exact).
            candidates = text(
                f"SELECT execution_id FROM {SEARCH_ROWS} WHERE rowid IN "
                f"(SELECT rowid FROM {FTS_TABLE} WHERE doc GLOB :narrow)"
            ).bindparams(narrow=glob_pattern(narrow))
            document = func.lower(ExecutionRow.input)
            return and_(
                ExecutionRow.id.in_(candidates.columns(execution_id=Text)),
                or_(*(document.op("GLOB")(glob_pattern(f)) for f in fragments)),
            )
        union = " UNION ".join(
            f"SELECT rowid FROM {FTS_TABLE} WHERE doc GLOB :glob{index}"
            for index in range(len(fragments))
        )
        matching = text(
            f"SELECT execution_id FROM {SEARCH_ROWS} WHERE rowid IN (" + union + ")"
        ).bindparams(
            **{f"glob{index}": glob_pattern(fragment) for index, fragment in enumerate(fragments)}
        )
        return ExecutionRow.id.in_(matching.columns(execution_id=Text))
    document = func.lower(cast(ExecutionRow.input, Text))
    exact = or_(*(document.like(like_pattern(f), escape="\\") for f in fragments))
    narrow = narrowing_fragment(search)
    if narrow is None:
        return exact
    # Same matches; the planner finds the rows through the value's trigrams alone (the key's
    # are in almost every input) and checks the exact fragments on those.
    return and_(document.like(like_pattern(narrow), escape="\\"), exact)


def input_matches_unindexed(
    session: Session, search: str, document: SQLColumnExpression[Any]
) -> ColumnElement[bool]:
    """The same condition as :func:`input_matches` on ``document`` (an executions ``input``
    column, e.g. of a subquery), written so that no index serves it: for checking a few rows
    already found another way (the newest executions), where reading the index for a common
    value would cost more than the check."""
    fragments = search_fragments(search)
    if session.get_bind().dialect.name == "sqlite":
        lowered = func.lower(document)
        return or_(*(lowered.op("GLOB")(glob_pattern(f)) for f in fragments))
    lowered = func.lower(cast(document, Text))
    return or_(*(lowered.like(like_pattern(f), escape="\\") for f in fragments))
