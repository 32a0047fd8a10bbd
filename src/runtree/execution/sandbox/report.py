"""What the start-up probe found: one :class:`Layer` per protection, the
:class:`SandboxReport` that ``runtree doctor``, the server's start-up line and ``/healthz``
show, and running the probe's test process (:mod:`.probe`) that the report is built from."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from typing import Any

from . import interpreter
from .config import SandboxConfig
from .policy import Policy

PROBE_TIMEOUT_S = 60.0
SIGSYS = 31
# Socket kinds the probe tries with network on (see .probe): each must be denied.
SOCKET_KINDS_BLOCKED = ("mptcp", "sctp", "raw", "icmp", "netlink", "packet", "vsock", "unix")
NOT_ROOT_UID = (
    "not root: every run executes as your own uid, each confined by Landlock (its own work "
    "directory, the read-only runtime, nothing else of yours), seccomp and rlimits; but "
    "runs are not separated by uid, so functions may not start processes (the deadline "
    "could not find them) and have no network (no firewall). Run as root for per-slot uids"
)


@dataclasses.dataclass(frozen=True)
class Layer:
    """One protection: whether it is on here, and what it does or why it is off."""

    name: str
    tier: int  # 0: always on; 1: namespaces and newer kernels; 2: cgroups
    active: bool
    detail: str
    required: bool = True  # for tier 0: the server refuses to start without it


@dataclasses.dataclass(frozen=True)
class SandboxReport:
    enabled: bool
    layers: tuple[Layer, ...] = ()
    problems: tuple[str, ...] = ()
    python: str = ""
    python_version: str = ""
    landlock_abi: int = 0
    uid_range: str = ""
    uid_separation: bool = True  # False: not root, every run executes as the server's uid

    @property
    def tier0(self) -> bool:
        """Every always-on layer is on (the server refuses to start otherwise)."""
        required = [layer for layer in self.layers if layer.tier == 0 and layer.required]
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
            return (
                "sandbox OFF (RUNTREE_SANDBOX=off / --insecure-no-sandbox): user code runs "
                "unconfined, as the server's user"
            )
        if not self.tier0:
            return "sandbox INCOMPLETE: " + "; ".join(self.problems)
        extra = [layer.name for layer in self.layers if layer.tier > 0 and layer.active]
        off = [layer.name for layer in self.layers if layer.tier > 0 and not layer.active]
        if self.uid_separation:
            text = f"sandbox on: tier 0 (uid, rlimits, landlock ABI {self.landlock_abi}, seccomp)"
        else:
            text = (
                f"sandbox on: tier 0 without uid separation (not root: rlimits, landlock "
                f"ABI {self.landlock_abi}, seccomp; no subprocesses, no network)"
            )
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
            "uid_separation": self.uid_separation,
            "problems": list(self.problems),
            "layers": [dataclasses.asdict(layer) for layer in self.layers],
        }


def run_probe(
    config: SandboxConfig, python: str, policy: Policy, namespaces: bool
) -> tuple[dict[str, Any], str | None]:
    """Run the probe's test process (:mod:`.probe`) in ``python`` under ``policy``: its raw
    findings, or why it could not run."""
    secrets_ = [*config.secret_paths, "/etc/shadow"]
    command = interpreter.python_command(
        python,
        "runtree.execution.sandbox.probe",
        json.dumps(policy.to_dict()),
        json.dumps(secrets_),
        *(["namespaces"] if namespaces else []),
    )
    try:
        done = subprocess.run(
            command,
            env=interpreter.clean_environment(),
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


def build_report(
    config: SandboxConfig,
    python: str,
    root: bool,
    raw: dict[str, Any],
    failure: str | None,
    cgroup_detail: str,
    firewall: tuple[bool, str] = (False, "not installed"),
) -> SandboxReport:
    """The report of a probe's ``raw`` findings (or its ``failure``), with what the host
    found about cgroups and the egress firewall (installed: whether, and what or why not)."""
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

    def add(
        name: str, tier: int, active: bool, detail: str, why_not: str, required: bool = True
    ) -> None:
        layers.append(Layer(name, tier, active, detail if active else why_not, required))
        if tier == 0 and required and not active:
            problems.append(f"{name}: {why_not}")

    uid_ok = root and confined and tier0.get("uid") not in (None, 0) and not tier0.get("groups")
    add(
        "uid",
        0,
        uid_ok,
        f"each slot runs as its own uid ({uid_range}), never root, no groups",
        NOT_ROOT_UID
        if not root
        else f"switching to a slot uid failed ({tier0.get('error') or tier0.get('uid')})",
        required=root,
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
        abi >= 1
        and confined
        and not secrets_read
        and tier0.get("usr_writable") is False
        and tier0.get("workdir_writable") is True
        and tier0.get("mounts_readable") is False
    )
    add(
        "landlock",
        0,
        landlock_ok,
        f"ABI {abi}: read-only runtime and packages, read-write work directory, nothing else "
        "(of /proc: its own status, limits, fds ..., not the mounts)",
        "the kernel has no Landlock (needs Linux >= 5.13 with landlock in CONFIG_LSM)"
        if abi < 1
        else f"files stayed reachable: readable {secrets_read}, /usr writable "
        f"{tier0.get('usr_writable')}, work directory {tier0.get('workdir_writable')}, "
        f"/proc/self/mounts readable {tier0.get('mounts_readable')}",
    )
    network: dict[str, Any] = raw.get("network") or {}
    x32: dict[str, Any] = raw.get("x32") or {}
    leaks = [
        name for name in ("socket", "unix_socket", "fork", "memfd") if not _blocked(tier0.get(name))
    ]
    leaks += [
        f"{name} with network on"
        for name in SOCKET_KINDS_BLOCKED
        if not _blocked(network.get(name))
    ]
    if network.get("tcp") != "allowed":
        leaks.append(f"TCP with network on: {network.get('tcp') or network.get('error')}")
    if x32.get("signal") != SIGSYS:
        leaks.append("an x32 system call did not kill the process")
    seccomp_ok = confined and not raw.get("seccomp_error") and not leaks
    add(
        "seccomp",
        0,
        seccomp_ok,
        "no sockets (with network on: TCP and UDP over IPv4/IPv6 only -- no MPTCP, SCTP, raw, "
        "netlink, packet, vsock, unix), ptrace, mount, unshare, bpf, io_uring, kexec, keyctl, "
        "kill(-1); no memfd or System V IPC without a memory cgroup; no new processes unless "
        "the function opts in; a system call of another ABI (x32) kills the process",
        str(raw.get("seccomp_error") or f"the filter let through: {', '.join(leaks)}"),
    )
    stdlib = tier0.get("stdlib_readable")
    packages = tier0.get("packages_readable")
    add(
        "runtime",
        0,
        confined and stdlib is True and packages is True,
        f"{raw.get('python', python)} (Python {raw.get('python_version', '?')}), readable "
        + ("by the slot uids" if root else "by the runs"),
        f"the slot uids cannot use {python}: stdlib {stdlib}, packages {packages} "
        "(build the world-readable runtime: make runtime)",
    )
    add(
        "supervision",
        0,
        True,
        "deadline kills the process group and every process of the slot uid; output capped; "
        "work directory size watched; no process of a slot's uid left before it is reused"
        if root
        else "deadline kills the run's process (it can start no other); output "
        "capped; work directory size watched",
        "",
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
    firewall_on, firewall_detail = firewall
    reached = [kind for kind in ("loopback_tcp", "loopback_udp") if not _blocked(network.get(kind))]
    add(
        "egress-firewall",
        1,
        firewall_on and not reached and root,
        f"{firewall_detail}: functions with network on reach no address of this host "
        "(loopback included, any port, any protocol), no private, link-local or multicast "
        "range; UDP only to DNS",
        f"{firewall_detail}, so functions with network on run without network"
        if not firewall_on
        else f"the firewall is installed but a test process reached {', '.join(reached)}",
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
        "not running as root"
        if not root
        else "switched off (RUNTREE_SANDBOX_NAMESPACES=off)"
        if not config.namespaces
        else f"unshare/mount failed: {(namespaces or {}).get('error')}",
    )
    add(
        "cgroups",
        2,
        root and cgroup_detail.startswith("cgroup"),
        f"{cgroup_detail}: total "
        "memory of every run (memfd, shared memory, page cache and children included); "
        "process count and CPU share of all executions together",
        cgroup_detail,
    )
    return SandboxReport(
        enabled=True,
        layers=tuple(layers),
        problems=tuple(problems),
        python=str(raw.get("python", python)),
        python_version=str(raw.get("python_version", "")),
        landlock_abi=abi,
        uid_range=uid_range if root else "",
        uid_separation=root,
    )
