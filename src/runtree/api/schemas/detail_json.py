"""The :class:`~.executions.ExecutionDetail` document of an execution, serialized without a
model per step.

Opening an execution returns every step with its captured values: up to the whole step
budget. Validating a :class:`~.executions.StepOut` per step cost more than reading the steps
(issue #17: 10,000 steps), so each step's document is built here as the plain dict the model
serializes to, and the whole is serialized by pydantic's own JSON encoder
(``pydantic_core.to_json``, the encoder of ``model_dump_json``): the same bytes.

The direct build covers what the store gives for valid steps, value by value with exact types
(an ``int`` is an ``int``, not a ``bool``, a float or a numeric string). A step with anything
else in it -- a value the model would coerce or reject, a malformed error or aggregate row --
is built by :class:`~.executions.StepOut` itself, so every step reads as the model path gives
it. ``tests/api/test_detail_json.py`` compares both on every kind of step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pydantic_core

from ...models import ExecutionRecord, StepRecord, StepStatus
from .executions import StepOut, execution_out


class _Unusual(Exception):
    """A value outside the shapes built directly: the step goes through the model."""


def execution_detail_json(record: ExecutionRecord, steps: Sequence[bytes]) -> bytes:
    """The serialized :class:`~.executions.ExecutionDetail` of ``record`` and its steps,
    each serialized by :func:`step_json`: byte for byte what
    ``execution_detail(record, records).model_dump_json()`` gives."""
    execution = pydantic_core.to_json(execution_out(record).model_dump(mode="json"))
    # '{"id":...,"shadow_report_id":null}' + ',"steps":[...]}': to_json's compact form
    return b"".join((execution[:-1], b',"steps":[', b",".join(steps), b"]}"))


def step_json(step: StepRecord) -> bytes:
    """The serialized :class:`~.executions.StepOut` of a step. (Serialized one by one, as
    the store reads them, the steps' documents need not be alive all at once: see
    :meth:`runtree.store.Store.map_steps`.)"""
    return pydantic_core.to_json(step_document(step))


def step_document(step: StepRecord) -> dict[str, Any]:
    """The :class:`~.executions.StepOut` document of a step, as ``model_dump(mode="json")``
    gives it."""
    try:
        return _direct(step)
    except _Unusual:
        return StepOut.model_validate(step, from_attributes=True).model_dump(mode="json")


def _direct(step: StepRecord) -> dict[str, Any]:
    parent_id, lineno, version = step.parent_id, step.lineno, step.version
    filename, function, duration_ns = step.filename, step.function, step.duration_ns
    status, stdout_truncated = step.status, step.stdout_truncated
    if not (
        type(step.id) is int
        and (parent_id is None or type(parent_id) is int)
        and type(step.sequence) is int
        and type(step.depth) is int
        and type(step.name) is str
        and (filename is None or type(filename) is str)
        and (lineno is None or type(lineno) is int)
        and (function is None or type(function) is str)
        and (version is None or type(version) is int)
        and type(status) is StepStatus
        and type(step.started_at_ns) is int
        and (duration_ns is None or type(duration_ns) is int)
        and type(step.stdout) is str
        and type(stdout_truncated) is bool
        and type(step.inputs) is dict
    ):
        raise _Unusual
    inputs = {}
    for name, value in step.inputs.items():
        if type(name) is not str:
            raise _Unusual
        inputs[name] = _captured(value)
    output = step.output
    error = step.error
    warnings = step.warnings
    if type(warnings) is not list or not all(type(warning) is str for warning in warnings):
        raise _Unusual
    aggregates = step.aggregates
    generator = step.generator
    kind = step.kind
    io = step.io
    return {
        "id": step.id,
        "parent_id": parent_id,
        "sequence": step.sequence,
        "depth": step.depth,
        "name": step.name,
        "filename": filename,
        "lineno": lineno,
        "function": function,
        "version": version,
        "status": status.value,
        "started_at_ns": step.started_at_ns,
        "duration_ns": duration_ns,
        "inputs": inputs,
        "output": None if output is None else _captured(output),
        "error": None if error is None else _error(error),
        "stdout": step.stdout,
        "stdout_truncated": stdout_truncated,
        "warnings": list(warnings),
        "aggregates": [_aggregate(row) for row in aggregates] if aggregates else [],
        "generator": None if generator is None else _generator(generator),
        "kind": kind,
        "io": None if io is None else _io(io),
    }


def _optional(value: Any, kind: type) -> bool:
    return value is None or type(value) is kind


def _captured(value: Any) -> dict[str, Any]:
    """A :class:`~.executions.CapturedValue` (undeclared keys such as ``blob`` dropped)."""
    if type(value) is not dict or "preview" not in value:
        raise _Unusual
    get = value.get
    size, format_ = get("size"), get("format")
    truncated, redacted = get("truncated", False), get("redacted", False)
    sha256, warning, value_type, length = get("sha256"), get("warning"), get("type"), get("length")
    if not (
        type(size) is int
        and type(format_) is str
        and type(truncated) is bool
        and type(redacted) is bool
        and (sha256 is None or type(sha256) is str)
        and (warning is None or type(warning) is str)
        and (value_type is None or type(value_type) is str)
        and (length is None or type(length) is int)
    ):
        raise _Unusual
    return {
        "preview": value["preview"],
        "size": size,
        "format": format_,
        "truncated": truncated,
        "redacted": redacted,
        "sha256": sha256,
        "warning": warning,
        "type": value_type,
        "length": length,
    }


_ERROR_FIELDS = ("type", "message", "traceback", "step_id", "from_step")
_FRAME_FIELDS = ("filename", "lineno", "name", "line")


def _error(error: Any) -> dict[str, Any]:
    """An :class:`~.executions.ErrorOut`: its fields in order, then its undeclared keys."""
    if type(error) is not dict:
        raise _Unusual
    get = error.get
    type_, message, traceback = get("type"), get("message", ""), get("traceback", [])
    step_id, from_step = get("step_id"), get("from_step")
    if not (
        type(type_) is str
        and type(message) is str
        and type(traceback) is list
        and _optional(step_id, int)
        and _optional(from_step, int)
    ):
        raise _Unusual
    document = {
        "type": type_,
        "message": message,
        "traceback": [_frame(frame) for frame in traceback],
        "step_id": step_id,
        "from_step": from_step,
    }
    return _with_undeclared(document, error)


def _frame(frame: Any) -> dict[str, Any]:
    """A :class:`~.executions.FrameOut`: its fields in order, then its undeclared keys."""
    if type(frame) is not dict:
        raise _Unusual
    get = frame.get
    filename, lineno, name, line = get("filename"), get("lineno"), get("name"), get("line")
    if not (
        _optional(filename, str)
        and _optional(lineno, int)
        and _optional(name, str)
        and _optional(line, str)
    ):
        raise _Unusual
    document = {"filename": filename, "lineno": lineno, "name": name, "line": line}
    return _with_undeclared(document, frame)


def _with_undeclared(document: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """``document`` (the declared fields, in order) followed by ``source``'s other keys, as
    a model that allows extra fields dumps them."""
    if len(source) > len(document) or any(key not in document for key in source):
        document.update((key, value) for key, value in source.items() if key not in document)
    return document


def _aggregate(row: Any) -> dict[str, Any]:
    """An :class:`~.executions.AggregateOut` (undeclared keys dropped)."""
    if type(row) is not dict:
        raise _Unusual
    get = row.get
    name, count, total_ns, errors = get("name"), get("count"), get("total_ns"), get("errors")
    children = get("children", [])
    if not (
        type(name) is str
        and type(count) is int
        and type(total_ns) is int
        and type(errors) is int
        and type(children) is list
    ):
        raise _Unusual
    return {
        "name": name,
        "count": count,
        "total_ns": total_ns,
        "errors": errors,
        "children": [_aggregate(child) for child in children],
    }


def _generator(generator: Any) -> dict[str, Any]:
    """A :class:`~.executions.GeneratorOut` (undeclared keys dropped)."""
    if type(generator) is not dict or "first" not in generator:
        raise _Unusual
    yielded, first = generator.get("yielded"), generator["first"]
    if type(yielded) is not int:
        raise _Unusual
    return {"yielded": yielded, "first": None if first is None else _captured(first)}


def _io(io: Any) -> dict[str, Any]:
    """An :class:`~.executions.IoOut` (undeclared keys dropped)."""
    if type(io) is not dict:
        raise _Unusual
    method, url, status = io.get("method"), io.get("url"), io.get("status")
    if not (type(method) is str and type(url) is str and _optional(status, int)):
        raise _Unusual
    return {"method": method, "url": url, "status": status}
