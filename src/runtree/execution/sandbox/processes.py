"""Finding and killing the processes of a slot uid: ``/proc`` scans, the ``kill(-1)`` helper,
and clearing a uid of every process before its slot is used again."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable

from . import interpreter
from .config import MIN_SLOT_UID

CLEAR_TIMEOUT_S = 5.0


def processes_of(uid: int) -> list[tuple[int, bool]]:
    """Every process whose real, effective or saved uid is ``uid``: (pid, is a zombie)."""
    found = []
    wanted = str(uid)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as file:
                text = file.read(2048).decode("ascii", "replace")
        except OSError:
            continue
        zombie = False
        for line in text.splitlines():
            if line.startswith("State:"):
                zombie = "Z" in line.split()[1:2]
            elif line.startswith("Uid:"):
                if wanted in line.split()[1:4]:
                    found.append((int(name), zombie))
                break
    return found


def owned_by(uid: int) -> list[tuple[int, bool]]:
    """Processes whose ``/proc/<pid>`` belongs to ``uid`` (dumpable ones: see
    :func:`clear_uid`); cheaper than :func:`processes_of`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    found.append((int(name), False))
            except OSError:
                continue
    return found


def kill_user_with_helper(python: str, uid: int) -> bool:
    """SIGKILL every process of ``uid``: a helper process that becomes ``uid`` and calls
    ``kill(-1, SIGKILL)`` (which then reaches exactly that uid's processes). Whether there
    was any (``kill(-1)`` fails with ESRCH when it reaches none)."""
    if uid < MIN_SLOT_UID or uid == os.getuid():
        raise ValueError(f"refusing to kill the processes of uid {uid}")
    # kill(-1) as root would kill the whole host: the helper checks who it is first.
    code = (
        "import os, signal, sys\n"
        f"if not (os.getuid() == os.geteuid() == {uid} and {uid} >= {MIN_SLOT_UID}):\n"
        "    sys.exit(2)\n"
        "try:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    sys.exit(1)\n"
    )
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", code],
            user=uid,
            group=uid,
            extra_groups=[],
            env=interpreter.clean_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return True
    return done.returncode != 1


def clear_uid(uid: int, kill_user: Callable[[int], bool], thorough: bool = True) -> bool:
    """Make sure no process of ``uid`` is left (zombies: until reaped): scan ``/proc``,
    and while anything is found kill every process of the uid (``kill(-1)`` as the uid,
    atomic with respect to fork) and scan again.

    ``thorough`` (the run could start processes, or was stopped): kill first, then scan
    each process's ``status`` (its real, effective and saved uids; ~25 us a process).
    Otherwise the run could start no process at all (seccomp), its one process made
    itself dumpable and cannot undo that, so ``/proc/<pid>`` is owned by the uid: a
    ``stat`` per process (~3 us) sees it."""
    deadline = time.monotonic() + CLEAR_TIMEOUT_S
    delay = 0.001
    if thorough:
        kill_user(uid)
    scan = processes_of if thorough else owned_by
    while scan(uid):
        if time.monotonic() > deadline:
            return False
        kill_user(uid)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
        scan = processes_of
    return True
