"""The HTTP API (``/api/v1``): an edge over :mod:`runtree.service`, with no rules of its own.

Build it with :func:`create_app` and serve it with any ASGI server (``runtree serve`` uses
uvicorn).
"""

from .app import create_app

__all__ = ["create_app"]
