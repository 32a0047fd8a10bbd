"""Confinement, applied by an execution's own process to itself before any user code runs.

:func:`prepare` runs once in the (root, single-threaded) zygote, or in a cold worker before
:func:`confine`: it loads the ctypes bindings, works out which paths stay readable and compiles
the seccomp filters, so that what is left per execution is a handful of system calls.

:func:`confine` then applies, in this order (the order matters: each step needs privileges
the next one takes away)::

    1. join the slot's cgroups                   (tier 2, when the probe found them writable)
    2. rlimits and nice                          (address space, CPU, file size, open files,
                                                  processes, no core dumps)
    3. private net/ipc/uts/mount namespaces and  (tier 1, when the probe found them usable)
       a size-capped tmpfs on the work directory
    4. chdir to the work directory
    5. Landlock: read-only runtime, read-write   (also TCP ports and signal/abstract-socket
       work directory, nothing else               scoping where the kernel's ABI has them)
    6. setgroups([]), setresgid, setresuid       (the slot's own uid, never root)
    7. seccomp (with no_new_privs)               (no sockets, ptrace, mount, namespaces, bpf,
                                                  io_uring, kexec, keyctl ...; by default no
                                                  new processes)
    8. a clean environment, and clear messages for the blocked calls

A zygote's spare for a dispatcher slot does 1 and the private mount/IPC/UTS namespaces of 3
before its job arrives, still root (:func:`enter_slot`); :func:`confine` skips what it finds
done for a policy like its own.

Everything here is stdlib (ctypes) plus ``landlock`` and ``pyseccomp``; it must be imported
before Landlock hides ``/etc/ld.so.cache`` (pyseccomp looks libseccomp up when imported).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import itertools
import os
import resource
import sys
from collections.abc import Callable
from typing import Any

from ...errors import SandboxError
from . import seccomp
from .policy import UNREACHABLE_V4, UNREACHABLE_V6, Policy, environment

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

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 2, 4, 0x4000, 0x40000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
PR_SET_DUMPABLE = seccomp.PR_SET_DUMPABLE
CAP_SYS_NICE = 23

# Landlock, beyond what the ``landlock`` package covers (network rules: ABI 4, scopes: ABI 6).
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_RULE_NET_PORT = 2
LANDLOCK_ACCESS_NET_BIND_TCP, LANDLOCK_ACCESS_NET_CONNECT_TCP = 1, 2
LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET, LANDLOCK_SCOPE_SIGNAL = 1, 2

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
# System V IPC limits of a private IPC namespace, zeroed when no cgroup counts its memory.
IPC_LIMITS = ("shmmni", "shmmax", "msgmni")
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


class _NetRulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _NetPortAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


@dataclasses.dataclass
class Prepared:
    """What :func:`prepare` worked out, inherited by every forked child."""

    libc: ctypes.CDLL
    landlock_abi: int
    landlock: Any  # the ``landlock`` module, or None without Landlock
    readable: list[str]  # directories and files, read-only
    filters: dict[seccomp.FilterKey, bytes]  # see filter_key -> BPF program
    seccomp_error: str | None
    # Landlock, worked out once: the rights handled, and (O_PATH fd, rights) of every
    # static rule -- a child only hands them to the kernel.
    handled: int = 0
    rules: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    rule_attrs: list[Any] = dataclasses.field(default_factory=list)  # PathBeneathAttr each
    programs: dict[seccomp.FilterKey, Any] = dataclasses.field(default_factory=dict)
    # Set by :func:`enter_private_network` (the zygote): children start in an empty network
    # namespace; those with network on go back to the host's through this fd.
    host_network_fd: int = -1


_prepared: Prepared | None = None
# What this process did in advance, as a zygote's spare for a slot (:func:`enter_slot`): the
# cgroup.procs files it joined, and whether it is in private mount/IPC/UTS namespaces made for
# a policy with (True) or without (False) shared memory (None: not entered).
_joined: set[str] = set()
_namespaces_for: bool | None = None


def landlock_abi(libc: ctypes.CDLL | None = None) -> int:
    """The kernel's Landlock ABI version; 0 without Landlock."""
    lib = libc or ctypes.CDLL(None, use_errno=True)
    version = lib.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), 1)
    return max(0, int(version))


def runtime_paths() -> list[str]:
    """This interpreter's own directories: its prefixes and every ``sys.path`` entry."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.update(p for p in sys.path if p and os.path.isabs(p))
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    runtree_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths.add(runtree_dir)  # the platform's own code (no secrets; lazily imported modules)
    return sorted(paths)


def prepare(all_filters: bool = True) -> Prepared:
    """Load bindings and compile filters (idempotent); call before forking children. Without
    ``all_filters`` (a cold worker, which confines itself once) :func:`confine` compiles
    just the filter it needs."""
    global _prepared
    if _prepared is not None:
        return _prepared
    libc = ctypes.CDLL(None, use_errno=True)
    abi = landlock_abi(libc)
    landlock_module: Any = None
    if abi >= 1:
        try:
            import landlock

            landlock.FSAccess.all()  # computes (and caches) the ABI it relies on
            landlock_module = landlock
        except Exception:
            landlock_module = None
    readable = _without_nested([*SYSTEM_READABLE, *runtime_paths()])
    filters: dict[seccomp.FilterKey, bytes] = {}
    seccomp_error = None
    try:
        import pyseccomp  # noqa: F401  (it finds libseccomp now, while it still can)

        if all_filters:
            # (Signals confined by seccomp: not root, compiled when a run needs it.)
            for subprocesses, network, shared in itertools.product((False, True), repeat=3):
                key = (subprocesses, network, shared, False)
                filters[key] = seccomp.compile_filter(*key)
    except Exception as error:  # no libseccomp, no pyseccomp: the probe reports it
        seccomp_error = f"{type(error).__name__}: {error}"
        filters = {}
    _preload_for_users()
    _prepared = Prepared(libc, abi, landlock_module, readable, filters, seccomp_error)
    if landlock_module is not None:
        _prepare_landlock(_prepared)
    for key in filters:
        _program(_prepared, key)
    _clean_environment()
    return _prepared


def _clean_environment() -> None:
    """Once, in the zygote: the environment every execution starts from (the per-execution
    part, ``HOME`` and ``TMPDIR``, is set by :func:`confine`)."""
    static = {
        k: v
        for k, v in environment(Policy(0, 0, ""), _search_path()).items()
        if k not in PER_EXECUTION
    }
    for key in [k for k in os.environ if k not in static]:
        del os.environ[key]
    os.environ.update(static)


PER_EXECUTION = ("HOME", "TMPDIR")


def _prepare_landlock(prepared: Prepared) -> None:
    access = prepared.landlock.FSAccess
    prepared.handled = int(access.all())
    read_file = int(access.EXECUTE | access.READ_FILE)
    read_dir = read_file | int(access.READ_DIR)
    wanted = [(path, read_dir if os.path.isdir(path) else read_file) for path in prepared.readable]
    wanted += [(path, int(access.all_file())) for path in DEVICES_RW]
    wanted += [(path, int(access.READ_FILE)) for path in DEVICES_RO]
    from landlock import plumbing

    for path, rights in wanted:
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        prepared.rules.append((fd, rights))
        prepared.rule_attrs.append(plumbing.PathBeneathAttr(rights, fd))


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


def _without_nested(paths: list[str]) -> list[str]:
    """Existing paths, resolved, without those beneath another one (a rule on a directory
    covers everything under it): fewer rules, less work per execution."""
    resolved = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})
    kept: list[str] = []
    for path in resolved:
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


def _preload_for_users() -> None:
    """Modules the error-message patches wrap, imported while files are still readable."""
    import _posixsubprocess  # noqa: F401
    import ipaddress  # noqa: F401
    import socket  # noqa: F401
    import subprocess  # noqa: F401


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


def warm() -> None:
    """In a zygote's spare, before it has a job: touch what :func:`confine` will use, so
    that the memory pages it shares with the zygote are copied now, at the spare's low
    priority, rather than on the request path (about half a millisecond). Changes
    nothing."""
    prepared = prepare()
    Policy.from_dict(Policy(uid=0, gid=0, workdir="/").to_dict())
    if prepared.landlock is not None:
        from landlock import plumbing

        plumbing.get_add_rule()
        plumbing.get_restrict_self()
        for attr in prepared.rule_attrs:
            ctypes.byref(attr)
    for key in list(prepared.programs):
        _program(prepared, key)


# --- in the execution's process ----------------------------------------------------------


def enter_slot(procs_files: tuple[str, ...], template: dict[str, Any] | None = None) -> None:
    """In a zygote's spare for a slot, before it has a job (still root, unconfined): join the
    slot's cgroups, and enter the private mount, IPC and UTS namespaces of ``template`` (the
    policy of the slot's last run: the next one's is most likely the same), off the request
    path. :func:`confine` then skips what was done here for a policy like its own (only
    what this process itself did) and does the rest as ever: the work directory's tmpfs,
    the network namespace, Landlock, the uid, seccomp. Best effort: what fails here is done,
    or fails, in :func:`confine`."""
    global _namespaces_for
    pid = str(os.getpid())
    for procs in procs_files:
        try:
            with open(procs, "w") as file:
                file.write(pid)
        except OSError:
            continue
        _joined.add(procs)
    if template is None:
        return
    try:
        policy = Policy.from_dict(template)
        if policy.namespaces:
            _private_namespaces(prepare(), policy)
            _namespaces_for = policy.shared_memory
    except Exception:
        return  # confine() makes them, or says why it cannot


def confine(policy: Policy) -> None:
    """Apply ``policy`` to this process, for good. Raises :class:`SandboxError` when any
    layer the policy asks for cannot be applied (the caller must then not run user code)."""
    prepared = prepare(all_filters=False)
    step = "start"
    try:
        key = seccomp.filter_key(policy)
        if policy.seccomp and key not in prepared.filters and prepared.seccomp_error is None:
            step = "seccomp filter"
            prepared.filters[key] = seccomp.compile_filter(*key)
        step = "cgroups"
        pid = str(os.getpid())
        for procs in policy.cgroup_procs:
            if procs not in _joined:
                with open(procs, "w") as file:
                    file.write(pid)
        step = "rlimits"
        _limit_resources(policy)
        if policy.namespaces:
            step = "namespaces"
            _enter_namespaces(prepared, policy)
        if prepared.host_network_fd >= 0:
            # Used (or not) by now: no run keeps a handle on the host's network namespace.
            os.close(prepared.host_network_fd)
            prepared.host_network_fd = -1
        step = "work directory"
        os.chdir(policy.workdir)
        if policy.landlock:
            step = "landlock"
            _landlock(prepared, policy)
        step = "uid"
        if os.geteuid() == 0:
            os.setgroups([])
            os.setresgid(policy.gid, policy.gid, policy.gid)
            os.setresuid(policy.uid, policy.uid, policy.uid)
        elif policy.uid != os.getuid():
            raise SandboxError(f"not root: cannot become uid {policy.uid}")
        if os.getuid() == 0 or os.geteuid() == 0:
            raise SandboxError("still root after setresuid")
        # Dumpable again (setresuid cleared it): /proc/<pid> then belongs to the slot uid,
        # which is how the platform finds what is left of it; seccomp keeps it so.
        _check(prepared.libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable", prepared.libc)
        if policy.seccomp:
            step = "seccomp"
            _seccomp(prepared, policy)
        step = "environment"  # the rest was set once, by prepare()
        os.environ["HOME"] = os.environ["TMPDIR"] = policy.workdir
        _explain_blocked_calls(policy)
    except SandboxError:
        raise
    except BaseException as error:
        raise SandboxError(f"{step}: {type(error).__name__}: {error}") from error


def _limit_resources(policy: Policy) -> None:
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


def _check(result: int, what: str, libc: ctypes.CDLL) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def _enter_namespaces(prepared: Prepared, policy: Policy) -> None:
    libc = prepared.libc
    private_network = prepared.host_network_fd >= 0  # born in the zygote's empty one
    if policy.network and private_network:
        _check(libc.setns(prepared.host_network_fd, CLONE_NEWNET), "setns(host network)", libc)
    elif not policy.network and not private_network:
        _check(libc.unshare(CLONE_NEWNET), "unshare(network)", libc)
    if _namespaces_for is None or _namespaces_for != policy.shared_memory:
        _private_namespaces(prepared, policy)  # not made in advance for such a policy
    options = (
        f"size={policy.disk_mb}m,nr_inodes={max(1024, policy.disk_mb * 64)},mode=0700,"
        f"uid={policy.uid},gid={policy.gid}"
    ).encode()
    _check(
        libc.mount(b"runtree", policy.workdir.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options),
        "mount tmpfs",
        libc,
    )


def _private_namespaces(prepared: Prepared, policy: Policy) -> None:
    """New mount, IPC and UTS namespaces (the IPC one without System V limits unless the
    policy has shared memory), whose mounts do not propagate back to the host."""
    libc = prepared.libc
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "unshare", libc)
    if not policy.shared_memory:
        # No memory cgroup to count System V IPC: the private IPC namespace gets none (seccomp
        # denies the calls as well).
        for name in IPC_LIMITS:
            with open(f"/proc/sys/kernel/{name}", "w") as file:
                file.write("0")
    # Mounts made here must not propagate back to the host.
    _check(
        libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate", libc
    )


def _landlock(prepared: Prepared, policy: Policy) -> None:
    """Read-only: the runtime and system paths :func:`prepare` opened; read-write: the work
    directory; some of this process's own ``/proc/<pid>`` (:data:`PROC_SELF_READABLE`);
    nothing else. Through the ``landlock``
    package's system-call bindings, with the rules worked out in advance."""
    ll = prepared.landlock
    if ll is None:
        raise SandboxError("Landlock is not available")
    from landlock import plumbing

    access = ll.FSAccess
    ruleset = _create_ruleset(prepared, policy)
    own: list[int] = []
    try:
        add_rule = plumbing.get_add_rule()
        rules = list(prepared.rules)
        extra = [*policy.extra_readable, *(NETWORK_READABLE if policy.network else ())]
        read = int(access.EXECUTE | access.READ_FILE)
        for path, rights in (
            *((p, read | int(access.READ_DIR) if os.path.isdir(p) else read) for p in extra),
            *(
                (
                    f"/proc/{os.getpid()}/{name}",
                    int(access.READ_FILE | access.READ_DIR)
                    if name in PROC_SELF_DIRS
                    else int(access.READ_FILE),
                )
                for name in PROC_SELF_READABLE
            ),
            (policy.workdir, prepared.handled),
        ):
            with contextlib.suppress(FileNotFoundError):
                own.append(os.open(path, os.O_PATH | os.O_CLOEXEC))
                rules.append((own[-1], rights))
        attrs = [
            *prepared.rule_attrs,
            *(plumbing.PathBeneathAttr(r, fd) for fd, r in rules[len(prepared.rules) :]),
        ]
        for beneath in attrs:
            add_rule(ruleset, 1, ctypes.byref(beneath), 0)  # LANDLOCK_RULE_PATH_BENEATH
        _check(prepared.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs", prepared.libc)
        plumbing.get_restrict_self()(ruleset, 0)
    finally:
        for fd in (ruleset, *own, *(fd for fd, _ in prepared.rules)):
            with contextlib.suppress(OSError):
                os.close(fd)
        prepared.rules = []
        prepared.rule_attrs = []


def _create_ruleset(prepared: Prepared, policy: Policy) -> int:
    """One ruleset for everything the kernel's ABI can express: files (ABI 1), TCP
    bind/connect only to the allowed ports (ABI >= 4; none without network), and no signals
    to or abstract unix sockets of processes outside this sandbox (ABI >= 6). The ``landlock``
    package's ruleset structure knows only files, so the larger one is built here."""
    abi = prepared.landlock_abi
    libc = prepared.libc
    attr = _NetRulesetAttr(
        prepared.handled,
        LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP if abi >= 4 else 0,
        LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL if abi >= 6 else 0,
    )
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    fd = _check(
        libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0),
        "landlock_create_ruleset",
        libc,
    )
    if policy.network and abi >= 4:
        for port in policy.network_ports:
            rule = _NetPortAttr(LANDLOCK_ACCESS_NET_CONNECT_TCP, port)
            _check(
                libc.syscall(
                    SYS_LANDLOCK_ADD_RULE, fd, LANDLOCK_RULE_NET_PORT, ctypes.byref(rule), 0
                ),
                "landlock_add_rule",
                libc,
            )
    return fd


def _program(prepared: Prepared, key: seccomp.FilterKey) -> Any:
    """The filter for ``key`` as the kernel takes it (built once, kept alive here)."""
    program = prepared.programs.get(key)
    if program is None:
        program = prepared.programs[key] = seccomp.program(prepared.filters[key])
    return program


def _seccomp(prepared: Prepared, policy: Policy) -> None:
    key = seccomp.filter_key(policy)
    if key not in prepared.filters:
        raise SandboxError(f"no seccomp filter: {prepared.seccomp_error}")
    fprog = _program(prepared, key)
    libc = prepared.libc
    prctl = libc.prctl
    _check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)", libc)
    _check(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp", libc)


def _search_path() -> str:
    bin_dir = os.path.dirname(sys.executable)
    return ":".join(dict.fromkeys([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]))


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


def _explain_blocked_calls(policy: Policy) -> None:
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
