"""How the sandbox is configured: :class:`SandboxConfig`, from the server's settings
(:func:`config_for`) or, without them, from the environment as :mod:`runtree.settings` reads
it (:meth:`SandboxConfig.from_env`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ...settings import Settings, sandbox_from_environment
from .policy import DEFAULT_DISK_MB, DEFAULT_NETWORK_PORTS, NICE

DEFAULT_STATE_DIR = "/var/lib/runtree"
UID_BASE = 64000
UID_COUNT = 1000
MIN_SLOT_UID = 1000  # never root or a system account


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
        """``RUNTREE_SANDBOX`` and the ``RUNTREE_SANDBOX_*`` section as
        :func:`runtree.settings.sandbox_from_environment` reads them (docs/settings.md), then
        ``overrides``."""
        enabled, section = sandbox_from_environment()
        values: dict[str, Any] = {"enabled": enabled, **section.given()}
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
    return SandboxConfig(
        enabled=settings.sandbox,
        secret_paths=tuple(secrets_),
        blocked_ports=blocked,
        **settings.sandbox_host.given(),
    )
