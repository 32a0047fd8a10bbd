"""A SQLite database file's space: its size and free pages, and giving free pages back to
the file system after a prune (``auto_vacuum = incremental``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclasses.dataclass(frozen=True, slots=True)
class FileSpace:
    """A SQLite database file: its size, its free pages' bytes (reusable, not yet given back
    to the file system) and its ``auto_vacuum`` mode (``none``, ``full``, ``incremental``)."""

    size_bytes: int
    free_bytes: int
    auto_vacuum: str


_AUTO_VACUUM = {0: "none", 1: "full", 2: "incremental"}


def file_space(session: Session) -> FileSpace:
    page_size = int(session.execute(text("PRAGMA page_size")).scalar_one())
    pages = int(session.execute(text("PRAGMA page_count")).scalar_one())
    free = int(session.execute(text("PRAGMA freelist_count")).scalar_one())
    mode = int(session.execute(text("PRAGMA auto_vacuum")).scalar_one())
    return FileSpace(pages * page_size, free * page_size, _AUTO_VACUUM.get(mode, str(mode)))


def incremental_vacuum(connection: Any, pages: int) -> int:
    """Give up to ``pages`` free pages back to the file system, on a ``sqlite3`` connection
    outside any transaction (``auto_vacuum = incremental`` only; elsewhere nothing happens).
    Returns the pages freed. The statement is its own short write transaction."""
    if connection.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
        return 0
    before = int(connection.execute("PRAGMA freelist_count").fetchone()[0])
    # Each step of this statement frees one page; sqlite3's execute() steps once for a
    # statement without result columns, executescript() to the end.
    connection.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
    after = int(connection.execute("PRAGMA freelist_count").fetchone()[0])
    return max(before - after, 0)
