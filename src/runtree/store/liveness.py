"""Is a pooled PostgreSQL connection still alive? Asked without a round trip.

A pool must not hand out a connection whose server side is gone (PostgreSQL restarted, the
backend was terminated, an idle timeout closed it): the next statement would fail. The usual
answer is a ping on every checkout (``SELECT 1``; SQLAlchemy's ``pool_pre_ping``,
psycopg_pool's ``check_connection``), which costs a round trip to the server per transaction
-- on the queue's path, several per execution, each one a wake-up of a PostgreSQL backend.

An idle connection has nothing to read: the server speaks only when asked. When the server
side ends the connection (a fast or immediate shutdown, ``pg_terminate_backend``, an idle
timeout), it sends its last error and closes the socket, which makes it *readable*. So a
connection is taken for alive when psycopg has not marked it closed or broken and its socket
has nothing to read, checked with a ``select`` that does not wait. Anything to read on an
idle connection -- the end of the connection, or an unexpected message -- counts as dead: the
pool opens a new connection instead, which costs a reconnect only.

What neither the ping nor this check can promise: a server that goes away *after* the check
fails the statement that follows (callers that must survive a restart retry, see
:meth:`~runtree.store.database.Database.write`), and a host that vanished without closing
its sockets is noticed only when a statement times out -- a ping would wait just as long.
"""

from __future__ import annotations

import select
from typing import Any

from sqlalchemy.exc import DisconnectionError


def connection_alive(connection: Any) -> bool:
    """Whether an idle psycopg connection (sync or async) may still be used (see the module
    docstring): not closed, not broken, and nothing to read on its socket."""
    if connection.closed or getattr(connection, "broken", False):  # broken: psycopg 3.2+
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):  # no socket any more
        return False
    return not readable


def check_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """SQLAlchemy ``checkout`` listener: a dead connection is replaced by a new one, and every
    connection pooled before it is discarded too (the server they talked to is gone), as
    ``pool_pre_ping`` does -- without its round trip."""
    if not connection_alive(dbapi_connection):
        error = DisconnectionError("the database closed this pooled connection")
        error.invalidate_pool = True
        raise error


async def check_pooled(connection: Any) -> None:
    """psycopg_pool ``check`` callback (async pools): close a dead connection and raise, so
    that the pool discards it and opens a new one. (A connection returned to the pool still
    open would be taken for a good one and handed out again.)"""
    if not connection_alive(connection):
        import psycopg

        await connection.close()
        raise psycopg.OperationalError("the database closed this pooled connection")
