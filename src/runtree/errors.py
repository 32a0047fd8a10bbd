"""Every error runtree raises on purpose, in one place, each with its HTTP meaning.

All of them derive from :class:`RuntreeError`, so callers can catch the product's errors
without catching unrelated ones. An error the client caused carries the HTTP ``status`` and
the problem ``type`` slug (``https://runtree.dev/problems/<slug>``, RFC 9457) the API answers
with, and :meth:`RuntreeError.problem_members` gives the extension members naming what is at
fault. The API has one handler that reads these (:mod:`runtree.api.problems`); an error
without a ``status`` is the server's own failure and is answered as a generic 500 that never
echoes its text.

A leaf module: the standard library only, so the HTTP client and the sandboxed worker load
it without loading the server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only
    from .models import DeliveryRecord


class RuntreeError(Exception):
    """Base class of every error runtree raises on purpose.

    ``status`` is the HTTP status the API answers with, or ``None`` when the error is not
    the client's doing (the API then answers a generic 500); ``problem`` is the problem type
    slug that goes with it.
    """

    status: int | None = None
    problem: str = "internal-error"

    def problem_members(self) -> dict[str, Any]:
        """The problem document's extension members (``field``, ``line``, ``kind`` ...)."""
        return {}

    def problem_headers(self) -> dict[str, str] | None:
        """Response headers that go with the problem (``WWW-Authenticate``, ``Allow``)."""
        return None


# --- source and input ---------------------------------------------------------------------


class InstrumentError(RuntreeError):
    """The uploaded source cannot be instrumented.

    ``lineno`` and ``col`` are 1-based positions in the user's source (``col`` is 1-based
    too, as editors show it); ``msg`` is a human-readable reason without the position.
    """

    status = 422
    problem = "invalid-code"

    def __init__(self, msg: str, lineno: int, col: int) -> None:
        super().__init__(f"line {lineno}, column {col}: {msg}")
        self.msg = msg
        self.lineno = lineno
        self.col = col

    def problem_members(self) -> dict[str, Any]:
        return {"field": "code", "line": self.lineno, "column": self.col}


@dataclasses.dataclass(frozen=True, slots=True)
class InputProblem:
    """One parameter of the entry point at fault, and why."""

    parameter: str
    message: str


class InputError(RuntreeError):
    """The input does not fit the entry point; ``problems`` names each parameter at fault."""

    status = 422
    problem = "invalid-input"

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.parameter}: {p.message}" for p in problems))

    def problem_members(self) -> dict[str, Any]:
        return {"errors": [{"parameter": p.parameter, "message": p.message} for p in self.problems]}


class InvalidName(RuntreeError):
    """A namespace or function name that is not a Python identifier."""

    status = 422
    problem = "invalid-name"

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(f"invalid {field} {value!r}: {reason}")
        self.field = field
        self.value = value

    def problem_members(self) -> dict[str, Any]:
        return {"field": self.field}


class InvalidSettings(RuntreeError):
    """A version setting out of range; ``field`` names it."""

    status = 422
    problem = "invalid-settings"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def problem_members(self) -> dict[str, Any]:
        return {"field": self.field}


class SourceTooLarge(RuntreeError):
    """The uploaded source is larger than ``limit`` bytes."""

    status = 422
    problem = "source-too-large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"source is {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit

    def problem_members(self) -> dict[str, Any]:
        return {"field": "code", "limit": self.limit}


class SourceTooComplex(RuntreeError):
    """The uploaded source has more syntax-tree nodes than a deploy may check."""

    status = 422
    problem = "source-too-complex"

    def __init__(self, nodes: int, limit: int) -> None:
        super().__init__(
            f"source has more than {limit:,} syntax-tree nodes (the limit); split it up"
        )
        self.nodes = nodes
        self.limit = limit

    def problem_members(self) -> dict[str, Any]:
        return {"field": "code", "limit": self.limit}


class SourceCheckFailed(RuntreeError):
    """Checking the uploaded source passed its CPU, memory or time limit."""

    status = 422
    problem = "source-check-failed"

    def __init__(self, reason: str, cpu_limit_s: int, memory_limit_gib: int) -> None:
        super().__init__(
            f"checking the source was stopped: {reason} (the limits are {cpu_limit_s} s of "
            f"CPU and {memory_limit_gib} GiB of memory)"
        )
        self.cpu_limit_s = cpu_limit_s

    def problem_members(self) -> dict[str, Any]:
        return {"field": "code"}


class JsonTooDeep(RuntreeError):
    """A JSON value nests deeper than ``limit`` levels (see :mod:`runtree.jsonlimits`)."""

    status = 422
    problem = "invalid-request"

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} nests deeper than {limit} levels (the limit for JSON values)")
        self.what = what
        self.limit = limit

    def problem_members(self) -> dict[str, Any]:
        return {"field": self.what, "limit": self.limit}


class InvalidOption(RuntreeError):
    """A key, webhook or schedule cannot be created as asked; ``field`` names the option at
    fault."""

    status = 422
    problem = "invalid-request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def problem_members(self) -> dict[str, Any]:
        return {"field": self.field}


class InvalidKeyRequest(InvalidOption):
    """An API key cannot be created as asked."""


class InvalidWebhook(InvalidOption):
    """A webhook cannot be created as asked."""


class InvalidSchedule(InvalidOption):
    """A schedule cannot be created as asked."""


class UntestableStep(RuntreeError):
    """A test cannot be generated from a recorded call as asked (``runtree test-from``): an
    input that only has a preview, a step still running, a nested function ... ``step``
    names the step (``EXECUTION:STEP``); the message says what and why."""

    status = 422
    problem = "untestable-step"

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step

    def problem_members(self) -> dict[str, Any]:
        return {"step": self.step}


class InvalidRetention(InvalidOption):
    """A retention policy cannot be set as asked."""


# --- access -------------------------------------------------------------------------------


class Unauthenticated(RuntreeError):
    """No API key, or one that is unknown or revoked."""

    status = 401
    problem = "unauthorized"

    def problem_headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(RuntreeError):
    """The key's role or namespace does not allow this. ``permission`` is the
    :class:`runtree.models.Permission` the operation needed."""

    status = 403
    problem = "forbidden"

    def __init__(self, message: str, *, permission: str, namespace: str | None) -> None:
        super().__init__(message)
        self.permission = permission
        self.namespace = namespace


# --- webhooks -----------------------------------------------------------------------------


class MethodNotAllowed(RuntreeError):
    """Webhooks accept POST only."""

    status = 405
    problem = "method-not-allowed"
    allowed = ("POST",)

    def problem_headers(self) -> dict[str, str] | None:
        return {"Allow": ", ".join(self.allowed)}


class DeliveryRejected(RuntreeError):
    """The delivery was refused (recorded as rejected; nothing ran). ``status`` is the HTTP
    status to answer with: 401 for a bad or missing signature."""

    problem = "signature-invalid"

    def __init__(self, message: str, delivery: DeliveryRecord, status: int = 401) -> None:
        super().__init__(message)
        self.delivery = delivery
        self.status = status


class DeliveryInputError(InputError):
    """The body does not fit the function (recorded as rejected; nothing ran)."""

    def __init__(self, problems: list[InputProblem], delivery: DeliveryRecord) -> None:
        super().__init__(problems)
        self.delivery = delivery


# --- the store ----------------------------------------------------------------------------


class StoreError(RuntreeError):
    """Something went wrong in the persistence layer (also: a database that cannot be
    migrated, such as one written by a newer runtree)."""


class NotFoundError(StoreError, LookupError):
    """An operation named a function, version or execution that does not exist.

    ``kind`` is ``"function"``, ``"version"`` or ``"execution"``; ``key`` identifies it.
    """

    status = 404
    problem = "not-found"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} not found: {key}")
        self.kind = kind
        self.key = key

    def problem_members(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key}


class InvalidDataError(StoreError, ValueError):
    """An argument the store cannot accept: an unknown status or trigger, a malformed step
    dict, a name that is not an identifier ..."""

    status = 422
    problem = "invalid-data"


class ConflictError(StoreError):
    """An operation would break a uniqueness rule: a webhook path already in use ...
    ``kind`` names the thing (``"webhook"``), ``key`` its identifying value."""

    status = 409
    problem = "conflict"

    def __init__(self, kind: str, key: str, message: str | None = None) -> None:
        super().__init__(message or f"{kind} already exists: {key}")
        self.kind = kind
        self.key = key

    def problem_members(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key}


class SecretKeyError(StoreError):
    """The key that encrypts secrets at rest is missing, wrong or unusable: an unreadable or
    too widely readable key file, a value that is no key, or stored secrets sealed with a key
    this process does not hold. The message names the key source and what to do. The API
    answers 503: the server is misconfigured, the request was fine."""

    status = 503
    problem = "secret-key-unavailable"


class ShadowNotClean(ConflictError):
    """``promote --require-clean`` refused: the version's latest shadow report is missing,
    compares with a version that is no longer current, has not finished, replayed nothing or
    found differences (``kind`` is ``shadow-report``, ``key`` names the version)."""

    problem = "shadow-not-clean"

    def __init__(self, function: str, number: int, reason: str) -> None:
        super().__init__(
            "shadow-report", f"{function} v{number}", f"{function} v{number}: {reason}"
        )


# --- running code (the server's own failures: no HTTP status) ------------------------------


class SandboxError(RuntreeError, RuntimeError):
    """The sandbox could not be applied: the execution must not run."""


class ZygoteError(RuntreeError, RuntimeError):
    """The zygote could not start a worker."""


class SandboxUnavailable(RuntreeError):
    """Tier 0 cannot be applied here, and the insecure escape was not chosen. ``report`` is
    the probe's :class:`~runtree.execution.sandbox.report.SandboxReport`."""

    def __init__(self, report: Any) -> None:
        self.report = report
        problems = "; ".join(report.problems) or "unknown reason"
        super().__init__(
            f"the sandbox cannot be applied here ({problems}). `runtree doctor` shows the "
            "details (README, Security model: as root after `make runtime` every layer can "
            "be on; a normal user gets tier 0 without uid separation). For local "
            "development only: RUNTREE_SANDBOX=off (`runtree serve --insecure-no-sandbox`, "
            "loopback only)."
        )


class ReplayDivergence(RuntreeError):
    """Raised into a deterministic replay's code when it makes a request its recording does
    not have (another URL, another body, once more than recorded): the replay's first
    divergence (README, "Deterministic replay")."""


class QueueUnavailable(RuntreeError):
    """Queue workers need PostgreSQL (the Procrastinate job queue); SQLite has none."""


class ProtocolViolation(RuntreeError):
    """A worker sent something the worker protocol does not allow (see
    :mod:`runtree.execution.protocol`); the message says what. Ends the execution
    ``crashed``."""


# --- settings -----------------------------------------------------------------------------


class SettingError(RuntreeError, ValueError):
    """An environment variable whose value cannot be read (``name``, the reason why)."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        super().__init__(f"{name}={value!r}: {reason}")
        self.name = name


# --- the edges ----------------------------------------------------------------------------


class CliError(RuntreeError):
    """A problem the CLI reports as ``error: message`` (plus indented detail lines) and exits
    with ``exit_code`` (2, a usage or input error, unless said otherwise)."""

    def __init__(self, message: str, *, details: Sequence[str] = (), exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)
        self.exit_code = exit_code


class RemoteError(RuntreeError):
    """The server refused a request for a reason without a local counterpart; ``status``
    is the HTTP status it answered with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


class ServerUnreachable(RuntreeError):
    """The server could not be reached (or answered something that is not runtree)."""
