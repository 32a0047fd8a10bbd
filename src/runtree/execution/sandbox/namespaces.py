"""Namespaces: an execution's private network, mount, IPC and UTS namespaces and the
size-capped tmpfs on its work directory (step 3 of :func:`.confine.confine`, tier 1).

The network namespace is the zygote's business (:func:`enter_private_network`: children are
born in an empty one, and those with network on go back to the host's); the mount, IPC and
UTS ones are made by the execution's process (:func:`make_private`), or in advance by a
zygote's spare for a slot (:func:`.confine.enter_slot`).
"""

from __future__ import annotations

import ctypes
import os

from .libc import check
from .policy import Policy
from .preparation import Prepared, prepare

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 0x4000, 0x40000
# System V IPC limits of a private IPC namespace, zeroed when no cgroup counts its memory.
IPC_LIMITS = ("shmmni", "shmmax", "msgmni")


def enter_private_network() -> None:
    """Move this process (the zygote) into a new, empty network namespace, once: its children
    are born there, at no cost per execution. Keeps the host's namespace open for children
    that have network on."""
    prepared = prepare()
    if prepared.host_network_fd >= 0:
        return
    host = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    if prepared.libc.unshare(CLONE_NEWNET) != 0:
        os.close(host)
        code = ctypes.get_errno()
        raise OSError(code, f"unshare(CLONE_NEWNET): {os.strerror(code)}")
    prepared.host_network_fd = host


def enter_namespaces(prepared: Prepared, policy: Policy, made_for: bool | None) -> None:
    """The execution's namespaces: the host's network (network on) or an empty one (off),
    private mount, IPC and UTS ones unless ``made_for`` says this process already made them
    for a policy with the same ``shared_memory`` (None: not made), then the tmpfs, owned by
    the slot's uid, on the work directory."""
    libc = prepared.libc
    private_network = prepared.host_network_fd >= 0  # born in the zygote's empty one
    if policy.network and private_network:
        check(libc.setns(prepared.host_network_fd, CLONE_NEWNET), "setns(host network)", libc)
    elif not policy.network and not private_network:
        check(libc.unshare(CLONE_NEWNET), "unshare(network)", libc)
    if made_for is None or made_for != policy.shared_memory:
        make_private(prepared, policy)  # not made in advance for such a policy
    options = (
        f"size={policy.disk_mb}m,nr_inodes={max(1024, policy.disk_mb * 64)},mode=0700,"
        f"uid={policy.uid},gid={policy.gid}"
    ).encode()
    check(
        libc.mount(b"runtree", policy.workdir.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options),
        "mount tmpfs",
        libc,
    )


def make_private(prepared: Prepared, policy: Policy) -> None:
    """New mount, IPC and UTS namespaces (the IPC one without System V limits unless the
    policy has shared memory), whose mounts do not propagate back to the host."""
    libc = prepared.libc
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "unshare", libc)
    if not policy.shared_memory:
        # No memory cgroup to count System V IPC: the private IPC namespace gets none (seccomp
        # denies the calls as well).
        for name in IPC_LIMITS:
            with open(f"/proc/sys/kernel/{name}", "w") as file:
                file.write("0")
    # Mounts made here must not propagate back to the host.
    check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate", libc)
