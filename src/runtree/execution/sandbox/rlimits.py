"""Resource limits and priority: an execution's rlimits and nice value (step 2 of
:func:`.confine.confine`), and whether this process may raise its priority again."""

from __future__ import annotations

import os
import resource

from .policy import Policy

CAP_SYS_NICE = 23


def can_raise_priority() -> bool:
    """Whether this process has CAP_SYS_NICE (root in a default Docker container has not)."""
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << CAP_SYS_NICE))
    except (OSError, ValueError):
        pass
    return False


def limit_resources(policy: Policy) -> None:
    """Address space, CPU time, file size, open files, processes (``policy``'s); no core
    dumps, locked memory or message queues; then ``policy.nice``."""
    memory = policy.memory_mb * 1024 * 1024
    disk = policy.disk_mb * 1024 * 1024
    limits = (
        (resource.RLIMIT_AS, memory, memory),
        (resource.RLIMIT_CPU, policy.cpu_s, policy.cpu_s + 1),
        (resource.RLIMIT_FSIZE, disk, disk),
        (resource.RLIMIT_NOFILE, policy.nofile, policy.nofile),
        (resource.RLIMIT_NPROC, policy.nproc, policy.nproc),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_MEMLOCK, 0, 0),
        (resource.RLIMIT_MSGQUEUE, 0, 0),
    )
    for kind, soft, hard in limits:
        resource.setrlimit(kind, (soft, hard))
    # Absolute, not relative: a zygote's spare waits at the lowest priority (and comes back
    # up only with CAP_SYS_NICE, which the zygote checks before it lowers it).
    try:
        os.setpriority(os.PRIO_PROCESS, 0, policy.nice)
    except PermissionError:
        if os.getpriority(os.PRIO_PROCESS, 0) < policy.nice:
            raise
