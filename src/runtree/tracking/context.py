"""Which step is current: one mutable *holder* per context.

``holder_var`` holds a one-element list, the holder; ``holder[0]`` is the innermost record of
the running context (a step's record, the recording's root, or an aggregated call). Entering
and leaving a synchronous call only swaps ``holder[0]``: a plain list store, where
``ContextVar.set`` would copy the context's map and allocate on every call.

Sharing one holder is safe wherever calls nest strictly, which is true for all synchronous
code. Code that can interleave gets a holder of its own: every coroutine step (an
``async def`` call: tasks run concurrently) installs a new holder with ``ContextVar.set``, and
threads started inside a recording get a fresh holder (see :mod:`.threads`).
"""

from __future__ import annotations

import contextvars
from typing import Any

holder_var: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "runtree_current", default=None
)
get_holder = holder_var.get
set_holder = holder_var.set


class _Paused:
    """What a paused holder points at: looks like a closed recording to every hook."""

    closed = True
    slots_left = 0
    reserve_left = 0
    max_depth = 0


# A record-shaped stand-in (see records.py): id 0, no meta, no frame, a closed "recording".
# While it is current, hooks record nothing (see safe_pickle.SafePickler).
PAUSED_RECORD = [
    None,
    None,
    0,
    0,
    "running",
    0,
    None,
    None,
    None,
    None,
    _Paused(),
    None,
    None,
    None,
    None,
]
