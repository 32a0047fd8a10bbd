"""The platform's half of the sandbox: the start-up probe and its report, slot uids, work
directories, cgroups, and cleaning a slot up before it is used again.

Slot uids are ``uid_base + k`` (64000 and up by default; no passwd entry is needed). Each is
held by at most one process at a time through an exclusive ``flock`` on
``<state dir>/uids/<uid>.lock`` -- a server holds one per dispatcher slot for its lifetime,
a CLI run or a test holds one per execution -- and by at most one execution of that process
at a time. So two running executions never share a uid, even across processes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ...errors import RuntreeError
from . import runtime
from .cgroups import Cgroups, SlotGroup
from .policy import (
    DEFAULT_DISK_MB,
    DEFAULT_NETWORK_PORTS,
    NICE,
    NPROC_THREADS_ONLY,
    NPROC_WITH_SUBPROCESSES,
    Policy,
)

if TYPE_CHECKING:
    from ...settings import Settings

log = logging.getLogger("runtree.sandbox")

DEFAULT_STATE_DIR = "/var/lib/runtree"
UID_BASE = 64000
UID_COUNT = 1000
MIN_SLOT_UID = 1000  # never root or a system account
PROBE_TIMEOUT_S = 60.0
CLEAR_TIMEOUT_S = 5.0
MAX_WORKDIR_ENTRIES = 10_000
OFF_VALUES = ("0", "off", "false", "no")


class SandboxUnavailable(RuntreeError):
    """Tier 0 cannot be applied here, and the insecure escape was not chosen."""

    def __init__(self, report: SandboxReport) -> None:
        self.report = report
        problems = "; ".join(report.problems) or "unknown reason"
        super().__init__(
            f"the sandbox cannot be applied here ({problems}). Run as root after `make "
            "runtime` (see README, Security model), or for local development only set "
            "RUNTREE_SANDBOX=off (`runtree serve --insecure-no-sandbox`, loopback only). "
            "`runtree doctor` shows the details."
        )


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    enabled: bool = True
    state_dir: str = DEFAULT_STATE_DIR
    uid_base: int = UID_BASE
    uid_count: int = UID_COUNT
    disk_mb: int = DEFAULT_DISK_MB
    network_ports: tuple[int, ...] = DEFAULT_NETWORK_PORTS
    blocked_ports: tuple[int, ...] = ()  # never reachable, even from the network ports
    secret_paths: tuple[str, ...] = ()  # must be unreadable from a sandbox (checked)
    python: str | None = None  # default: runtime.runtime_python()
    nice: int = NICE  # the priority executions run at (0..19)
    namespaces: bool = True  # tier 1 when the probe finds it usable (off: force tier 0)
    cgroups: bool = True  # tier 2 when the probe finds it usable (off: force tier 0)

    def __post_init__(self) -> None:
        if self.uid_base < MIN_SLOT_UID or self.uid_count < 1:
            raise ValueError(f"slot uids must start at {MIN_SLOT_UID} or above")
        if not 0 <= self.nice <= 19:
            raise ValueError("nice must be between 0 and 19")

    @classmethod
    def from_env(cls, **overrides: Any) -> SandboxConfig:
        """``RUNTREE_SANDBOX`` (``off`` disables it), ``RUNTREE_SANDBOX_DIR``,
        ``RUNTREE_SANDBOX_UID_BASE``, ``RUNTREE_SANDBOX_DISK_MB``, ``RUNTREE_SANDBOX_NICE``,
        ``RUNTREE_SANDBOX_NAMESPACES``/``_CGROUPS`` (``off`` forces tier 0),
        ``RUNTREE_NETWORK_PORTS`` (comma-separated), ``RUNTREE_RUNTIME_PYTHON``; then
        ``overrides``."""
        env = os.environ
        values: dict[str, Any] = {}
        if env.get("RUNTREE_SANDBOX", "").strip().lower() in OFF_VALUES:
            values["enabled"] = False
        if env.get("RUNTREE_SANDBOX_DIR"):
            values["state_dir"] = env["RUNTREE_SANDBOX_DIR"]
        if env.get("RUNTREE_SANDBOX_UID_BASE"):
            values["uid_base"] = int(env["RUNTREE_SANDBOX_UID_BASE"])
        if env.get("RUNTREE_SANDBOX_DISK_MB"):
            values["disk_mb"] = int(env["RUNTREE_SANDBOX_DISK_MB"])
        if env.get("RUNTREE_SANDBOX_NICE"):
            values["nice"] = int(env["RUNTREE_SANDBOX_NICE"])
        for key, variable in (("namespaces", "RUNTREE_SANDBOX_NAMESPACES"),
                              ("cgroups", "RUNTREE_SANDBOX_CGROUPS")):
            if env.get(variable, "").strip().lower() in OFF_VALUES:
                values[key] = False
        if env.get("RUNTREE_NETWORK_PORTS") is not None:
            values["network_ports"] = tuple(
                int(p) for p in env["RUNTREE_NETWORK_PORTS"].split(",") if p.strip()
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class Layer:
    """One protection: whether it is on here, and what it does or why it is off."""

    name: str
    tier: int  # 0: required; 1: namespaces; 2: cgroups
    active: bool
    detail: str


@dataclasses.dataclass(frozen=True)
class SandboxReport:
    enabled: bool
    layers: tuple[Layer, ...] = ()
    problems: tuple[str, ...] = ()
    python: str = ""
    python_version: str = ""
    landlock_abi: int = 0
    uid_range: str = ""

    @property
    def tier0(self) -> bool:
        """Every always-on layer is on (the server refuses to start otherwise)."""
        required = [layer for layer in self.layers if layer.tier == 0]
        return self.enabled and bool(required) and all(layer.active for layer in required)

    def layer(self, name: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.name == name), None)

    def active(self, name: str) -> bool:
        found = self.layer(name)
        return found is not None and found.active

    @property
    def summary(self) -> str:
        """One line for logs: the tier and the optional layers that are on."""
        if not self.enabled:
            return "sandbox OFF (RUNTREE_SANDBOX=off / --insecure-no-sandbox): user code runs " \
                "unconfined, as the server's user"
        if not self.tier0:
            return "sandbox INCOMPLETE: " + "; ".join(self.problems)
        extra = [layer.name for layer in self.layers if layer.tier > 0 and layer.active]
        off = [layer.name for layer in self.layers if layer.tier > 0 and not layer.active]
        text = f"sandbox on: tier 0 (uid, rlimits, landlock ABI {self.landlock_abi}, seccomp)"
        if extra:
            text += " + " + ", ".join(extra)
        if off:
            text += f" (off: {', '.join(off)})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "tier0": self.tier0,
            "summary": self.summary,
            "python": self.python,
            "python_version": self.python_version,
            "landlock_abi": self.landlock_abi,
            "uid_range": self.uid_range,
            "problems": list(self.problems),
            "layers": [dataclasses.asdict(layer) for layer in self.layers],
        }


@dataclasses.dataclass
class _Uid:
    uid: int
    lock_fd: int
    busy: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    group: SlotGroup | None = None


@dataclasses.dataclass
class Lease:
    """One execution's hold on a slot uid, its work directory and its groups."""

    uid: int
    workdir: str
    policy: Policy
    group: SlotGroup | None
    oom_before: int
    tmpfs: bool
    entry: _Uid = dataclasses.field(repr=False)
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


def processes_of(uid: int) -> list[tuple[int, bool]]:
    """Every process whose real, effective or saved uid is ``uid``: (pid, is a zombie)."""
    found = []
    wanted = str(uid)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as file:
                text = file.read(2048).decode("ascii", "replace")
        except OSError:
            continue
        zombie = False
        for line in text.splitlines():
            if line.startswith("State:"):
                zombie = "Z" in line.split()[1:2]
            elif line.startswith("Uid:"):
                if wanted in line.split()[1:4]:
                    found.append((int(name), zombie))
                break
    return found


def owned_by(uid: int) -> list[tuple[int, bool]]:
    """Processes whose ``/proc/<pid>`` belongs to ``uid`` (dumpable ones: see
    :meth:`Sandbox._clear_uid`); cheaper than :func:`processes_of`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    found.append((int(name), False))
            except OSError:
                continue
    return found


def kill_user_with_helper(python: str, uid: int) -> bool:
    """SIGKILL every process of ``uid``: a helper process that becomes ``uid`` and calls
    ``kill(-1, SIGKILL)`` (which then reaches exactly that uid's processes). Whether there
    was any (``kill(-1)`` fails with ESRCH when it reaches none)."""
    if uid < MIN_SLOT_UID:
        raise ValueError(f"refusing to kill the processes of uid {uid}")
    # kill(-1) as root would kill the whole host: the helper checks who it is first.
    code = (
        "import os, signal, sys\n"
        f"if not (os.getuid() == os.geteuid() == {uid} and {uid} >= {MIN_SLOT_UID}):\n"
        "    sys.exit(2)\n"
        "try:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    sys.exit(1)\n"
    )
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", code],
            user=uid,
            group=uid,
            extra_groups=[],
            env=runtime.clean_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return True
    return done.returncode != 1


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
        self.python = config.python or runtime.runtime_python()
        self.jobs_dir = jobs_dir
        self.locks_dir = locks_dir
        self._lock = threading.RLock()
        self._slots: list[_Uid] = []
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

    # --- construction -----------------------------------------------------------------

    @classmethod
    def disabled(cls, config: SandboxConfig | None = None) -> Sandbox:
        """No sandbox: the insecure development escape."""
        config = dataclasses.replace(config or SandboxConfig(), enabled=False)
        return cls(config, SandboxReport(enabled=False, problems=("disabled",)))

    @classmethod
    def probe(cls, config: SandboxConfig | None = None) -> Sandbox:
        """Find out which layers work here, by applying them in a test process."""
        config = config or SandboxConfig.from_env()
        if not config.enabled:
            return cls.disabled(config)
        python = config.python or runtime.runtime_python()
        root = os.geteuid() == 0
        jobs_dir, locks_dir = _state_dirs(config.state_dir, root)
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
        sandbox = cls(config, SandboxReport(enabled=True), cgroups, jobs_dir, locks_dir)
        sandbox.cgroups = cgroups  # for the probe's own test (the report decides afterwards)
        entry = sandbox._reserve_uid() if root else _Uid(os.getuid(), -1)
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
            secrets_ = [*config.secret_paths, "/etc/shadow"]
            command = runtime.python_command(
                python,
                "runtree.execution.sandbox.probe",
                json.dumps(policy.to_dict()),
                json.dumps(secrets_),
                *(["namespaces"] if root and config.namespaces else []),
            )
            raw, failure = _run_probe(command)
        finally:
            if root:
                sandbox._clear_uid(entry.uid, lambda uid: kill_user_with_helper(python, uid))
                sandbox._unlock(entry)
            if workdir:
                shutil.rmtree(workdir, ignore_errors=True)
        sandbox.report = _build_report(config, python, root, raw, failure, cgroup_detail)
        with _probed_lock:
            _probed[config] = (sandbox.report, cgroups)
        sandbox.cgroups = cgroups if sandbox.report.active("cgroups") else None
        sandbox.namespaces = sandbox.report.active("namespaces")
        sandbox.landlock_network = sandbox.report.active("landlock-network")
        return sandbox

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

    def _lease(self, entry: _Uid, job: Any, dynamic: bool) -> Lease:
        config = self.config
        workdir = self._make_workdir(entry.uid)
        subprocesses = bool(getattr(job, "subprocesses", False))
        network = bool(getattr(job, "network", False)) and self.landlock_network
        nproc = NPROC_WITH_SUBPROCESSES if subprocesses else NPROC_THREADS_ONLY
        memory_mb = int(job.memory_mb)
        oom_before = 0
        group = entry.group if subprocesses else None  # see cgroups: a single process is
        if group is not None:  # bounded by its address space already
            tmpfs_mb = config.disk_mb if self.namespaces else 0
            group.configure((memory_mb + tmpfs_mb) * 1024 * 1024, nproc + 8)
            oom_before = group.oom_kills()
        ports = tuple(p for p in config.network_ports if p not in config.blocked_ports)
        policy = Policy(
            uid=entry.uid,
            gid=entry.uid,
            workdir=workdir,
            memory_mb=memory_mb,
            cpu_s=max(1, int(job.timeout_s) + 1),
            disk_mb=config.disk_mb,
            nproc=nproc,
            nice=config.nice,
            subprocesses=subprocesses,
            network=network,
            network_ports=ports if network else (),
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
            if not self._clear_uid(lease.uid, kill_user, thorough):
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

    def _replace(self, entry: _Uid) -> None:
        with self._lock:
            if entry in self._slots:
                fresh = self._reserve_uid()
                self._prepare_uid(fresh)
                self._slots[self._slots.index(entry)] = fresh  # the old uid stays locked

    def _clear_uid(
        self, uid: int, kill_user: Callable[[int], bool], thorough: bool = True
    ) -> bool:
        """Make sure no process of ``uid`` is left (zombies: until reaped): scan ``/proc``,
        and while anything is found kill every process of the uid (``kill(-1)`` as the uid,
        atomic with respect to fork) and scan again.

        ``thorough`` (the run could start processes, or was stopped): kill first, then scan
        each process's ``status`` (its real, effective and saved uids; ~25 us a process).
        Otherwise the run could start no process at all (seccomp), its one process made
        itself dumpable and cannot undo that, so ``/proc/<pid>`` is owned by the uid: a
        ``stat`` per process (~3 us) sees it."""
        deadline = time.monotonic() + CLEAR_TIMEOUT_S
        delay = 0.001
        if thorough:
            kill_user(uid)
        scan = processes_of if thorough else owned_by
        while scan(uid):
            if time.monotonic() > deadline:
                return False
            kill_user(uid)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            scan = processes_of
        return True

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
        :func:`kill_user_with_helper`); launchers that have a zygote do it faster."""
        return kill_user_with_helper(self.python, uid)

    # --- internals --------------------------------------------------------------------

    def _uids(self) -> Iterator[int]:
        for uid in range(self.config.uid_base, self.config.uid_base + self.config.uid_count):
            try:
                pwd.getpwuid(uid)
                continue  # a real account: never ours
            except KeyError:
                yield uid

    def _reserve_uid(self) -> _Uid:
        for uid in self._uids():
            with self._lock:
                if uid in self._held:
                    continue
                self._held.add(uid)
            path = os.path.join(self.locks_dir, f"{uid}.lock")
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                with self._lock:
                    self._held.discard(uid)
                continue
            return _Uid(uid, fd)
        raise RuntimeError(
            f"no free slot uid in {self.config.uid_base}..."
            f"{self.config.uid_base + self.config.uid_count - 1}"
        )

    def _prepare_uid(self, entry: _Uid) -> None:
        """A uid just taken may have processes and work directories left by a crashed
        earlier holder (this process holds the uid's lock now: they are nobody's)."""
        if processes_of(entry.uid):
            self._clear_uid(entry.uid, self.kill_user)
            if processes_of(entry.uid):
                log.error("processes of uid %d survive SIGKILL", entry.uid)
        with contextlib.suppress(OSError):
            for name in os.listdir(self.jobs_dir):
                if name.startswith(f"{entry.uid}-"):
                    shutil.rmtree(os.path.join(self.jobs_dir, name), ignore_errors=True)
        if entry.group is None:
            entry.group = self._group(entry)

    def _group(self, entry: _Uid) -> SlotGroup | None:
        if self.cgroups is None:
            return None
        try:
            return self.cgroups.slot(entry.uid)
        except OSError as error:
            log.warning("no cgroup for slot uid %d: %s", entry.uid, error)
            return None

    def _unlock(self, entry: _Uid) -> None:
        if entry.lock_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(entry.lock_fd)
            entry.lock_fd = -1
        with self._lock:
            self._held.discard(entry.uid)

    def _make_workdir(self, uid: int) -> str:
        path = os.path.join(self.jobs_dir, f"{uid}-{secrets.token_hex(8)}")
        os.mkdir(path, 0o700)
        if os.geteuid() == 0:
            os.chown(path, uid, uid)
        return path


_probed: dict[SandboxConfig, tuple[SandboxReport, Cgroups | None]] = {}
_probed_lock = threading.Lock()


def _state_dirs(state_dir: str, root: bool) -> tuple[str, str]:
    """``jobs`` (0711: slot uids reach their own directory, list none) and ``uids`` (0700)."""
    base = state_dir if root else tempfile.mkdtemp(prefix="runtree-sandbox-")
    jobs = os.path.join(base, "jobs")
    locks = os.path.join(base, "uids")
    os.makedirs(jobs, exist_ok=True)
    os.makedirs(locks, exist_ok=True)
    os.chmod(base, 0o711)
    os.chmod(jobs, 0o711)
    os.chmod(locks, 0o700)
    return jobs, locks


def _run_probe(command: list[str]) -> tuple[dict[str, Any], str | None]:
    try:
        done = subprocess.run(
            command,
            env=runtime.clean_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
            start_new_session=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return {}, f"could not run {command[0]}: {error}"
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    try:
        data: dict[str, Any] = json.loads(lines[-1])
        return data, None
    except (IndexError, ValueError):
        error_text = done.stderr.decode(errors="replace").strip().splitlines()
        tail = error_text[-1] if error_text else f"exit code {done.returncode}"
        return {}, f"the probe failed in {command[0]}: {tail}"


def _blocked(value: object) -> bool:
    return isinstance(value, str) and value != "allowed"


def _build_report(
    config: SandboxConfig,
    python: str,
    root: bool,
    raw: dict[str, Any],
    failure: str | None,
    cgroup_detail: str,
) -> SandboxReport:
    layers: list[Layer] = []
    problems: list[str] = []
    tier0: dict[str, Any] = raw.get("tier0") or {}
    confined = bool(tier0.get("confined"))
    abi = int(raw.get("landlock_abi") or 0)
    uid_range = f"{config.uid_base}-{config.uid_base + config.uid_count - 1}"
    if failure:
        problems.append(failure)
    elif not confined:
        problems.append(f"a test process could not confine itself: {tier0.get('error')}")

    def add(name: str, tier: int, active: bool, detail: str, why_not: str) -> None:
        layers.append(Layer(name, tier, active, detail if active else why_not))
        if tier == 0 and not active:
            problems.append(f"{name}: {why_not}")

    uid_ok = root and confined and tier0.get("uid") not in (None, 0) and not tier0.get("groups")
    add(
        "uid",
        0,
        uid_ok,
        f"each slot runs as its own uid ({uid_range}), never root, no groups",
        "not running as root: cannot switch executions to per-slot uids"
        if not root
        else f"switching to a slot uid failed ({tier0.get('error') or tier0.get('uid')})",
    )
    add(
        "rlimits",
        0,
        confined and tier0.get("rlimit_as") == 512 * 1024 * 1024,
        "address space = memory_mb, CPU = timeout + 1 s, file size and open files capped, "
        f"no core dumps, nice {config.nice}",
        "resource limits could not be applied",
    )
    secrets_read = list(tier0.get("secrets_readable") or [])
    readable = [str(p) for p in raw.get("readable") or []]
    for secret in config.secret_paths:
        for granted in readable:
            if secret == granted or secret.startswith(granted.rstrip("/") + "/"):
                secrets_read.append(f"{secret} (under {granted})")
    landlock_ok = (
        abi >= 1 and confined and not secrets_read and tier0.get("usr_writable") is False
        and tier0.get("workdir_writable") is True
    )
    add(
        "landlock",
        0,
        landlock_ok,
        f"ABI {abi}: read-only runtime and packages, read-write work directory, nothing else",
        "the kernel has no Landlock (needs Linux >= 5.13 with landlock in CONFIG_LSM)"
        if abi < 1
        else f"files stayed reachable: readable {secrets_read}, /usr writable "
        f"{tier0.get('usr_writable')}, work directory {tier0.get('workdir_writable')}",
    )
    seccomp_ok = (
        confined and not raw.get("seccomp_error") and _blocked(tier0.get("socket"))
        and _blocked(tier0.get("unix_socket")) and _blocked(tier0.get("fork"))
    )
    add(
        "seccomp",
        0,
        seccomp_ok,
        "no sockets of any family, ptrace, mount, unshare, bpf, io_uring, kexec, keyctl, "
        "kill(-1); no new processes unless the function opts in",
        str(raw.get("seccomp_error") or "the filter did not block socket()/fork()"),
    )
    stdlib = tier0.get("stdlib_readable")
    packages = tier0.get("packages_readable")
    add(
        "runtime",
        0,
        confined and stdlib is True and packages is True,
        f"{raw.get('python', python)} (Python {raw.get('python_version', '?')}), readable "
        "by the slot uids",
        f"the slot uids cannot use {python}: stdlib {stdlib}, packages {packages} "
        "(build the world-readable runtime: make runtime)",
    )
    add(
        "supervision",
        0,
        root,
        "deadline kills the process group and every process of the slot uid; output capped; "
        "work directory size watched; no process of a slot's uid left before it is reused",
        "needs root (kills by uid)",
    )
    add(
        "landlock-network",
        1,
        abi >= 4 and confined,
        "functions with network on may connect over TCP to ports "
        f"{', '.join(str(p) for p in config.network_ports if p not in config.blocked_ports)}"
        " only (no listening)",
        f"Landlock ABI {abi} < 4: cannot limit ports, so functions with network on run "
        "without network",
    )
    add(
        "landlock-scopes",
        1,
        abi >= 6 and confined,
        "no signals to, and no abstract unix sockets of, processes outside the sandbox",
        f"Landlock ABI {abi} < 6",
    )
    namespaces = raw.get("namespaces")
    ns_ok = bool(namespaces and namespaces.get("confined"))
    add(
        "namespaces",
        1,
        ns_ok,
        f"private network, ipc, uts and mount namespaces; work directory on a "
        f"{config.disk_mb} MiB tmpfs",
        "not running as root" if not root
        else "switched off (RUNTREE_SANDBOX_NAMESPACES=off)" if not config.namespaces
        else f"unshare/mount failed: {(namespaces or {}).get('error')}",
    )
    add("cgroups", 2, root and cgroup_detail.startswith("cgroup"), f"{cgroup_detail}: total "
        "memory per slot for functions with subprocesses; process count and CPU share of all "
        "executions together", cgroup_detail)
    return SandboxReport(
        enabled=True,
        layers=tuple(layers),
        problems=tuple(problems),
        python=str(raw.get("python", python)),
        python_version=str(raw.get("python_version", "")),
        landlock_abi=abi,
        uid_range=uid_range,
    )


def config_for(settings: Settings) -> SandboxConfig:
    """The server's sandbox: on unless ``settings.sandbox`` is off; its database file and
    admin key must stay unreadable (the probe checks), its own port unreachable."""
    secrets_: list[str] = [str(settings.admin_key_path.resolve())]
    database = settings.database_file
    if database is not None:
        secrets_ += [str(database), f"{database}-wal", f"{database}-journal"]
    blocked = (settings.port,) if settings.port else ()
    return SandboxConfig.from_env(
        enabled=settings.sandbox, secret_paths=tuple(secrets_), blocked_ports=blocked
    )


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

