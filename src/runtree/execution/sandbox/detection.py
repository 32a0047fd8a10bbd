"""Detection: which of the sandbox's layers work here, found once per process and setting.

:meth:`Sandbox.probe <.slots.Sandbox.probe>` is :func:`probe`: it takes a slot uid, applies
every layer to a test process in it (:func:`~.report.run_probe`) and builds the
:class:`~.report.SandboxReport` from what it found. The findings are kept for this process's
lifetime (:data:`_probed`), as the host does not change under it.
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import TYPE_CHECKING

from . import firewall, interpreter
from .cgroups import Cgroups
from .config import SandboxConfig
from .policy import Policy
from .processes import clear_uid, kill_user_with_helper
from .report import SandboxReport, build_report, run_probe
from .uid_locks import SlotUid, state_dirs

if TYPE_CHECKING:
    from .slots import Sandbox

_probed: dict[SandboxConfig, tuple[SandboxReport, Cgroups | None]] = {}
_probed_lock = threading.Lock()


def probe(cls: type[Sandbox], config: SandboxConfig | None = None) -> Sandbox:
    """A ``cls`` with the layers that work here (see the module docstring); a disabled one
    when ``config`` (by default the environment's) switches the sandbox off."""
    config = config or SandboxConfig.from_env()
    if not config.enabled:
        return cls.disabled(config)
    python = config.python or interpreter.runtime_python()
    root = os.geteuid() == 0
    jobs_dir, locks_dir = state_dirs(config.state_dir, root)
    with _probed_lock:
        known = _probed.get(config)
    if known is not None:  # probed before in this process: the host has not changed
        report, cgroups = known
        return cls(config, report, cgroups, jobs_dir, locks_dir)
    if not config.cgroups:
        cgroups, cgroup_detail = None, "switched off (RUNTREE_SANDBOX_CGROUPS=off)"
    elif root:
        cgroups, cgroup_detail = Cgroups.detect()
    else:
        cgroups, cgroup_detail = None, "not running as root"
    if root:
        last_uid = config.uid_base + config.uid_count - 1
        firewall_on, firewall_detail = firewall.install(config.uid_base, last_uid)
    else:
        firewall_on, firewall_detail = False, "not running as root"
    sandbox = cls(config, SandboxReport(enabled=True), cgroups, jobs_dir, locks_dir)
    sandbox.cgroups = cgroups  # for the probe's own test (the report decides afterwards)
    entry = sandbox._reserve_uid() if root else SlotUid(os.getuid(), -1)
    workdir = ""
    try:
        workdir = sandbox._make_workdir(entry.uid)
        group = sandbox._group(entry)
        policy = Policy(
            uid=entry.uid,
            gid=entry.uid if root else os.getgid(),
            workdir=workdir,
            memory_mb=512,
            cpu_s=10,
            disk_mb=config.disk_mb,
            cgroup_procs=group.procs_files if group is not None else (),
        )
        raw, failure = run_probe(config, python, policy, root and config.namespaces)
    finally:
        if root:
            clear_uid(entry.uid, lambda uid: kill_user_with_helper(python, uid))
            sandbox._unlock(entry)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    sandbox.report = build_report(
        config, python, root, raw, failure, cgroup_detail, (firewall_on, firewall_detail)
    )
    with _probed_lock:
        _probed[config] = (sandbox.report, cgroups)
    sandbox.cgroups = cgroups if sandbox.report.active("cgroups") else None
    sandbox.namespaces = sandbox.report.active("namespaces")
    sandbox.landlock_network = sandbox.report.active("landlock-network")
    sandbox.firewall = sandbox.report.active("egress-firewall")
    return sandbox
