"""What one execution's process may do: the confinement it applies to itself before any user
code runs (:func:`runtree.execution.sandbox.confine.confine`).

The server builds a :class:`Policy` per execution (:meth:`Sandbox.lease
<runtree.execution.sandbox.slots.Sandbox.lease>`) and sends it inside the job, as plain JSON.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...models import DEFAULT_MEMORY_MB

# Limits every sandboxed execution gets unless its function or the platform says otherwise.
DEFAULT_DISK_MB = 64  # the work directory, in total (and so the largest file)
DEFAULT_NOFILE = 256
NPROC_THREADS_ONLY = 64  # without subprocesses the uid's tasks are this process's threads
NPROC_WITH_SUBPROCESSES = 32  # the "small process limit" of functions that opt in
NICE = 10
CPU_SHARES = 512  # cgroup v1 cpu.shares of all executions together (a process group: 1024)
# TCP ports a function with ``network`` on may connect to (Landlock ABI >= 4).
DEFAULT_NETWORK_PORTS = (80, 443)


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
        for key in ("network_ports", "cgroup_procs", "extra_readable"):
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
