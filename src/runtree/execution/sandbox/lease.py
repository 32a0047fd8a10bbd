"""One execution's hold on a slot: the :class:`Lease` :meth:`~.slots.Sandbox.lease` hands out.

A lease is its uid, its fresh work directory, its cgroup (if any) and its
:class:`~.policy.Policy`; :meth:`~.slots.Sandbox.release` gives it back. Its work directory is
measured here (:meth:`Lease.disk_usage`) for the supervisor's disk limit.
"""

from __future__ import annotations

import dataclasses
import os

from .cgroups import SlotGroup
from .policy import Policy
from .uid_locks import SlotUid

MAX_WORKDIR_ENTRIES = 10_000


@dataclasses.dataclass
class Lease:
    """One execution's hold on a slot uid, its work directory and its groups."""

    uid: int
    workdir: str
    policy: Policy
    group: SlotGroup | None
    oom_before: int
    tmpfs: bool
    entry: SlotUid = dataclasses.field(repr=False)
    dynamic: bool = False
    stopped: bool = False  # the supervisor killed it (deadline, limit, cancel)

    def disk_usage(self) -> tuple[int, int]:
        """Bytes (at least a block per entry) and entries in the work directory. On a tmpfs
        work directory (tier 1) the kernel caps both and this is ``(0, 0)``."""
        if self.tmpfs:
            return 0, 0
        total = entries = 0
        pending = [self.workdir]
        while pending and entries <= MAX_WORKDIR_ENTRIES:
            path = pending.pop()
            try:
                with os.scandir(path) as scan:
                    for entry in scan:
                        entries += 1
                        try:
                            stat = entry.stat(follow_symlinks=False)
                        except OSError:
                            continue
                        total += max(stat.st_blocks * 512, 4096)
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
            except OSError:
                continue
        return total, entries

    @property
    def disk_limit(self) -> int:
        return self.policy.disk_mb * 1024 * 1024

    def memory_killed(self) -> bool:
        """Whether the kernel killed a process of this execution for memory (cgroups)."""
        return self.group is not None and self.group.oom_kills() > self.oom_before
