"""Execution ids: UUIDv7 values written as 32 lowercase hex digits.

The first 48 bits are the Unix time in milliseconds, so ids sort by creation time and the
newest-first listing and its cursor can use the primary key alone. Within one process ids are
strictly increasing, even within one millisecond or when the clock steps back (the 74 bits
after the version and variant bits act as a counter that starts at a random value each
millisecond, as in RFC 9562, method 3). Across processes, ids of the same millisecond are
ordered at random.
"""

from __future__ import annotations

import secrets
import threading
import time

_RAND_BITS = 74
_RAND_MAX = (1 << _RAND_BITS) - 1
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def new_execution_id() -> str:
    """A new, unique, time-ordered id (``len == 32``, ``[0-9a-f]``)."""
    global _last_ms, _last_rand
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            ms = now_ms
            # Leave head-room so the counter rarely overflows within one millisecond.
            rand = secrets.randbits(_RAND_BITS - 1)
        else:
            ms = _last_ms
            rand = _last_rand + 1 + secrets.randbits(16)
            if rand > _RAND_MAX:  # counter exhausted: borrow the next millisecond
                ms += 1
                rand = secrets.randbits(_RAND_BITS - 1)
        _last_ms, _last_rand = ms, rand
    rand_a = rand >> 62  # 12 bits
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return f"{value:032x}"
