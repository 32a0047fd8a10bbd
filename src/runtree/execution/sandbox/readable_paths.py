"""What an execution may read besides its work directory: the paths Landlock's rules name
(:mod:`.landlock_rules`), worked out here.

Every execution reads :data:`SYSTEM_READABLE` and this interpreter's own directories
(:func:`runtime_paths`), opened once in the zygote; functions with network on also read
:data:`NETWORK_READABLE`; a few devices, and some of the process's own ``/proc/<pid>``
(:data:`PROC_SELF_READABLE`), are opened per execution or once as well.
"""

from __future__ import annotations

import os
import sys

# Read-only for every execution, when they exist (besides the runtime's own directories).
SYSTEM_READABLE = (
    "/usr",
    "/lib",
    "/lib64",
    "/bin",
    "/sbin",  # on merged-/usr systems all under /usr
    "/etc/ssl",
    "/etc/pki",
    "/etc/localtime",
    "/etc/ld.so.cache",
)
# ... and for functions with network on.
NETWORK_READABLE = (
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/host.conf",
    "/etc/ca-certificates",
)
DEVICES_RW = ("/dev/null", "/dev/zero")
DEVICES_RO = ("/dev/urandom",)
# What a run may read of its own /proc/<pid>: not mounts, mountinfo, mountstats (the host's
# mounts, even in a private mount namespace, which starts as a copy) nor task/ (each
# thread's copy of all of it).
PROC_SELF_READABLE = (
    "status",
    "stat",
    "statm",
    "cmdline",
    "comm",
    "limits",
    "io",
    "environ",
    "cgroup",
    "maps",
    "fd",
    "fdinfo",
)
PROC_SELF_DIRS = ("fd", "fdinfo")


def runtime_paths() -> list[str]:
    """This interpreter's own directories: its prefixes and every ``sys.path`` entry."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.update(p for p in sys.path if p and os.path.isabs(p))
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    # This module sits at runtree/execution/sandbox/: three levels up is the package.
    runtree_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths.add(runtree_dir)  # the platform's own code (no secrets; lazily imported modules)
    return sorted(paths)


def without_nested(paths: list[str]) -> list[str]:
    """Existing paths, resolved, without those beneath another one (a rule on a directory
    covers everything under it): fewer rules, less work per execution."""
    resolved = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})
    kept: list[str] = []
    for path in resolved:
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept
