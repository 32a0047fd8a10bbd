"""Confinement, applied by an execution's own process to itself before any user code runs.

:func:`~.preparation.prepare` runs once in the (root, single-threaded) zygote, or in a cold
worker before :func:`confine`: it loads the ctypes bindings, works out which paths stay
readable and compiles the seccomp filters, so that what is left per execution is a handful
of system calls.

:func:`confine` then applies, in this order (the order matters: each step needs privileges
the next one takes away)::

    1. join the slot's cgroups                   (tier 2, when the probe found them writable)
    2. rlimits and nice                          (address space, CPU, file size, open files,
                                                  processes, no core dumps)
    3. private net/ipc/uts/mount namespaces and  (tier 1, when the probe found them usable)
       a size-capped tmpfs on the work directory
    4. chdir to the work directory
    5. Landlock: read-only runtime, read-write   (also TCP ports and signal/abstract-socket
       work directory, nothing else               scoping where the kernel's ABI has them)
    6. setgroups([]), setresgid, setresuid       (the slot's own uid, never root)
    7. seccomp (with no_new_privs)               (no sockets, ptrace, mount, namespaces, bpf,
                                                  io_uring, kexec, keyctl ...; by default no
                                                  new processes)
    8. a clean environment, and clear messages for the blocked calls

A zygote's spare for a dispatcher slot does 1 and the private mount/IPC/UTS namespaces of 3
before its job arrives, still root (:func:`enter_slot`); :func:`confine` skips what it finds
done for a policy like its own.

This module holds that order, and the steps of a few lines (1, 4, 6, 7); the others are
modules of their own: :mod:`.preparation`, :mod:`.rlimits` (2), :mod:`.namespaces` (3),
:mod:`.landlock_rules` with :mod:`.readable_paths` (5), :mod:`.seccomp` (7's filters),
:mod:`.blocked_calls` (8). The zygote and its spares use it as their one entry point (it
re-exports :func:`prepare`, :func:`warm`, :func:`enter_private_network` and
:func:`can_raise_priority`): importing it loads all of them.

Everything here is stdlib (ctypes) plus ``landlock`` and ``pyseccomp``; it must be imported
before Landlock hides ``/etc/ld.so.cache`` (pyseccomp looks libseccomp up when imported).
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

from ...errors import SandboxError
from . import seccomp
from .blocked_calls import explain_blocked_calls
from .landlock_rules import restrict
from .libc import PR_SET_NO_NEW_PRIVS, check
from .namespaces import enter_namespaces, enter_private_network, make_private
from .policy import Policy
from .preparation import Prepared, prepare, seccomp_program, warm
from .rlimits import can_raise_priority, limit_resources

__all__ = [
    "can_raise_priority",
    "confine",
    "enter_private_network",
    "enter_slot",
    "prepare",
    "warm",
]

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
PR_SET_DUMPABLE = seccomp.PR_SET_DUMPABLE

# What this process did in advance, as a zygote's spare for a slot (:func:`enter_slot`): the
# cgroup.procs files it joined, and whether it is in private mount/IPC/UTS namespaces made for
# a policy with (True) or without (False) shared memory (None: not entered).
_joined: set[str] = set()
_namespaces_for: bool | None = None


# --- in the execution's process ----------------------------------------------------------


def enter_slot(procs_files: tuple[str, ...], template: dict[str, Any] | None = None) -> None:
    """In a zygote's spare for a slot, before it has a job (still root, unconfined): join the
    slot's cgroups, and enter the private mount, IPC and UTS namespaces of ``template`` (the
    policy of the slot's last run: the next one's is most likely the same), off the request
    path. :func:`confine` then skips what was done here for a policy like its own (only
    what this process itself did) and does the rest as ever: the work directory's tmpfs,
    the network namespace, Landlock, the uid, seccomp. Best effort: what fails here is done,
    or fails, in :func:`confine`."""
    global _namespaces_for
    pid = str(os.getpid())
    for procs in procs_files:
        try:
            with open(procs, "w") as file:
                file.write(pid)
        except OSError:
            continue
        _joined.add(procs)
    if template is None:
        return
    try:
        policy = Policy.from_dict(template)
        if policy.namespaces:
            make_private(prepare(), policy)
            _namespaces_for = policy.shared_memory
    except Exception:
        return  # confine() makes them, or says why it cannot


def confine(policy: Policy) -> None:
    """Apply ``policy`` to this process, for good. Raises :class:`SandboxError` when any
    layer the policy asks for cannot be applied (the caller must then not run user code)."""
    prepared = prepare(all_filters=False)
    step = "start"
    try:
        key = seccomp.filter_key(policy)
        if policy.seccomp and key not in prepared.filters and prepared.seccomp_error is None:
            step = "seccomp filter"
            prepared.filters[key] = seccomp.compile_filter(*key)
        step = "cgroups"
        pid = str(os.getpid())
        for procs in policy.cgroup_procs:
            if procs not in _joined:
                with open(procs, "w") as file:
                    file.write(pid)
        step = "rlimits"
        limit_resources(policy)
        if policy.namespaces:
            step = "namespaces"
            enter_namespaces(prepared, policy, _namespaces_for)
        if prepared.host_network_fd >= 0:
            # Used (or not) by now: no run keeps a handle on the host's network namespace.
            os.close(prepared.host_network_fd)
            prepared.host_network_fd = -1
        step = "work directory"
        os.chdir(policy.workdir)
        if policy.landlock:
            step = "landlock"
            restrict(prepared, policy)
        step = "uid"
        if os.geteuid() == 0:
            os.setgroups([])
            os.setresgid(policy.gid, policy.gid, policy.gid)
            os.setresuid(policy.uid, policy.uid, policy.uid)
        elif policy.uid != os.getuid():
            raise SandboxError(f"not root: cannot become uid {policy.uid}")
        if os.getuid() == 0 or os.geteuid() == 0:
            raise SandboxError("still root after setresuid")
        # Dumpable again (setresuid cleared it): /proc/<pid> then belongs to the slot uid,
        # which is how the platform finds what is left of it; seccomp keeps it so.
        check(prepared.libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable", prepared.libc)
        if policy.seccomp:
            step = "seccomp"
            _seccomp(prepared, policy)
        step = "environment"  # the rest was set once, by prepare()
        os.environ["HOME"] = os.environ["TMPDIR"] = policy.workdir
        explain_blocked_calls(policy)
    except SandboxError:
        raise
    except BaseException as error:
        raise SandboxError(f"{step}: {type(error).__name__}: {error}") from error


def _seccomp(prepared: Prepared, policy: Policy) -> None:
    key = seccomp.filter_key(policy)
    if key not in prepared.filters:
        raise SandboxError(f"no seccomp filter: {prepared.seccomp_error}")
    fprog = seccomp_program(prepared, key)
    libc = prepared.libc
    prctl = libc.prctl
    check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)", libc)
    check(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp", libc)
