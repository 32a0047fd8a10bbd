"""Landlock: the file, network and scope rules an execution's process restricts itself with
(step 5 of :func:`.confine.confine`).

:func:`prepare_rules` opens, once in the zygote, every path every execution reads
(:mod:`.readable_paths`); :func:`restrict` adds the execution's own paths (its work
directory, read-write; some of ``/proc/<pid>``; the network's files) and hands all of it to
the kernel. The file rules go through the ``landlock`` package's system-call bindings; what
that package does not cover (network rules: ABI 4, scopes: ABI 6) is built here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from typing import TYPE_CHECKING

from ...errors import SandboxError
from .libc import PR_SET_NO_NEW_PRIVS, check
from .policy import Policy
from .readable_paths import (
    DEVICES_RO,
    DEVICES_RW,
    NETWORK_READABLE,
    PROC_SELF_DIRS,
    PROC_SELF_READABLE,
)

if TYPE_CHECKING:  # (preparation imports this module)
    from .preparation import Prepared

# Landlock, beyond what the ``landlock`` package covers (network rules: ABI 4, scopes: ABI 6).
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_RULE_NET_PORT = 2
LANDLOCK_ACCESS_NET_BIND_TCP, LANDLOCK_ACCESS_NET_CONNECT_TCP = 1, 2
LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, LANDLOCK_SCOPE_SIGNAL = 1, 2


class _NetRulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _NetPortAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock_abi(libc: ctypes.CDLL | None = None) -> int:
    """The kernel's Landlock ABI version; 0 without Landlock."""
    lib = libc or ctypes.CDLL(None, use_errno=True)
    version = lib.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), 1)
    return max(0, int(version))


def prepare_rules(prepared: Prepared) -> None:
    """Once, in the zygote (``prepared.landlock`` loaded): the rights handled, and an
    ``O_PATH`` fd and its rights for every path every execution reads or writes (the
    readable paths, the devices), in ``prepared`` -- a child only hands them to the kernel.
    Paths that cannot be opened are left out."""
    access = prepared.landlock.FSAccess
    prepared.handled = int(access.all())
    read_file = int(access.EXECUTE | access.READ_FILE)
    read_dir = read_file | int(access.READ_DIR)
    wanted = [(path, read_dir if os.path.isdir(path) else read_file) for path in prepared.readable]
    wanted += [(path, int(access.all_file())) for path in DEVICES_RW]
    wanted += [(path, int(access.READ_FILE)) for path in DEVICES_RO]
    from landlock import plumbing

    for path, rights in wanted:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        prepared.rules.append((fd, rights))
        prepared.rule_attrs.append(plumbing.PathBeneathAttr(rights, fd))


def restrict(prepared: Prepared, policy: Policy) -> None:
    """Read-only: the runtime and system paths :func:`.preparation.prepare` opened;
    read-write: the work directory; some of this process's own ``/proc/<pid>``
    (:data:`.readable_paths.PROC_SELF_READABLE`); nothing else. Through the ``landlock``
    package's system-call bindings, with the rules worked out in advance. Sets no_new_privs.
    Once the ruleset is made, closes it and every rule's fd and empties ``prepared``'s rules,
    even when a later call fails."""
    ll = prepared.landlock
    if ll is None:
        raise SandboxError("Landlock is not available")
    from landlock import plumbing

    access = ll.FSAccess
    ruleset = _create_ruleset(prepared, policy)
    own: list[int] = []
    try:
        add_rule = plumbing.get_add_rule()
        rules = list(prepared.rules)
        extra = [*policy.extra_readable, *(NETWORK_READABLE if policy.network else ())]
        read = int(access.EXECUTE | access.READ_FILE)
        for path, rights in (
            *((p, read | int(access.READ_DIR) if os.path.isdir(p) else read) for p in extra),
            *(
                (
                    f"/proc/{os.getpid()}/{name}",
                    int(access.READ_FILE | access.READ_DIR)
                    if name in PROC_SELF_DIRS
                    else int(access.READ_FILE),
                )
                for name in PROC_SELF_READABLE
            ),
            (policy.workdir, prepared.handled),
        ):
            with contextlib.suppress(FileNotFoundError):
                own.append(os.open(path, os.O_PATH | os.O_CLOEXEC))
                rules.append((own[-1], rights))
        attrs = [
            *prepared.rule_attrs,
            *(plumbing.PathBeneathAttr(r, fd) for fd, r in rules[len(prepared.rules) :]),
        ]
        for beneath in attrs:
            add_rule(ruleset, 1, ctypes.byref(beneath), 0)  # LANDLOCK_RULE_PATH_BENEATH
        check(prepared.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs", prepared.libc)
        plumbing.get_restrict_self()(ruleset, 0)
    finally:
        for fd in (ruleset, *own, *(fd for fd, _ in prepared.rules)):
            with contextlib.suppress(OSError):
                os.close(fd)
        prepared.rules = []
        prepared.rule_attrs = []


def _create_ruleset(prepared: Prepared, policy: Policy) -> int:
    """One ruleset for everything the kernel's ABI can express: files (ABI 1), TCP
    bind/connect only to the allowed ports (ABI >= 4; none without network), and no signals
    to or abstract unix sockets of processes outside this sandbox (ABI >= 6). The ``landlock``
    package's ruleset structure knows only files, so the larger one is built here."""
    abi = prepared.landlock_abi
    libc = prepared.libc
    attr = _NetRulesetAttr(
        prepared.handled,
        LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP if abi >= 4 else 0,
        LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL if abi >= 6 else 0,
    )
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    fd = check(
        libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0),
        "landlock_create_ruleset",
        libc,
    )
    if policy.network and abi >= 4:
        for port in policy.network_ports:
            rule = _NetPortAttr(LANDLOCK_ACCESS_NET_CONNECT_TCP, port)
            check(
                libc.syscall(
                    SYS_LANDLOCK_ADD_RULE, fd, LANDLOCK_RULE_NET_PORT, ctypes.byref(rule), 0
                ),
                "landlock_add_rule",
                libc,
            )
    return fd
