"""The seccomp filters an execution's process applies to itself (see :mod:`.confine`).

An allow-by-default filter with deny rules (``EPERM``), compiled by libseccomp
(``pyseccomp``) into BPF once per :data:`FilterKey` in the zygote: a fixed list of system
calls no function needs, ``kill(-1)``, namespace flags of ``clone``; new processes unless
the function opts in; memfd and System V IPC unless a memory cgroup counts them; signals to
other processes when runs share the server's uid (not root, no Landlock scoping). Sockets go
by allow-list (:func:`_allow_only_tcp_and_udp`). A system call of another ABI (x32, i386)
kills the whole process.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from typing import Any

from .policy import Policy

# Syscalls no function ever needs; denied with EPERM.
DENIED_SYSCALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "vhangup",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "uselib",
    "personality",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "fanotify_init",
    "migrate_pages",
    "move_pages",
)
PROCESS_SYSCALLS = ("fork", "vfork", "execve", "execveat")
# Signals to a process or thread by id (kill() is handled apart: kill(0, ...) is the run's
# own process group).
SIGNAL_SYSCALLS = (
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_send_signal",
    "pidfd_open",
)
# Memory outside the address-space limit (memfd, System V shared memory) and System V IPC
# objects, which outlive the process in the host's IPC namespace: allowed only when the run's
# memory cgroup counts them and its private IPC namespace dies with it
# (``Policy.shared_memory``). POSIX shared memory (``shm_open``) is /dev/shm: Landlock.
SHARED_MEMORY_SYSCALLS = (
    "memfd_create",
    "memfd_secret",
    "shmget",
    "shmat",
    "shmctl",
    "shmdt",
    "msgget",
    "msgsnd",
    "msgrcv",
    "msgctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
    "mq_open",
    "mq_timedsend",
    "mq_timedreceive",
    "mq_notify",
    "mq_getsetattr",
    "mq_unlink",
)

CLONE_THREAD = 0x00010000
CLONE_NEW_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
PR_SET_DUMPABLE = 4
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
SOCK_STREAM, SOCK_DGRAM = 1, 2
SOCK_TYPE_MASK = 0xF  # the kernel reads the type from these bits; the rest are flags
IPPROTO_TCP, IPPROTO_UDP = 6, 17
INT_MASK = 0xFFFFFFFF


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


FilterKey = tuple[bool, bool, bool, bool]


def filter_key(policy: Policy) -> FilterKey:
    """Which seccomp filter ``policy`` gets."""
    return (policy.subprocesses, policy.network, policy.shared_memory, policy.own_signals_only)


def compile_filter(
    subprocesses: bool, network: bool, shared_memory: bool, own_signals_only: bool = False
) -> bytes:
    import pyseccomp as seccomp

    denied = seccomp.ERRNO(errno.EPERM)
    f = seccomp.SyscallFilter(seccomp.ALLOW)
    # A system call of another ABI (x32, i386 through int 0x80) gets past every rule below,
    # which are for the native one: it kills the whole process, not just the calling thread
    # (which would leave the run waiting for its deadline).
    f.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    for name in DENIED_SYSCALLS:
        with contextlib.suppress(Exception):  # a syscall this architecture does not have
            f.add_rule(denied, name)
    # kill(-1, ...) would signal every process the uid may signal: never needed.
    f.add_rule(denied, "kill", seccomp.Arg(0, seccomp.MASKED_EQ, INT_MASK, INT_MASK))
    # Staying dumpable keeps /proc/<pid> owned by the slot uid (how leftovers are found).
    f.add_rule(denied, "prctl", seccomp.Arg(0, seccomp.MASKED_EQ, INT_MASK, PR_SET_DUMPABLE))
    # clone3 passes its flags in memory, where seccomp cannot see them: glibc falls back to
    # clone, whose flags it can.
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in CLONE_NEW_FLAGS:  # no namespaces, with or without subprocesses
        f.add_rule(denied, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    if not subprocesses:
        for name in PROCESS_SYSCALLS:
            f.add_rule(denied, name)
        # A clone without CLONE_THREAD is a new process; threads stay allowed.
        f.add_rule(denied, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    if not shared_memory:
        for name in SHARED_MEMORY_SYSCALLS:
            with contextlib.suppress(Exception):
                f.add_rule(denied, name)
    if own_signals_only:
        f.add_rule(denied, "kill", seccomp.Arg(0, seccomp.NE, 0))
        for name in SIGNAL_SYSCALLS:
            f.add_rule(denied, name)
    # socketpair makes connected AF_UNIX pairs only (asyncio's self-pipe): nothing to reach.
    f.add_rule(denied, "socketpair", seccomp.Arg(0, seccomp.NE, AF_UNIX))
    if network:
        _allow_only_tcp_and_udp(f, denied)
    else:
        f.add_rule(denied, "socket")
    read_fd, write_fd = os.pipe()
    try:
        with os.fdopen(write_fd, "wb") as out:
            f.export_bpf(out)
        chunks = []
        while chunk := os.read(read_fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(read_fd)
    return b"".join(chunks)


def _allow_only_tcp_and_udp(f: Any, denied: int) -> None:
    """``socket()`` by allow-list, in a filter that allows by default: every rule denies
    what is outside the list -- any family but AF_INET/AF_INET6 (unix, netlink, packet,
    vsock ...), any type but stream/datagram once SOCK_NONBLOCK/SOCK_CLOEXEC are masked off
    (raw, seqpacket), any protocol but 0, TCP and UDP (MPTCP is 262, SCTP 132, ICMP 1).
    The arguments are compared as 64-bit values: garbage in the upper half of a register
    makes a value larger than every allowed one, so it is denied."""
    import pyseccomp as seccomp

    f.add_rule(denied, "socket", seccomp.Arg(0, seccomp.LT, AF_INET))
    f.add_rule(denied, "socket", seccomp.Arg(0, seccomp.GT, AF_INET6))
    for family in range(AF_INET + 1, AF_INET6):
        f.add_rule(denied, "socket", seccomp.Arg(0, seccomp.EQ, family))
    for kind in range(SOCK_TYPE_MASK + 1):
        if kind not in (SOCK_STREAM, SOCK_DGRAM):
            f.add_rule(denied, "socket", seccomp.Arg(1, seccomp.MASKED_EQ, SOCK_TYPE_MASK, kind))
    f.add_rule(denied, "socket", seccomp.Arg(2, seccomp.GT, IPPROTO_UDP))
    for protocol in range(1, IPPROTO_UDP):
        if protocol != IPPROTO_TCP:
            f.add_rule(denied, "socket", seccomp.Arg(2, seccomp.EQ, protocol))


def program(code: bytes) -> Any:
    """``code`` (a filter of :func:`compile_filter`) as the ``sock_fprog`` that
    ``prctl(PR_SET_SECCOMP)`` takes; it keeps its instructions alive."""
    count = len(code) // ctypes.sizeof(_SockFilter)
    instructions = (_SockFilter * count).from_buffer_copy(code)
    made = _SockFprog(count, ctypes.cast(instructions, ctypes.POINTER(_SockFilter)))
    made._keep = instructions  # the pointer does not own its target
    return made
