"""Threads started inside a recording inherit the starter's step.

CPython 3.11-3.13 start threads with an empty ``contextvars`` context, so without help a
thread's steps would have no parent. While a recording is open, ``Thread.start`` and
``ThreadPoolExecutor.submit`` are wrapped to carry a copy of the caller's context into the new
thread or work item (``Context.run`` and ``functools.partial`` are C calls: they add no frame
to the thread's stack or to tracebacks). The wrapper of ``start`` itself shows in a traceback
only if ``start()`` raises (a thread started twice).
The wrappers are removed when the last recording closes.
"""

from __future__ import annotations

import contextvars
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .context import get_holder, set_holder

_saved: dict[str, Any] = {}


def install() -> None:
    if _saved:
        return
    original_start = threading.Thread.start
    original_submit = ThreadPoolExecutor.submit
    _saved.update(start=original_start, submit=original_submit)

    def start(self: threading.Thread) -> None:
        context = _context_for_new_thread()
        if context is not None:
            # The new thread runs its bootstrap inside the context: partial and Context.run
            # are C callables, so the thread's stack has no extra Python frame.
            inner = type(self)._bootstrap_inner  # type: ignore[attr-defined]
            self._bootstrap_inner = functools.partial(context.run, inner, self)  # type: ignore[attr-defined]
        return original_start(self)

    def submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        context = _context_for_new_thread()
        if context is not None:
            return original_submit(self, context.run, fn, *args, **kwargs)
        return original_submit(self, fn, *args, **kwargs)

    start.__wrapped__ = original_start  # type: ignore[attr-defined]
    submit.__wrapped__ = original_submit  # type: ignore[attr-defined]
    threading.Thread.start = start  # type: ignore[method-assign]
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
    ThreadPoolExecutor.submit = _saved["submit"]  # type: ignore[method-assign]
    _saved.clear()
