"""Names on the command line: ``NS/NAME`` (``NAME`` alone is in namespace ``default``) and
execution ids, which may be given as an unambiguous prefix."""

from __future__ import annotations

import string

from ..store import NotFoundError
from .backend_protocol import Backend
from .errors import CliError

DEFAULT_NAMESPACE = "default"
ID_LENGTH = 32
MIN_PREFIX = 4
PAGE = 1000
SHOWN_CANDIDATES = 5


def parse_function(text: str) -> tuple[str, str]:
    """``"ns/name"`` -> ``("ns", "name")``; ``"name"`` -> ``("default", "name")``."""
    namespace, slash, name = text.strip().rpartition("/")
    if not slash:
        namespace = DEFAULT_NAMESPACE
    if "/" in namespace:
        raise CliError(f"invalid function {text!r}: expected NAME or NAMESPACE/NAME")
    from ..service.deploy import validate_name  # imports the store: only when needed

    validate_name("namespace", namespace)
    validate_name("name", name)
    return namespace, name


def normalize_id(text: str) -> str:
    """Lower-case hex without the dashes of the UUID spelling; a usage error otherwise."""
    key = text.strip().lower().replace("-", "")
    if not key or any(c not in string.hexdigits for c in key) or len(key) > ID_LENGTH:
        raise CliError(f"invalid execution id {text!r}: expected up to 32 hex digits")
    return key


def resolve_execution_id(store: Backend, text: str) -> str:
    """The full id of the one execution whose id is or starts with ``text``.

    The store has no prefix lookup, so a prefix is matched by paging through the executions,
    newest first, and stopping once the ids fall below the prefix's range (ids sort by
    creation time, and listings are newest first): fast for recent executions, linear in the
    number of newer ones otherwise.
    """
    key = normalize_id(text)
    if len(key) == ID_LENGTH:
        if store.get_execution(key) is None:
            raise NotFoundError("execution", key)
        return key
    if len(key) < MIN_PREFIX:
        raise CliError(
            f"execution id prefix {text!r} is too short: give at least {MIN_PREFIX} characters"
        )
    lowest = key.ljust(ID_LENGTH, "0")
    matches: list[str] = []
    cursor: str | None = None
    while True:
        page, cursor = store.list_executions(limit=PAGE, cursor=cursor, include_shadow=True)
        for execution in page:
            if execution.id.startswith(key):
                matches.append(execution.id)
            elif execution.id < lowest:
                cursor = None  # older ones all sort below the prefix: nothing more can match
                break
        if cursor is None or len(matches) > SHOWN_CANDIDATES:
            break
    if not matches:
        raise NotFoundError("execution", text.strip())
    if len(matches) > 1:
        shown = matches[:SHOWN_CANDIDATES]
        more = "  ..." if len(matches) > SHOWN_CANDIDATES else None
        raise CliError(
            f"execution id prefix {text!r} is ambiguous; it matches:",
            details=[f"  {match}" for match in shown] + ([more] if more else []),
        )
    return matches[0]
