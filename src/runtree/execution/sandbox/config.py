"""How the sandbox is configured: :class:`SandboxConfig`, from the environment
(:meth:`SandboxConfig.from_env`) or the server's settings (:func:`config_for`)."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

from .policy import DEFAULT_DISK_MB, DEFAULT_NETWORK_PORTS, NICE

if TYPE_CHECKING:
    from ...settings import Settings

DEFAULT_STATE_DIR = "/var/lib/runtree"
UID_BASE = 64000
UID_COUNT = 1000
MIN_SLOT_UID = 1000  # never root or a system account
OFF_VALUES = ("0", "off", "false", "no")


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    """What the sandbox may use on this host; the probe decides which layers it gets."""

    enabled: bool = True
    state_dir: str = DEFAULT_STATE_DIR
    uid_base: int = UID_BASE
    uid_count: int = UID_COUNT
    disk_mb: int = DEFAULT_DISK_MB
    network_ports: tuple[int, ...] = DEFAULT_NETWORK_PORTS
    blocked_ports: tuple[int, ...] = ()  # never reachable, even from the network ports
    secret_paths: tuple[str, ...] = ()  # must be unreadable from a sandbox (checked)
    python: str | None = None  # default: interpreter.runtime_python()
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

