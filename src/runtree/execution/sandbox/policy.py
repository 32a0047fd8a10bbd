"""What one execution's process may do: the confinement it applies to itself before any user
code runs (:func:`runtree.execution.sandbox.confine.confine`).

The server builds a :class:`Policy` per execution (:meth:`Sandbox.lease
<runtree.execution.sandbox.slots.Sandbox.lease>`) and sends it inside the job, as plain JSON.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...defaults import DEFAULT_MEMORY_MB

# Limits every sandboxed execution gets unless its function or the platform says otherwise.
DEFAULT_DISK_MB = 64  # the work directory, in total (and so the largest file)
DEFAULT_NOFILE = 256
NPROC_THREADS_ONLY = 64  # without subprocesses the uid's tasks are this process's threads
NPROC_WITH_SUBPROCESSES = 32  # the "small process limit" of functions that opt in
NICE = 10
CPU_SHARES = 512  # cgroup v1 cpu.shares of all executions together (a process group: 1024)
# TCP ports a function with ``network`` on may connect to (Landlock ABI >= 4).
DEFAULT_NETWORK_PORTS = (80, 443)
# Ranges a function with network on never reaches (the egress firewall; besides every address
# of the host itself): "this network", private, shared (CGNAT), loopback, link-local,
# IETF-reserved, benchmarking, multicast and reserved; for IPv6 the same kinds, and the
# IPv4-mapped and NAT64 prefixes that lead back to them.
UNREACHABLE_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
UNREACHABLE_V6 = (
    "::/127",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
)


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """The confinement of one execution's process (and of anything it starts)."""

    uid: int
    gid: int
    workdir: str
    memory_mb: int = DEFAULT_MEMORY_MB
    cpu_s: int = 31  # RLIMIT_CPU soft limit (SIGXCPU); the hard limit is one more second
    disk_mb: int = DEFAULT_DISK_MB
    nofile: int = DEFAULT_NOFILE
    nproc: int = NPROC_THREADS_ONLY
    nice: int = NICE
    subprocesses: bool = False
    network: bool = False
    network_ports: tuple[int, ...] = ()
    # memfd, System V IPC: only where a memory cgroup counts them and a private IPC
    # namespace ends with the run (denied by seccomp otherwise).
    shared_memory: bool = False
    # Not root and no Landlock signal scoping: runs share the server's uid, so seccomp keeps
    # signals to the run's own process group (kill(0, ...)).
    own_signals_only: bool = False
    # Opt-ins the function asked for that this host cannot give (the run says so).
    unavailable: tuple[str, ...] = ()
    # Layers: each is applied only when the start-up probe found it working here.
    landlock: bool = True
    seccomp: bool = True
    namespaces: bool = False  # private net/ipc/uts/mount namespaces + tmpfs work directory
    cgroup_procs: tuple[str, ...] = ()  # cgroup.procs files the process moves itself into
    extra_readable: tuple[str, ...] = ()  # more read-only paths (besides the runtime's)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        values = dict(data)
        for key in ("network_ports", "cgroup_procs", "extra_readable", "unavailable"):
            values[key] = tuple(values.get(key) or ())
        return cls(**values)


def environment(policy: Policy, path: str) -> dict[str, str]:
    """The whole environment of a sandboxed process: nothing of the server's."""
    return {
        "HOME": policy.workdir,
        "TMPDIR": policy.workdir,
        "USER": "runtree",
        "LOGNAME": "runtree",
        "PATH": path,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
