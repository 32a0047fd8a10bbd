"""The store's errors, all under :class:`runtree.errors.RuntreeError`."""

from __future__ import annotations

from ..errors import RuntreeError


class StoreError(RuntreeError):
    """Something went wrong in the persistence layer (also: a database that cannot be
    migrated, such as one written by a newer runtree)."""


class NotFoundError(StoreError, LookupError):
    """An operation named a function, version or execution that does not exist.

    ``kind`` is ``"function"``, ``"version"`` or ``"execution"``; ``key`` identifies it.
    """

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} not found: {key}")
        self.kind = kind
        self.key = key


class InvalidDataError(StoreError, ValueError):
    """An argument the store cannot accept: an unknown status or trigger, a malformed step
    dict, a name that is not an identifier ..."""


class ConflictError(StoreError):
    """An operation would break a uniqueness rule: a webhook path already in use ...
    ``kind`` names the thing (``"webhook"``), ``key`` its identifying value."""

    def __init__(self, kind: str, key: str, message: str | None = None) -> None:
        super().__init__(message or f"{kind} already exists: {key}")
        self.kind = kind
        self.key = key
