"""Slot uid locks: which process holds a slot uid, host-wide.

Each slot uid is held by at most one process at a time through an exclusive ``flock`` on
``/run/runtree/uids/<uid>.lock`` (:data:`UID_LOCK_DIR`, one directory per host whatever state
directory each process uses, since uids are the host's), and also on its lock in the default
state directory, where earlier runtrees took it alone. :class:`SlotUid` is one such hold;
:func:`state_dirs` makes the directories (with their modes), :func:`try_lock` takes a lock.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import tempfile
import threading

from .cgroups import SlotGroup
from .config import DEFAULT_STATE_DIR

UID_LOCK_DIR = "/run/runtree/uids"  # host-wide: see the module docstring


@dataclasses.dataclass
class SlotUid:
    """A slot uid this process holds (its ``flock`` fd), busy while an execution has it."""

    uid: int
    lock_fd: int
    state_fd: int = -1  # its lock where earlier runtrees took it (see Sandbox._reserve_uid)
    busy: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    group: SlotGroup | None = None


def state_dirs(state_dir: str, root: bool, uid_locks: str = UID_LOCK_DIR) -> tuple[str, str]:
    """``jobs`` (0711: slot uids reach their own directory, list none) in the state
    directory, and the host's uid locks (0700)."""
    base = state_dir if root else tempfile.mkdtemp(prefix="runtree-sandbox-")
    jobs = os.path.join(base, "jobs")
    state_locks = os.path.join(DEFAULT_STATE_DIR, "uids") if root else os.path.join(base, "uids")
    locks = uid_locks if root else state_locks
    # Created with their modes (never wider, not even for a moment), then set again: an
    # existing directory keeps its mode otherwise.
    os.makedirs(base, mode=0o711, exist_ok=True)
    os.makedirs(jobs, mode=0o711, exist_ok=True)
    for directory in {locks, state_locks}:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
    os.chmod(base, 0o711)
    os.chmod(jobs, 0o711)
    return jobs, locks


def try_lock(path: str) -> int:
    """An fd holding an exclusive ``flock`` on ``path``, or -1 if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return -1
    return fd
