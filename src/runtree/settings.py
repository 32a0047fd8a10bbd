"""One typed settings object for the server and the CLI.

Values come from arguments first, then ``RUNTREE_*`` environment variables, then defaults.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .models import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

DEFAULT_DATABASE_URL = "sqlite:///runtree.db"
ADMIN_KEY_SUFFIX = ".admin-key"
SANDBOX_OFF = ("0", "off", "false", "no")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def default_admin_key_file(database_url: str) -> Path:
    """Where the first admin key is written: next to a SQLite database file
    (``runtree.db`` -> ``runtree.db.admin-key``), else ``$XDG_CONFIG_HOME/runtree/admin-key``
    (``~/.config/runtree/admin-key``)."""
    scheme, sep, rest = database_url.partition("://")
    if sep and scheme.split("+")[0] == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        path = path.split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path + ADMIN_KEY_SUFFIX)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "runtree" / "admin-key"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    shutdown_grace_s: float = Field(default=5.0, ge=0)
    # Access control: off only for local development, and then only on loopback.
    auth: bool = True
    admin_key_file: str | None = None
    # Webhooks: the largest request body accepted on /hooks/{path}.
    webhook_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Schedules: the scheduler loop of `runtree serve` wakes this often.
    scheduler: bool = True
    scheduler_interval_s: float = Field(default=1.0, gt=0, le=60)
    # The sandbox user code runs in (README, "Security model"). Off only for local
    # development (RUNTREE_SANDBOX=off, --insecure-no-sandbox), and then only on loopback.
    sandbox: bool = True

    @model_validator(mode="after")
    def _no_auth_only_on_loopback(self) -> Settings:
        if not self.auth and not is_loopback(self.host):
            raise ValueError(
                f"--no-auth serves without access control: it binds only to a loopback "
                f"address (127.0.0.1, ::1, localhost), not {self.host!r}"
            )
        return self

    @model_validator(mode="after")
    def _no_sandbox_only_on_loopback(self) -> Settings:
        if not self.sandbox and not is_loopback(self.host):
            raise ValueError(
                f"without the sandbox (RUNTREE_SANDBOX=off, --insecure-no-sandbox) user code "
                f"can do anything the server can: the server binds only to a loopback address "
                f"(127.0.0.1, ::1, localhost), not {self.host!r}"
            )
        return self

    @property
    def database_file(self) -> Path | None:
        """The SQLite database file, if the database is one."""
        scheme, sep, rest = self.database_url.partition("://")
        if sep and scheme.split("+")[0] == "sqlite":
            path = rest[1:] if rest.startswith("/") else rest
            path = path.split("?", 1)[0]
            if path and path != ":memory:":
                return Path(path).resolve()
        return None

    @property
    def admin_key_path(self) -> Path:
        """The file the first admin key is written to (see :func:`default_admin_key_file`)."""
        if self.admin_key_file:
            return Path(self.admin_key_file)
        return default_admin_key_file(self.database_url)

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Settings from ``overrides`` (``None`` values ignored), then the environment."""
        values: dict[str, object] = {}
        env = {
            "database_url": "RUNTREE_DATABASE_URL",
            "host": "RUNTREE_HOST",
            "port": "RUNTREE_PORT",
            "workers": "RUNTREE_WORKERS",
            "max_body_bytes": "RUNTREE_MAX_BODY_BYTES",
            "admin_key_file": "RUNTREE_ADMIN_KEY_FILE",
            "webhook_max_body_bytes": "RUNTREE_WEBHOOK_MAX_BODY_BYTES",
        }
        for field, variable in env.items():
            if os.environ.get(variable):
                values[field] = os.environ[variable]
        if os.environ.get("RUNTREE_NO_AUTH", "").lower() in ("1", "true", "yes"):
            values["auth"] = False
        if os.environ.get("RUNTREE_SANDBOX", "").strip().lower() in SANDBOX_OFF:
            values["sandbox"] = False
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)


class VersionSettings(BaseModel):
    """Settings stored with a version (and part of its content hash)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=24 * 3600)
    memory_mb: int = Field(default=DEFAULT_MEMORY_MB, ge=64, le=64 * 1024)
    tracking: bool = True
    # Sandbox opt-ins (README, "Security model"): outbound TCP to the allowed ports, and
    # starting processes (with a small process limit).
    network: bool = False
    subprocesses: bool = False

    def stored(self) -> dict[str, Any]:
        """The settings as stored and hashed. The sandbox opt-ins appear only when on, so
        versions deployed before they existed keep their content hash."""
        data = self.model_dump()
        for key in OPT_INS:
            if not data[key]:
                del data[key]
        return data


OPT_INS = ("network", "subprocesses")
