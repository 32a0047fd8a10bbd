"""One typed settings object for the server, the CLI and the sandbox.

Values come from arguments first (CLI options, ``Settings(...)``), then ``RUNTREE_*``
environment variables (read by :mod:`runtree.environment`, whose :data:`VARIABLES` registry
says which field each fills), then the defaults here. ``docs/settings.md`` documents each
setting (a test checks that nothing is left out).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .defaults import (
    DEFAULT_DATABASE_URL,
    DEFAULT_HOST,
    DEFAULT_MEMORY_MB,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT_S,
)
from .environment import environment_values, parse_otlp_endpoint

ADMIN_KEY_SUFFIX = ".admin-key"
SECRET_KEY_SUFFIX = ".secret-key"


def sandbox_from_environment() -> tuple[bool, SandboxSettings]:
    """``RUNTREE_SANDBOX`` (on by default) and the sandbox's section from the environment,
    without the rest of the settings: what a process that runs functions but serves nothing
    (a CLI run, a test) needs."""
    values = environment_values()
    return values.get("sandbox", True), SandboxSettings.model_validate(
        values.get("sandbox_host", {})
    )


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
    return _data_file(database_url, ADMIN_KEY_SUFFIX, "admin-key")


def default_secret_key_file(database_url: str) -> Path:
    """Where the key that encrypts secrets at rest is kept unless ``RUNTREE_SECRET_KEY`` gives
    it: next to a SQLite database file (``runtree.db`` -> ``runtree.db.secret-key``), else
    ``$XDG_CONFIG_HOME/runtree/secret-key`` (``~/.config/runtree/secret-key``)."""
    return _data_file(database_url, SECRET_KEY_SUFFIX, "secret-key")


def _data_file(database_url: str, suffix: str, name: str) -> Path:
    """A file that belongs with the database: beside a SQLite file, else in the user's
    configuration directory."""
    scheme, sep, rest = database_url.partition("://")
    if sep and scheme.split("+")[0] == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        path = path.split("?", 1)[0]
        if path and path != ":memory:":
            return Path(path + suffix)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "runtree" / name


class SandboxSettings(BaseModel):
    """The sandbox's section: what it may use on this host (README, "Security model").
    ``None`` keeps the sandbox's own default (:mod:`runtree.execution.sandbox.config`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Work directories and uid locks (default /var/lib/runtree).
    state_dir: str | None = None
    # The first slot uid (default 64000; never below 1000).
    uid_base: int | None = Field(default=None, ge=1000)
    # Each run's work directory, in total (default 64 MiB).
    disk_mb: int | None = Field(default=None, ge=1)
    # The priority runs get (default 10).
    nice: int | None = Field(default=None, ge=0, le=19)
    # Off: no namespaces (tier 1) or no cgroups (tier 2), even when the host has them.
    namespaces: bool = True
    cgroups: bool = True
    # The TCP ports functions with network on may connect to (default 80, 443).
    network_ports: tuple[int, ...] | None = None
    # The Python that runs user code (default /opt/runtree/venv/bin/python when it exists).
    python: str | None = None

    def given(self) -> dict[str, Any]:
        """The values that differ from the sandbox's defaults, by field name."""
        return {key: value for key, value in self.model_dump().items() if value is not None}


class Settings(BaseModel):
    """Every setting of a runtree process. Build one with :meth:`load` (arguments, then the
    environment) or directly (``Settings(...)``: the environment is not read)."""

    model_config = ConfigDict(frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    host: str = DEFAULT_HOST
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=0, le=256)
    # Seconds between a queue worker's heartbeats (PostgreSQL); a worker silent for four of
    # them is lost and its executions are settled (docs/scaling.md, "Failure semantics").
    heartbeat_s: float = Field(default=5.0, ge=0.1, le=300)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    shutdown_grace_s: float = Field(default=5.0, ge=0)
    # Access control: off only for local development, and then only on loopback.
    auth: bool = True
    admin_key_file: str | None = None
    # The file holding the key that encrypts secrets at rest, unless RUNTREE_SECRET_KEY
    # gives the key itself (default: see default_secret_key_file).
    secret_key_file: str | None = None
    # GET /metrics without an API key (for a scraper on a trusted network); else a viewer key
    # of no single namespace is needed, like the API.
    metrics_public: bool = False
    # The server's log on stderr: human-readable text, or one JSON object per line
    # (runtree.api.logs).
    log_format: Literal["text", "json"] = "text"
    # OpenTelemetry (README, "OpenTelemetry"): each finished execution is sent as one trace to
    # this OTLP/HTTP traces URL (None: no export), with these headers (credentials: never
    # shown), each request retried for up to ``otlp_timeout_s``; at most ``otlp_backlog``
    # executions wait to be sent, more are dropped and counted.
    otlp_endpoint: str | None = None
    otlp_headers: dict[str, str] = Field(default_factory=dict, repr=False)
    otlp_timeout_s: float = Field(default=10.0, gt=0, le=300)
    otlp_backlog: int = Field(default=1000, ge=1, le=1_000_000)
    # Webhooks: the largest request body accepted on /hooks/{path}.
    webhook_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Schedules: the scheduler loop of `runtree serve` and `runtree worker` wakes this often.
    scheduler: bool = True
    scheduler_interval_s: float = Field(default=1.0, gt=0, le=60)
    # Retention (runtree.service.retention): `runtree serve` prunes what the policies let go
    # every retention_interval_s seconds, at most retention_batch_rows rows per transaction.
    retention: bool = True
    retention_interval_s: float = Field(default=300.0, gt=0, le=86_400)
    retention_batch_rows: int = Field(default=2_000, ge=10, le=100_000)
    # The sandbox user code runs in (README, "Security model"). Off only for local
    # development (RUNTREE_SANDBOX=off, --insecure-no-sandbox), and then only on loopback.
    sandbox: bool = True
    # How the sandbox is set up on this host.
    sandbox_host: SandboxSettings = SandboxSettings()

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_traces_url(cls, value: str | None) -> str | None:
        return None if value is None else parse_otlp_endpoint(value)

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

    @property
    def secret_key_path(self) -> Path:
        """The secret key file (see :func:`default_secret_key_file`)."""
        if self.secret_key_file:
            return Path(self.secret_key_file)
        return default_secret_key_file(self.database_url)

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Settings from ``overrides`` (``None`` values ignored), then the environment
        (:data:`VARIABLES`), then the defaults."""
        values = environment_values()
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
    # Scale-out (PostgreSQL): the queue its executions wait in -- only workers that take it
    # run them (`runtree worker --queue NAME`) -- and how many times an execution whose
    # worker was lost runs again from the start (0: it ends crashed).
    queue: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    retries: int = Field(default=0, ge=0, le=5)

    def stored(self) -> dict[str, Any]:
        """The settings as stored and hashed. The sandbox opt-ins appear only when on, and
        ``queue`` and ``retries`` only when not the default, so versions deployed before
        they existed keep their content hash."""
        data = self.model_dump()
        for key in OPT_INS:
            if not data[key]:
                del data[key]
        if data["queue"] == "default":
            del data["queue"]
        if not data["retries"]:
            del data["retries"]
        return data


OPT_INS = ("network", "subprocesses")
