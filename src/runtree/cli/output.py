"""Where the CLI writes: rich consoles that degrade to plain text, and JSON documents.

Consoles are created per command (not at import) so they bind to the ``sys.stdout`` of the
moment, which is what test runners swap. When the stream is not a terminal rich writes no ANSI
codes, and the width is raised so that trees and tables never wrap for scripts reading them.
Nothing the user wrote is ever interpreted as rich markup: user data goes through ``Text``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.text import Text

from ..models import ExecutionRecord, StepRecord
from ..timestamps import rfc3339

if TYPE_CHECKING:
    from ..models import FunctionRecord, VersionRecord

# Width for non-terminal output: wide enough that tables and trees do not wrap.
PLAIN_WIDTH = 240


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or exotic streams
        return False


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr): colours on a terminal, plain text otherwise."""
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not _is_terminal(stream) and not os.environ.get("COLUMNS"):
        width = PLAIN_WIDTH
    return Console(file=stream, highlight=False, emoji=False, width=width)


def _default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return rfc3339(value)
    if isinstance(value, bytes | bytearray):  # never expected (no blobs), but never crash
        return f"<{len(value)} bytes>"
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(document: Any, *, indent: int | None = 2) -> str:
    """``document`` (datetimes included) as JSON text."""
    return json.dumps(document, default=_default, indent=indent, ensure_ascii=False)


def execution_json(record: ExecutionRecord) -> dict[str, Any]:
    """An execution as the HTTP API returns it (no database-internal ids)."""
    data = _fields(record, drop=("function_id", "version_id"))
    data["error"] = canonical_error(data["error"])
    return {"id": record.id, "function": record.qualified_name, **data}


_ERROR_ORDER = ("type", "message", "traceback", "step_id", "from_step")


# Left out when null, as the HTTP client leaves them out (the API lists them as null, a
# recorded step error has "from_step": null, an execution's error no "step_id" at all).
_OPTIONAL_ERROR_KEYS = ("step_id", "from_step")


def canonical_error(error: Any) -> Any:
    """An error document with its keys in one order (that of the HTTP API's ``ErrorOut``)
    and without null optional members, so that the JSON printed from a database and from a
    server is the same text."""
    if not isinstance(error, dict):
        return error
    first = {
        key: error[key]
        for key in _ERROR_ORDER
        if key in error and not (key in _OPTIONAL_ERROR_KEYS and error[key] is None)
    }
    return {**first, **{k: v for k, v in error.items() if k not in _ERROR_ORDER}}


def function_json(record: FunctionRecord) -> dict[str, Any]:
    """A function as the HTTP API lists it."""
    return {"function": record.qualified_name, **_fields(record, drop=("id",))}


def version_json(record: VersionRecord) -> dict[str, Any]:
    """A version as the HTTP API lists it (without its source)."""
    data = _fields(record, drop=("id", "function_id", "source"))
    return {"function": record.qualified_name, **data}


def record_json(record: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's fields as a JSON-ready dict (datetimes stay objects: :func:`to_json`)."""
    return _fields(record, drop)


def compact_json_text(value: Any) -> Text:
    """One-line JSON as plain (never markup) text."""
    return Text(to_json(value, indent=None))


def _fields(record: Any, drop: tuple[str, ...]) -> dict[str, Any]:
    return {
        field.name: getattr(record, field.name)
        for field in dataclasses.fields(record)
        if field.name not in drop
    }


def echo_json(document: Any) -> None:
    """Print ``document`` as indented JSON on stdout, without rich (no wrapping, no codes)."""
    sys.stdout.write(to_json(document) + "\n")
    sys.stdout.flush()


def execution_document(execution: ExecutionRecord, steps: Iterable[StepRecord]) -> dict[str, Any]:
    """An execution with its flat steps (parent ids, no blobs), in the shape of the HTTP
    API's ``GET /executions/{id}``: ``show --json``, ``run --json``."""
    documents = []
    for step in steps:
        document = step.to_dict()
        document["error"] = canonical_error(document["error"])
        documents.append(document)
    return {**execution_json(execution), "steps": documents}
