"""Deploying functions: check, analyze and store a new immutable version."""

from __future__ import annotations

import hashlib
import json
import keyword
from typing import Any

from pydantic import ValidationError

from ..errors import (
    InstrumentError,
    InvalidName,
    InvalidSettings,
    SourceCheckFailed,
    SourceTooComplex,
    SourceTooLarge,
)
from ..instrument.isolated import default_checker
from ..models import DeployResult
from ..settings import VersionSettings
from ..store import Store

MAX_SOURCE_BYTES = 1024 * 1024
MAX_NAME_LENGTH = 100


def validate_name(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        raise InvalidName(field, str(value), "must be a Python identifier (letters, digits, _)")
    if keyword.iskeyword(value):
        raise InvalidName(field, value, "is a Python keyword")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidName(field, value, f"is longer than {MAX_NAME_LENGTH} characters")
    if value.startswith("__"):
        raise InvalidName(field, value, "must not start with two underscores")
    return value


def make_settings(**values: Any) -> VersionSettings:
    given = {k: v for k, v in values.items() if v is not None}
    try:
        return VersionSettings(**given)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise InvalidSettings(field, first["msg"]) from None


def content_hash(source: str, settings: VersionSettings) -> str:
    canonical = json.dumps({"source": source, "settings": settings.stored()}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


MAX_DESCRIPTION = 300


def docstring_summary(docstring: str | None) -> str | None:
    """A function's description from its entry point's docstring: the first paragraph, on
    one line, at most 300 characters; ``None`` without a docstring."""
    if not docstring:
        return None
    paragraph = docstring.strip().split("\n\n", 1)[0]
    text = " ".join(paragraph.split())
    if len(text) > MAX_DESCRIPTION:
        text = text[: MAX_DESCRIPTION - 1].rstrip() + "…"
    return text or None


def _described_by_docstring(
    store: Store, namespace: str, name: str, docstring: str | None
) -> str | None:
    """The description a deploy without one sets: the docstring's summary, unless the
    function's description was given explicitly (it differs from what the latest version's
    docstring says) -- that one is kept (``None``: unchanged)."""
    summary = docstring_summary(docstring)
    if summary is None:
        return None
    function = store.get_function(namespace, name)
    if function is None or function.description is None:
        return summary
    latest = store.get_version(namespace, name)
    previous = None if latest is None else (latest.signature or {}).get("docstring")
    return summary if function.description == docstring_summary(previous) else None


def deploy(
    store: Store,
    namespace: str,
    name: str,
    source: str,
    *,
    settings: VersionSettings | None = None,
    description: str | None = None,
    created_by: str | None = None,
    known_functions: frozenset[str] = frozenset(),
    make_current: bool = True,
) -> DeployResult:
    """Store ``source`` as the next version of ``namespace/name`` (or return the identical
    latest one). The function's description becomes ``description`` when given; else the
    first paragraph of the entry point's docstring, unless a description was given before.
    Raises :class:`InstrumentError` (with line and column) for code that cannot be compiled
    or lacks the entry point, :class:`SourceTooLarge`, :class:`SourceTooComplex` (too many
    syntax-tree nodes) and :class:`SourceCheckFailed` (the checks passed their CPU or memory
    limit); nothing is stored then. Without ``make_current`` the version is stored but the
    current version stays (unless the function had none): see :mod:`.shadow`."""
    validate_name("namespace", namespace)
    validate_name("name", name)
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        raise SourceTooLarge(size, MAX_SOURCE_BYTES)
    settings = settings or VersionSettings()
    filename = f"{namespace}/{name}.py"
    # Parsing, instrumenting and analyzing run in a worker process under CPU and memory
    # limits (see runtree.instrument.isolated): hostile source costs that process, not this.
    checked = default_checker().check(source, filename, name)
    own = set(checked.functions)
    dependencies = [n for n in checked.free_names if n not in own]
    # A free name that names another function of the namespace (deployed already, or in the
    # same batch: ``known_functions``) is a call, not a problem; any other undefined name --
    # the blog's `order` -- stays a warning.
    known = known_functions | {f.name for f in store.list_functions(namespace)}
    warnings = [
        w
        for w in checked.warnings
        if not (
            w["kind"] == "UndefinedName"
            and w["message"].split("'")[1:2]
            and w["message"].split("'")[1] in known
        )
    ]
    version, created = store.deploy_version(
        namespace,
        name,
        source=source,
        settings=settings.stored(),
        sha256=content_hash(source, settings),
        warnings=warnings,
        dependencies=dependencies,
        signature=checked.signature,
        description=description
        if description is not None
        else _described_by_docstring(store, namespace, name, checked.signature.get("docstring")),
        created_by=created_by,
        make_current=make_current,
    )
    now_current = None if make_current else store.get_version(namespace, name)
    current = make_current or (now_current is not None and now_current.number == version.number)
    return DeployResult(version=version, created=created, current=current)


__all__ = [
    "DeployResult",
    "InstrumentError",
    "InvalidName",
    "InvalidSettings",
    "SourceCheckFailed",
    "SourceTooComplex",
    "SourceTooLarge",
    "VersionSettings",
    "content_hash",
    "deploy",
    "docstring_summary",
    "make_settings",
    "validate_name",
]
