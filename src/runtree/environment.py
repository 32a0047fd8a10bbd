"""The one reader of the environment: :data:`VARIABLES`, the registry of every ``RUNTREE_*``
variable runtree reads -- the setting it fills and how its text is parsed (one parser per type:
:func:`parse_flag` for on/off values, :func:`parse_ports` for port lists; numbers and text are
parsed by the field's own type in :class:`runtree.settings.Settings`) -- and
:func:`environment_value`. Apart from the settings models so that reading one variable (the
CLI's database URL, its server) imports no pydantic. ``docs/settings.md`` documents each
variable (a test checks that nothing is left out).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from .errors import SettingError

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
# An HTTP header name (RFC 9110 token).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_flag(text: str) -> bool | None:
    """An on/off value: ``1 true yes on`` or ``0 false no off`` (any case, spaces ignored);
    ``None`` for an empty value (unset). Anything else is a :class:`ValueError`."""
    word = text.strip().lower()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected one of {'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)}")


def parse_ports(text: str) -> tuple[int, ...]:
    """A comma-separated list of TCP ports (``80,443``); empty: no port at all."""
    ports = []
    for part in text.split(","):
        if part.strip():
            port = int(part)
            if not 0 < port <= 65535:
                raise ValueError(f"{port} is not a TCP port")
            ports.append(port)
    return tuple(ports)


def parse_otlp_endpoint(text: str) -> str | None:
    """An OTLP/HTTP endpoint: an ``http://`` or ``https://`` URL with a host. A base URL
    (``http://collector:4318``, ``https://gateway/otlp``) gets the traces path ``/v1/traces``
    appended, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` does; a URL that already ends in
    ``/v1/traces`` is kept. Empty: ``None`` (no export)."""
    url = text.strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 -- raises for a port that is no number or out of range
    except ValueError:
        raise ValueError("the port is not a TCP port") from None
    if parts.query or parts.fragment:
        raise ValueError("expected no query string or fragment")
    path = parts.path.rstrip("/")
    if not path.endswith("/v1/traces"):
        path += "/v1/traces"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def parse_headers(text: str) -> dict[str, str]:
    """HTTP headers as ``OTEL_EXPORTER_OTLP_HEADERS`` writes them: ``name=value`` pairs
    separated by commas, values percent-decoded (``Authorization=Bearer%20abc``). Errors
    never quote the text (it usually holds a credential)."""
    headers: dict[str, str] = {}
    for number, item in enumerate(text.split(","), 1):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip(), unquote(value.strip())
        if not sep or not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"item {number} is no name=value pair with a valid header name")
        if not (value.isascii() and value.isprintable()):
            raise ValueError(f"the value of item {number} is not printable ASCII")
        headers[name] = value
    return headers


def parse_names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (``client_secret, pin``); empty parts are ignored."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _byte_count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be 0 or more bytes")
    return value


LOG_FORMATS = ("text", "json")


def parse_log_format(text: str) -> str | None:
    """``text`` or ``json`` (any case); empty: unset."""
    word = text.strip().lower()
    if not word:
        return None
    if word not in LOG_FORMATS:
        raise ValueError(f"expected one of {', '.join(LOG_FORMATS)}")
    return word


def _text(text: str) -> str | None:
    return text or None


def _not(parse: Callable[[str], bool | None]) -> Callable[[str], bool | None]:
    def inverted(text: str) -> bool | None:
        value = parse(text)
        return None if value is None else not value

    return inverted


@dataclasses.dataclass(frozen=True)
class Variable:
    """One environment variable: the setting it fills (``field``, dotted for a section;
    ``None`` for the CLI's client variables, which are no server setting) and its parser
    (``None`` from the parser: the variable counts as unset)."""

    name: str
    field: str | None
    parse: Callable[[str], Any] = _text
    # Its value is never shown in an error (it may hold a credential).
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("RUNTREE_DATABASE_URL", "database_url"),
    Variable("RUNTREE_HOST", "host"),
    Variable("RUNTREE_PORT", "port"),
    Variable("RUNTREE_WORKERS", "workers"),
    Variable("RUNTREE_HEARTBEAT_S", "heartbeat_s"),
    Variable("RUNTREE_MAX_BODY_BYTES", "max_body_bytes"),
    Variable("RUNTREE_NO_AUTH", "auth", _not(parse_flag)),
    Variable("RUNTREE_ADMIN_KEY_FILE", "admin_key_file"),
    # The key that encrypts secrets at rest (runtree.store.master_key): never a field of the
    # settings object, so that it appears in no repr or dump; read where keys are loaded.
    Variable("RUNTREE_SECRET_KEY", None, lambda text: text.strip() or None),
    Variable("RUNTREE_SECRET_KEY_FILE", "secret_key_file"),
    Variable("RUNTREE_WEBHOOK_MAX_BODY_BYTES", "webhook_max_body_bytes"),
    Variable("RUNTREE_METRICS_PUBLIC", "metrics_public", parse_flag),
    Variable("RUNTREE_LOG_FORMAT", "log_format", parse_log_format),
    Variable("RUNTREE_OTLP_ENDPOINT", "otlp_endpoint", parse_otlp_endpoint),
    Variable("RUNTREE_OTLP_HEADERS", "otlp_headers", parse_headers, secret=True),
    Variable("RUNTREE_OTLP_TIMEOUT", "otlp_timeout_s"),
    Variable("RUNTREE_OTLP_BACKLOG", "otlp_backlog"),
    Variable("RUNTREE_RETENTION", "retention", parse_flag),
    Variable("RUNTREE_RETENTION_INTERVAL_S", "retention_interval_s"),
    Variable("RUNTREE_RETENTION_BATCH_ROWS", "retention_batch_rows"),
    Variable("RUNTREE_SANDBOX", "sandbox", parse_flag),
    Variable("RUNTREE_SANDBOX_DIR", "sandbox_host.state_dir"),
    Variable("RUNTREE_SANDBOX_UID_BASE", "sandbox_host.uid_base"),
    Variable("RUNTREE_SANDBOX_DISK_MB", "sandbox_host.disk_mb"),
    Variable("RUNTREE_SANDBOX_NICE", "sandbox_host.nice"),
    Variable("RUNTREE_SANDBOX_NAMESPACES", "sandbox_host.namespaces", parse_flag),
    Variable("RUNTREE_SANDBOX_CGROUPS", "sandbox_host.cgroups", parse_flag),
    Variable("RUNTREE_NETWORK_PORTS", "sandbox_host.network_ports", parse_ports),
    Variable("RUNTREE_RUNTIME_PYTHON", "sandbox_host.python"),
    # Read inside the worker by the tracking runtime itself (standard library only, no
    # settings object there): top-level packages whose own reducers capture may run.
    Variable("RUNTREE_CAPTURE_REDUCER_MODULES", None),
    Variable("RUNTREE_TRACKING_RUNTIME", None),  # auto | c | python: which hooks record
    # What runs get from the outside world (README, "Deterministic replay"): read by the
    # runners that build jobs (server and CLI alike), with :func:`environment_value`.
    Variable("RUNTREE_RECORD_WORLD", None, parse_flag),
    Variable("RUNTREE_RECORD_HTTP_MAX_BYTES", None, lambda text: _byte_count(text)),
    Variable("RUNTREE_REDACT_FIELDS", None, lambda text: parse_names(text)),
    # The CLI as a client of a server (``--server``): read with :func:`environment_value`.
    Variable("RUNTREE_URL", None),
    Variable("RUNTREE_API_KEY", None, lambda text: text.strip() or None),
)
_BY_NAME = {variable.name: variable for variable in VARIABLES}


def environment_value(name: str) -> Any:
    """The parsed value of one registered variable, or ``None`` when it is unset (or empty);
    :class:`~runtree.errors.SettingError` when its text cannot be parsed."""
    variable = _BY_NAME[name]
    text = os.environ.get(name)
    if text is None:
        return None
    try:
        return variable.parse(text)
    except ValueError as error:
        shown = "(not shown: it may hold a credential)" if variable.secret else text
        raise SettingError(name, shown, str(error)) from None


def environment_values() -> dict[str, Any]:
    """The server settings the environment sets, as nested field values."""
    values: dict[str, Any] = {}
    for variable in VARIABLES:
        if variable.field is None:
            continue
        value = environment_value(variable.name)
        if value is None:
            continue
        section, _, field = variable.field.rpartition(".")
        (values.setdefault(section, {}) if section else values)[field] = value
    return values
