"""Clear messages for blocked calls (step 8 of :func:`.confine.confine`): calls seccomp or
Landlock refused fail with a sentence saying why, instead of a bare errno.

The kernel still decides; these wrappers only reword the error it returned. The modules they
wrap are imported by :func:`preload` while files are still readable (before Landlock).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import Any

from .policy import UNREACHABLE_V4, UNREACHABLE_V6, Policy

NETWORK_DISABLED = (
    "network access is disabled for functions (deploy the function with network enabled "
    "to allow outbound connections)"
)
NETWORK_UNAVAILABLE = (
    "network access is enabled for this function but not available on this host (see "
    "`runtree doctor`: it needs root, Landlock ABI >= 4 and the egress firewall)"
)
PROCESSES_UNAVAILABLE = (
    "starting processes is enabled for this function but not available on this host (see "
    "`runtree doctor`: it needs root, for a uid of the run's own)"
)
SOCKET_KIND_DISABLED = (
    "this kind of socket is not allowed for functions (with network enabled: TCP and UDP "
    "over IPv4 and IPv6 only)"
)
SHARED_MEMORY_DISABLED = (
    "shared memory (memfd, System V IPC) is not available to functions on this host: no "
    "memory cgroup would count it"
)
PROCESSES_DISABLED = (
    "starting processes is disabled for functions (deploy the function with subprocesses "
    "enabled to allow it)"
)


def preload() -> None:
    """Modules the error-message patches wrap, imported while files are still readable."""
    import _posixsubprocess  # noqa: F401
    import ipaddress  # noqa: F401
    import socket  # noqa: F401
    import subprocess  # noqa: F401


def _unreachable(address: Any) -> bool:
    """Whether the egress firewall refuses ``address`` whatever the port (an (host, port)
    tuple with a literal IP address)."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except (ValueError, TypeError, IndexError):
        return False
    ranges = UNREACHABLE_V4 if ip.version == 4 else UNREACHABLE_V6
    return any(ip in ipaddress.ip_network(network) for network in ranges)


def explain_blocked_calls(policy: Policy) -> None:
    """Blocked calls fail with a sentence instead of a bare errno. The kernel (seccomp,
    Landlock) still decides: these wrappers only reword the error it returned."""
    import socket
    import subprocess

    original_init = socket.socket.__init__

    def socket_init(self: socket.socket, *args: Any, **kwargs: Any) -> None:
        try:
            original_init(self, *args, **kwargs)
        except PermissionError as error:
            if error.errno == errno.EPERM:
                message = SOCKET_KIND_DISABLED if policy.network else NETWORK_DISABLED
                if "network" in policy.unavailable:
                    message = NETWORK_UNAVAILABLE
                raise PermissionError(errno.EPERM, message) from None
            raise

    socket.socket.__init__ = socket_init  # type: ignore[method-assign]
    if policy.network:
        allowed = ", ".join(str(p) for p in policy.network_ports) or "none"
        original_connect = socket.socket.connect

        def connect(self: socket.socket, address: Any) -> None:
            try:
                original_connect(self, address)
            except PermissionError as error:
                raise PermissionError(
                    error.errno,
                    f"network access to {address!r} is not allowed for functions "
                    f"(allowed TCP ports: {allowed})",
                ) from None
            except ConnectionRefusedError:
                if not _unreachable(address):  # refused by whoever listens there
                    raise
                raise PermissionError(
                    errno.EACCES,
                    f"network access to {address!r} is not allowed for functions (not "
                    "this host, nor private, link-local or multicast addresses)",
                ) from None

        socket.socket.connect = connect  # type: ignore[method-assign,assignment]

    limit = policy.nproc

    def explained(call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except PermissionError as error:
                if error.errno == errno.EPERM and not policy.subprocesses:
                    message = PROCESSES_DISABLED
                    if "subprocesses" in policy.unavailable:
                        message = PROCESSES_UNAVAILABLE
                    raise PermissionError(errno.EPERM, message) from None
                raise
            except BlockingIOError as error:
                if error.errno == errno.EAGAIN:
                    raise BlockingIOError(
                        errno.EAGAIN,
                        f"the function reached its process limit ({limit} processes and threads)",
                    ) from None
                raise

        wrapper.__name__ = getattr(call, "__name__", "wrapper")
        wrapper.__doc__ = getattr(call, "__doc__", None)
        return wrapper

    if not policy.shared_memory:
        original_memfd = os.memfd_create

        def memfd_create(*args: Any, **kwargs: Any) -> int:
            try:
                return original_memfd(*args, **kwargs)
            except PermissionError:
                raise PermissionError(errno.EPERM, SHARED_MEMORY_DISABLED) from None

        os.memfd_create = memfd_create

    import _posixsubprocess

    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve"):
        if hasattr(os, name):
            setattr(os, name, explained(getattr(os, name)))
    _posixsubprocess.fork_exec = explained(_posixsubprocess.fork_exec)
    if getattr(subprocess, "_fork_exec", None) is not None:
        subprocess._fork_exec = explained(subprocess._fork_exec)  # type: ignore[attr-defined]
