"""Threads started inside a recording inherit the starter's step.

CPython 3.11-3.13 start threads with an empty ``contextvars`` context, so without help a
thread's steps would have no parent. While a recording is open, ``Thread.start`` and
``ThreadPoolExecutor.submit`` are wrapped to carry a copy of the caller's context into the new
thread or work item (``Context.run`` is a C call: it adds no frame to user tracebacks).
The wrappers are removed when the last recording closes.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .context import get_holder, set_holder

_saved: dict[str, Any] = {}


def install() -> None:
    if _saved:
        return
    original_start = threading.Thread.start
    original_bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]
    original_submit = ThreadPoolExecutor.submit
    _saved.update(start=original_start, bootstrap=original_bootstrap, submit=original_submit)

    def start(self: threading.Thread) -> None:
        context = _context_for_new_thread()
        if context is not None:
            self._runtree_context = context  # type: ignore[attr-defined]
        return original_start(self)

    def _bootstrap_inner(self: threading.Thread) -> None:
        context = self.__dict__.pop("_runtree_context", None)
        if context is None:
            return original_bootstrap(self)  # type: ignore[no-any-return]
        return context.run(original_bootstrap, self)  # type: ignore[no-any-return]

    def submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        context = _context_for_new_thread()
        if context is not None:
            return original_submit(self, context.run, fn, *args, **kwargs)
        return original_submit(self, fn, *args, **kwargs)

    start.__wrapped__ = original_start  # type: ignore[attr-defined]
    submit.__wrapped__ = original_submit  # type: ignore[attr-defined]
    threading.Thread.start = start  # type: ignore[method-assign]
    threading.Thread._bootstrap_inner = _bootstrap_inner  # type: ignore[attr-defined]
    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign,assignment]


def _context_for_new_thread() -> contextvars.Context | None:
    """A copy of this context whose holder is new (threads run concurrently, so they must not
    share the caller's holder), starting at the caller's current record."""
    holder = get_holder()
    if holder is None:
        return None
    context = contextvars.copy_context()
    context.run(set_holder, [holder[0]])
    return context


def uninstall() -> None:
    if not _saved:
        return
    threading.Thread.start = _saved["start"]  # type: ignore[method-assign]
    threading.Thread._bootstrap_inner = _saved["bootstrap"]  # type: ignore[attr-defined]
    ThreadPoolExecutor.submit = _saved["submit"]  # type: ignore[method-assign]
    _saved.clear()
