"""Slot uids and their leases: the :class:`Sandbox` a process runs executions in.

Slot uids are ``uid_base + k`` (64000 and up by default; no passwd entry is needed). Each is
held by at most one process at a time through an exclusive ``flock`` on
``/run/runtree/uids/<uid>.lock`` (:data:`~.uid_locks.UID_LOCK_DIR`, one directory per host
whatever state directory each process uses, since uids are the host's: several ``runtree
worker`` processes with state directories of their own never share one, nor kill each other's
processes, which supervision finds by uid; see :mod:`.uid_locks`). A server holds one per
dispatcher slot for its lifetime, a CLI run or a test holds one per execution, and each is used
by at most one execution of that process at a time. So two running executions never share a
uid, even across processes. A lease (:class:`~.lease.Lease`) is one execution's hold on a
slot: its uid, its fresh work directory, its cgroup and its :class:`~.policy.Policy`;
releasing it clears the uid of every process and deletes the work directory before the slot is
used again. Which layers work here is found by :meth:`Sandbox.probe` (:mod:`.detection`).

:class:`~.lease.Lease`, :class:`~.uid_locks.SlotUid`, :data:`~.uid_locks.UID_LOCK_DIR` and
:data:`~.lease.MAX_WORKDIR_ENTRIES` are importable from here too.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import pwd
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ...errors import SandboxUnavailable
from . import detection, interpreter
from .cgroups import Cgroups, SlotGroup
from .config import DEFAULT_STATE_DIR, SandboxConfig
from .lease import MAX_WORKDIR_ENTRIES, Lease
from .policy import NPROC_THREADS_ONLY, NPROC_WITH_SUBPROCESSES, Policy
from .processes import CLEAR_TIMEOUT_S, clear_uid, kill_user_with_helper, processes_of
from .report import SandboxReport
from .uid_locks import UID_LOCK_DIR, SlotUid, try_lock

__all__ = ["MAX_WORKDIR_ENTRIES", "UID_LOCK_DIR", "Lease", "Sandbox", "SlotUid", "default_sandbox"]

log = logging.getLogger("runtree.sandbox")


class Sandbox:
    """The probed sandbox of this process (see :meth:`probe`), and its slot uids."""

    def __init__(
        self,
        config: SandboxConfig,
        report: SandboxReport,
        cgroups: Cgroups | None = None,
        jobs_dir: str = "",
        locks_dir: str = "",
    ) -> None:
        self.config = config
        self.report = report
        self.cgroups = cgroups if report.active("cgroups") else None
        self.namespaces = report.active("namespaces")
        self.landlock_network = report.active("landlock-network")
        self.firewall = report.active("egress-firewall")
        self.python = config.python or interpreter.runtime_python()
        self.jobs_dir = jobs_dir
        self.locks_dir = locks_dir
        # Where earlier runtrees, which had no host-wide lock, locked slot uids by default.
        self.state_locks_dir = os.path.join(DEFAULT_STATE_DIR, "uids")
        self._lock = threading.RLock()
        self._slots: list[SlotUid] = []
        self._held: set[int] = set()
        self._releases = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="runtree-sandbox-release"
        )
        self._pending: set[concurrent.futures.Future[None]] = set()
        self._server_procs: list[str] | None = None
        self._name = secrets.token_hex(4)  # of this sandbox's server cgroups

    @property
    def enabled(self) -> bool:
        return self.report.enabled

    @property
    def separates_uids(self) -> bool:
        """Each run has a slot uid of its own (root); otherwise every run executes as this
        process's uid, and nothing may be killed or searched for by uid."""
        return self.enabled and self.report.uid_separation

    # --- construction -----------------------------------------------------------------

    @classmethod
    def disabled(cls, config: SandboxConfig | None = None) -> Sandbox:
        """No sandbox: the insecure development escape."""
        config = dataclasses.replace(config or SandboxConfig(), enabled=False)
        return cls(config, SandboxReport(enabled=False, problems=("disabled",)))

    @classmethod
    def probe(cls, config: SandboxConfig | None = None) -> Sandbox:
        """Find out which layers work here, by applying them in a test process (see
        :func:`.detection.probe`; found once per process and configuration)."""
        return detection.probe(cls, config)

    def require(self) -> Sandbox:
        """``self``, or :class:`SandboxUnavailable` when enabled but tier 0 is incomplete."""
        if self.enabled and not self.report.tier0:
            raise SandboxUnavailable(self.report)
        return self

    # --- slots ------------------------------------------------------------------------

    def reserve(self, count: int) -> None:
        """Hold ``count`` slot uids for this process's dispatcher slots ``0..count-1``."""
        if not self.enabled:
            return
        with self._lock:
            while len(self._slots) < count:
                entry = self._reserve_uid()
                self._prepare_uid(entry)
                self._slots.append(entry)

    def lease(self, job: Any, slot: int | None = None) -> Lease:
        """Take a slot uid (dispatcher slot ``slot``'s, or any free one) for ``job`` (a
        :class:`~runtree.execution.job.Job`), waiting while its previous execution is being
        cleaned up; make its work directory and set its limits."""
        dynamic = slot is None or slot >= len(self._slots)
        if dynamic:
            entry = self._reserve_uid()
            self._prepare_uid(entry)
            entry.busy.acquire()
        else:
            assert slot is not None
            entry = self._slots[slot]
            entry.busy.acquire()
        try:
            return self._lease(entry, job, dynamic)
        except BaseException:
            entry.busy.release()
            if dynamic:
                self._unlock(entry)
            raise

    def _lease(self, entry: SlotUid, job: Any, dynamic: bool) -> Lease:
        config = self.config
        workdir = self._make_workdir(entry.uid)
        separate = self.separates_uids
        unavailable = []
        subprocesses = bool(getattr(job, "subprocesses", False))
        if subprocesses and not separate:
            # Without a uid of its own, what a run started could not be found and killed.
            subprocesses = False
            unavailable.append("subprocesses")
        network = bool(getattr(job, "network", False))
        if network and not (separate and self.landlock_network and self.firewall):
            network = False
            unavailable.append("network")
        nproc = NPROC_WITH_SUBPROCESSES if subprocesses else NPROC_THREADS_ONLY
        memory_mb = int(job.memory_mb)
        oom_before = 0
        # Every run joins its slot's memory group: the address-space limit does not count
        # memfd, shared memory or the page cache a run dirties; the group counts them all.
        group = entry.group
        if group is not None:
            tmpfs_mb = config.disk_mb if self.namespaces else 0
            group.configure((memory_mb + tmpfs_mb) * 1024 * 1024, nproc + 8)
            oom_before = group.oom_kills()
        ports = tuple(p for p in config.network_ports if p not in config.blocked_ports)
        policy = Policy(
            uid=entry.uid,
            gid=entry.uid if separate else os.getgid(),
            workdir=workdir,
            memory_mb=memory_mb,
            cpu_s=max(1, int(job.timeout_s) + 1),
            disk_mb=config.disk_mb,
            nproc=nproc,
            nice=config.nice,
            subprocesses=subprocesses,
            network=network,
            network_ports=ports if network else (),
            shared_memory=group is not None and self.namespaces,
            unavailable=tuple(unavailable),
            own_signals_only=not separate and not self.report.active("landlock-scopes"),
            landlock=True,
            seccomp=True,
            namespaces=self.namespaces,
            cgroup_procs=group.procs_files if group is not None else (),
        )
        return Lease(entry.uid, workdir, policy, group, oom_before, self.namespaces, entry, dynamic)

    def zygote_options(self) -> list[str]:
        """The zygote's command-line options for this sandbox: ``--sandbox``, then
        ``--namespaces`` (it moves into an empty network namespace its children are born
        in) and ``--cgroups=PROCS,...`` (the server's pids and cpu groups it joins)."""
        options = ["--sandbox"]
        if self.namespaces:
            options.append("--namespaces")
        if self.cgroups is not None:
            with self._lock:
                if self._server_procs is None:
                    pids = max(1, len(self._slots) or 1) * (NPROC_THREADS_ONLY + 16) + 64
                    try:
                        self._server_procs = self.cgroups.server_group(self._name, pids)
                    except OSError as error:
                        log.warning("no server cgroup: %s", error)
                        self._server_procs = []
                procs = self._server_procs
            if procs:
                options.append("--cgroups=" + ",".join(procs))
        return options

    def release(
        self,
        lease: Lease,
        kill_user: Callable[[int], bool],
        wait_exit: Callable[[float], object] | None = None,
    ) -> None:
        """Clean the slot up in the background: wait for the worker to exit, make sure no
        process of its uid is left (killing any), delete the work directory; only then can
        the slot's next execution have it."""
        future = self._releases.submit(self._release, lease, kill_user, wait_exit)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _release(
        self,
        lease: Lease,
        kill_user: Callable[[int], bool],
        wait_exit: Callable[[float], object] | None,
    ) -> None:
        try:
            if wait_exit is not None:  # it reported; let it exit rather than kill it
                with contextlib.suppress(Exception):
                    wait_exit(0.5)
            thorough = lease.policy.subprocesses or lease.stopped
            if not self.separates_uids:
                pass  # one process (no fork): it is gone once the supervisor reaped it
            elif not clear_uid(lease.uid, kill_user, thorough):
                log.error("processes of slot uid %d survived SIGKILL; retiring it", lease.uid)
                if not lease.dynamic:
                    self._replace(lease.entry)
            shutil.rmtree(lease.workdir, ignore_errors=True)
        except Exception:
            log.exception("cleaning up slot uid %d failed", lease.uid)
        finally:
            lease.entry.busy.release()
            if lease.dynamic:
                self._unlock(lease.entry)

    def _replace(self, entry: SlotUid) -> None:
        with self._lock:
            if entry in self._slots:
                fresh = self._reserve_uid()
                self._prepare_uid(fresh)
                self._slots[self._slots.index(entry)] = fresh  # the old uid stays locked

    def close(self) -> None:
        """Wait for pending clean-ups; give the slot uids back."""
        with self._lock:
            pending = list(self._pending)
        concurrent.futures.wait(pending, timeout=CLEAR_TIMEOUT_S * 2)
        self._releases.shutdown(wait=True)
        with self._lock:
            slots, self._slots = self._slots, []
        for entry in slots:
            self._unlock(entry)
        if self._server_procs and self.cgroups is not None:
            self.cgroups.remove_server_group(self._name)  # refused while a zygote is in it

    def kill_user(self, uid: int) -> bool:
        """Kill every process of ``uid`` with a helper process (see
        :func:`kill_user_with_helper`); launchers that have a zygote do it faster. Nothing
        without uid separation."""
        if not self.separates_uids:
            return False
        return kill_user_with_helper(self.python, uid)

    # --- internals --------------------------------------------------------------------

    def _uids(self) -> Iterator[int]:
        for uid in range(self.config.uid_base, self.config.uid_base + self.config.uid_count):
            try:
                pwd.getpwuid(uid)
                continue  # a real account: never ours
            except KeyError:
                yield uid

    def _reserve_uid(self) -> SlotUid:
        if not self.separates_uids:
            return SlotUid(os.getuid(), -1)  # every run is this process's uid
        for uid in self._uids():
            with self._lock:
                if uid in self._held:
                    continue
                self._held.add(uid)
            # The host's lock, and the one earlier runtrees took alone (in the default state
            # directory): a process of either kind holding the uid keeps it.
            fd = try_lock(os.path.join(self.locks_dir, f"{uid}.lock"))
            state_fd = -1 if fd < 0 else try_lock(os.path.join(self.state_locks_dir, f"{uid}.lock"))
            if fd < 0 or state_fd < 0:
                for held in (fd, state_fd):
                    if held >= 0:
                        os.close(held)
                with self._lock:
                    self._held.discard(uid)
                continue
            return SlotUid(uid, fd, state_fd)
        raise RuntimeError(
            f"no free slot uid in {self.config.uid_base}..."
            f"{self.config.uid_base + self.config.uid_count - 1}"
        )

    def _prepare_uid(self, entry: SlotUid) -> None:
        """A uid just taken may have processes and work directories left by a crashed
        earlier holder (this process holds the uid's lock now: they are nobody's)."""
        if not self.separates_uids:
            return
        if processes_of(entry.uid):
            clear_uid(entry.uid, self.kill_user)
            if processes_of(entry.uid):
                log.error("processes of uid %d survive SIGKILL", entry.uid)
        with contextlib.suppress(OSError):
            for name in os.listdir(self.jobs_dir):
                if name.startswith(f"{entry.uid}-"):
                    shutil.rmtree(os.path.join(self.jobs_dir, name), ignore_errors=True)
        if entry.group is None:
            entry.group = self._group(entry)

    def _group(self, entry: SlotUid) -> SlotGroup | None:
        if self.cgroups is None:
            return None
        try:
            return self.cgroups.slot(entry.uid)
        except OSError as error:
            log.warning("no cgroup for slot uid %d: %s", entry.uid, error)
            return None

    def _unlock(self, entry: SlotUid) -> None:
        for fd in (entry.state_fd, entry.lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        entry.lock_fd = entry.state_fd = -1
        with self._lock:
            self._held.discard(entry.uid)

    def _make_workdir(self, uid: int) -> str:
        path = os.path.join(self.jobs_dir, f"{uid}-{secrets.token_hex(8)}")
        os.mkdir(path, 0o700)
        if os.geteuid() == 0:
            os.chown(path, uid, uid)
        return path


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """This process's sandbox, probed once (from the environment's settings); raises
    :class:`SandboxUnavailable` when tier 0 is incomplete and ``RUNTREE_SANDBOX`` is not
    ``off``."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox.probe(SandboxConfig.from_env())
        return _default.require()
