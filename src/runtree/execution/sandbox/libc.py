"""The C library calls confinement makes through ``ctypes``, and how a failed one is
reported.

The library is loaded with ``use_errno=True`` (see :func:`.preparation.prepare`), so the
errno of a failed call is kept for :func:`check`.
"""

from __future__ import annotations

import ctypes
import os

# prctl option: both Landlock and seccomp need it set before they restrict this process.
PR_SET_NO_NEW_PRIVS = 38


def check(result: int, what: str, libc: ctypes.CDLL) -> int:
    """``result`` when it is not negative; otherwise :class:`OSError` with the errno the
    failed call left, its message prefixed by ``what``."""
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result
