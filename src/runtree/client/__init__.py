"""A Python client of a runtree server's HTTP API (``/api/v1``), returning the same plain
records as :class:`runtree.store.Store` -- what the CLI uses with ``--server URL``."""

from ..errors import RemoteError, ServerUnreachable
from .http import RemoteClient

__all__ = ["RemoteClient", "RemoteError", "ServerUnreachable"]
