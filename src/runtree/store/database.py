"""The database the store's repositories share: its engines and its transactions."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .engine import create_store_engine, write_engine
from .master_key import KeySource
from .sealed import Keyring

T = TypeVar("T")


class Database:
    """One engine for reads and its write twin (see :func:`.engine.write_engine`); every
    operation runs in a transaction of its own on a pooled connection (thread-safe). Each
    session carries the :class:`~.sealed.Keyring` of ``keys`` (default: the key source of
    the database, :meth:`.master_key.KeySource.for_database`) in ``session.info``."""

    def __init__(self, url: str | URL, keys: KeySource | None = None) -> None:
        self.engine: Engine = create_store_engine(url)
        self._writer = write_engine(self.engine)
        if keys is None:
            keys = KeySource.for_database(self.engine.url.render_as_string(hide_password=False))
        self.keyring = Keyring(keys)
        self._info = {"keyring": self.keyring}

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read transaction."""
        with Session(self.engine, info=self._info) as session, session.begin():
            yield session

    def write(self, operation: Callable[[Session], T], *, attempts: int = 1) -> T:
        """Run ``operation`` in a write transaction, committing on return; retry the whole
        transaction on a unique-constraint race up to ``attempts`` times in all."""
        for attempt in range(1, attempts + 1):
            try:
                with Session(self._writer, info=self._info) as session, session.begin():
                    return operation(session)
            except IntegrityError:
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
