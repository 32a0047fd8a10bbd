"""Functions and their immutable versions: a repository of the
:class:`~runtree.store.Store`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import NotFoundError
from ...models import (
    FunctionRecord,
    VersionRecord,
)
from .. import catalog
from ..common import utcnow
from ..database import Database

DEPLOY_ATTEMPTS = 10


class FunctionRepository:
    """Functions and their immutable versions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def deploy_version(
        self,
        namespace: str,
        name: str,
        *,
        source: str,
        settings: Mapping[str, Any],
        sha256: str,
        warnings: Sequence[Any] = (),
        dependencies: Sequence[Any] = (),
        signature: Any = None,
        description: str | None = None,
        created_by: str | None = None,
        make_current: bool = True,
    ) -> tuple[VersionRecord, bool]:
        """Store a version of ``namespace/name``, creating the function on first deploy.

        Returns ``(version, True)`` for a new version numbered one past the latest, or
        ``(latest, False)`` when the latest version already has this ``sha256`` (the caller
        computes it from source and settings). Safe under concurrent deploys of the same
        function: numbers never collide and identical concurrent deploys create one version.
        A non-``None`` ``description`` replaces the function's description. The version
        becomes the current one (the one runs use by default) unless ``make_current`` is
        false and the function already has one.
        """
        now = utcnow()
        return self._db.write(
            lambda session: catalog.deploy_version(
                session,
                namespace,
                name,
                source=source,
                settings=settings,
                sha256=sha256,
                warnings=warnings,
                dependencies=dependencies,
                signature=signature,
                description=description,
                created_by=created_by,
                now=now,
                make_current=make_current,
            ),
            attempts=DEPLOY_ATTEMPTS,
        )

    def set_current_version(self, namespace: str, name: str, number: int) -> int | None:
        """Make version ``number`` current; returns the number that was current before.
        :class:`NotFoundError` names the function or the version that does not exist."""
        return self._db.write(
            lambda session: catalog.set_current_version(session, namespace, name, number)
        )

    def get_function(self, namespace: str, name: str) -> FunctionRecord | None:
        """The function with its current version number, run count and last status (one
        statement: on PostgreSQL one round trip)."""
        return self._db.one_statement(lambda s: catalog.get_function(s, namespace, name))

    def list_functions(self, namespace: str | None = None) -> list[FunctionRecord]:
        """Every function (of ``namespace``, if given), sorted by namespace and name (one
        statement whatever the number of functions: on PostgreSQL one round trip)."""
        return self._db.one_statement(lambda s: catalog.list_functions(s, namespace))

    def list_versions(self, namespace: str, name: str) -> list[VersionRecord]:
        """Every version of a function, oldest first (with sources)."""
        with self._db.reading() as session:
            return catalog.list_versions(session, namespace, name)

    def get_version(
        self, namespace: str, name: str, number: int | None = None
    ) -> VersionRecord | None:
        """Version ``number`` of a function; the current one when ``number`` is ``None``."""
        return self._db.one_statement(lambda s: catalog.get_version(s, namespace, name, number))

    def require_version(
        self, namespace: str, name: str, number: int | None = None
    ) -> VersionRecord:
        """:meth:`get_version`, or :class:`NotFoundError` naming what is missing: the function
        (``kind="function"``) or, for a function that exists, the version."""
        version = self.get_version(namespace, name, number)
        if version is None:
            if self.get_function(namespace, name) is None:
                raise NotFoundError("function", f"{namespace}/{name}")
            raise NotFoundError("version", f"{namespace}/{name} v{number}")
        return version

    def get_version_by_id(self, version_id: int) -> VersionRecord | None:
        """The version with this database id (as in ``ExecutionRecord.version_id``)."""
        with self._db.reading() as session:
            return catalog.get_version_by_id(session, version_id)

    def get_versions(self, namespace: str, numbers: Mapping[str, int]) -> dict[str, VersionRecord]:
        """Version ``numbers[name]`` of each named function of ``namespace``, keyed by name,
        (versions that do not exist are left out). Versions never change: read in one
        statement per 200 names, each on its own."""
        return self._db.one_statement(lambda s: catalog.get_versions(s, namespace, numbers))

    def current_versions(self, namespace: str) -> dict[str, VersionRecord]:
        """The current version of every function in ``namespace``, keyed by function name
        (one query; what an execution resolves its calls against)."""
        with self._db.reading() as session:
            return catalog.current_versions(session, namespace)

    def current_version_numbers(self, namespace: str) -> dict[str, tuple[int, list[Any]]]:
        """``(number, dependencies)`` of the current version of every function in
        ``namespace``, keyed by function name: :meth:`current_versions` without reading any
        source (one query)."""
        with self._db.reading() as session:
            return catalog.current_version_numbers(session, namespace)
