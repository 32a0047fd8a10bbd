"""The tracking runtime's shared state: which step is current in this context.

``current`` holds the innermost step (or the recording's root, or an aggregated frame) of the
running context. ``asyncio`` tasks copy contexts when they are created, so a task's steps nest
under the step that created it; threads get the starter's context through :mod:`.threads`.
"""

from __future__ import annotations

import contextvars
from typing import Any

current: contextvars.ContextVar[Any] = contextvars.ContextVar("runtree_current_step", default=None)
get_current = current.get
set_current = current.set
