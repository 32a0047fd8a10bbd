"""The database the store's repositories share: its engines and its transactions."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from . import jobs, value_index
from .engine import create_store_engine, is_sqlite, write_engine
from .master_key import KeySource
from .sealed import Keyring

T = TypeVar("T")


class Database:
    """One engine for reads and its write twin (see :func:`.engine.write_engine`); every
    operation runs in a transaction of its own on a pooled connection (thread-safe). Each
    session carries the :class:`~.sealed.Keyring` of ``keys`` (default: the key source of
    the database, :meth:`.master_key.KeySource.for_database`) in ``session.info``."""

    def __init__(
        self, url: str | URL, keys: KeySource | None = None, *, job_queue: bool | None = None
    ) -> None:
        self.engine: Engine = create_store_engine(url)
        self._writer = write_engine(self.engine)
        self._autocommit = (
            None
            if is_sqlite(self.engine)
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        if keys is None:
            keys = KeySource.for_database(self.engine.url.render_as_string(hide_password=False))
        self.keyring = Keyring(keys)
        # PostgreSQL: write transactions defer Procrastinate jobs (see :mod:`.jobs`).
        self.job_queue = not is_sqlite(self.engine) and job_queue is not False
        self._info: dict[str, object] = {"keyring": self.keyring, value_index.KEY_CACHE: {}}
        if self.job_queue:
            self._info[jobs.DEFER_JOBS] = True

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read transaction."""
        with Session(self.engine, info=self._info) as session, session.begin():
            yield session

    def one_statement(
        self,
        operation: Callable[[Session], T],
        *,
        writes: bool = False,
        reconnect_s: float = 0.0,
    ) -> T:
        """Run ``operation``, which issues one statement, as a transaction of its own.

        On PostgreSQL the session is in autocommit: the statement is its own transaction,
        without the ``BEGIN`` and ``COMMIT`` round trips of :meth:`reading` and :meth:`write`
        (a statement sees one snapshot, and changes all or nothing, either way). Only for
        work whose consistency holds statement by statement: a read by key, or a write that
        is one atomic statement (an ``UPDATE ... RETURNING``). On SQLite this is
        :meth:`reading`, or :meth:`write` with ``writes``.

        With ``reconnect_s``, ``operation`` is run again for that long while the database
        cannot be reached (as :meth:`write` does: for idempotent operations only -- a
        statement that committed before its answer was lost is run again)."""
        if self._autocommit is None:
            if writes:
                return self.write(operation, reconnect_s=reconnect_s)
            with self.reading() as session:
                return operation(session)
        autocommit = self._autocommit

        def run() -> T:
            with Session(autocommit, info=self._info) as session:
                return operation(session)

        return _reconnecting(run, reconnect_s)

    def write(
        self, operation: Callable[[Session], T], *, attempts: int = 1, reconnect_s: float = 0.0
    ) -> T:
        """Run ``operation`` in a write transaction, committing on return; retry the whole
        transaction on a unique-constraint race up to ``attempts`` times in all. With
        ``reconnect_s``, also retry it for that long while the database cannot be reached
        (for idempotent operations only: a commit whose answer was lost is run again)."""
        attempt = 0

        def run() -> T:
            nonlocal attempt
            while True:
                attempt += 1
                try:
                    with Session(self._writer, info=self._info) as session, session.begin():
                        return operation(session)
                except IntegrityError:
                    if attempt >= attempts:
                        raise

        return _reconnecting(run, reconnect_s)


def _reconnecting(run: Callable[[], T], reconnect_s: float) -> T:
    """``run()``, run again (after 0.1 s, doubling to 2 s) while it fails because the
    database cannot be reached, for at most ``reconnect_s`` seconds."""
    deadline = time.monotonic() + reconnect_s
    delay = 0.1
    while True:
        try:
            return run()
        except OperationalError as error:
            if not disconnected(error) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def disconnected(error: OperationalError) -> bool:
    """Whether ``error`` says the connection was lost or could not be made (not a query
    that failed on its own)."""
    if error.connection_invalidated:
        return True
    import psycopg

    return isinstance(error.orig, psycopg.OperationalError)
