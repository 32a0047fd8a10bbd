"""Steps: one recorded call each, and the aggregates that stand for calls past the budget.

The runtime hooks (:mod:`.runtime`) create and finish steps; ``frame`` ties a running step to
the frame of its call. The raw fields hold snapshots (see :mod:`.capture`); the read-side properties (``inputs``,
``output``, ``error`` ...) realize them on first access.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any

from . import capture
from .meta import BOUND_FIRST, FILENAME, FLAGS, GENERATOR, LINENO, PARAMS, QUALNAME, VERSION

if TYPE_CHECKING:
    from .recording import Recording

RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
INTERRUPTED = "interrupted"

# Frames of suspended-or-running instrumented generators -> their step (see runtime.on_resume).
generator_steps: dict[types.FrameType, Step] = {}


class Aggregate:
    """Calls of one function past the step budget or depth, under their nearest recorded step."""

    __slots__ = ("active", "count", "errors", "meta", "total_ns")

    def __init__(self, meta: Any) -> None:
        self.meta = meta
        self.count = 0
        self.errors = 0
        self.total_ns = 0
        self.active = 0  # calls in progress: time is added by the outermost one only

    @property
    def name(self) -> str:
        return str(self.meta[QUALNAME])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "total_ns": self.total_ns,
            "errors": self.errors,
        }


class Step:
    """One call of an instrumented function in a recording.

    Hot fields are set by :func:`runtree.tracking.runtime.on_enter`; the rest exist only when
    there is something to say (an error, printed text, aggregates ...).
    """

    __slots__ = (
        "_error",
        "_first_yield",
        "_inputs",
        "_output",
        "_realized",
        "aggregates",
        "depth",
        "duration_ns",
        "frame",
        "id",
        "inputs_snapshot",
        "meta",
        "output_snapshot",
        "parent",
        "recording",
        "resumer",
        "self_type",
        "status",
        "stdout",
        "stdout_dropped",
        "t0",
        "warnings",
        "yields",
    )

    recording: Recording
    meta: Any
    parent: Step | None
    frame: types.FrameType | None

    def record_error(self, exc: BaseException) -> None:
        """Keep the type, message and this step's part of the traceback of ``exc``."""
        rec = self.recording
        tb = exc.__traceback__
        # The same exception passing up through several steps: each keeps only its own part of
        # the traceback (down to the step it came from), so a deep failure costs O(depth).
        previous = rec.exceptions.get(id(exc))
        stop, child = (previous[1], previous[2]) if previous and previous[0] is exc else (None, None)
        frames: list[tuple[types.CodeType, int]] = []
        head = tb
        while tb is not None and tb is not stop:
            frames.append((tb.tb_frame.f_code, tb.tb_lineno))
            tb = tb.tb_next
        rec.exceptions[id(exc)] = (exc, head, self)
        self._error = (type(exc), _exception_message(exc), frames, child)

    def warn(self, message: str) -> None:
        """Attach a tracking warning (something runtree could not record)."""
        try:
            self.warnings.append(message)
        except AttributeError:
            self.warnings = [message]

    # --- read side ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The qualified name of the function, as in ``Class.method`` or ``f.<locals>.g``."""
        return "<recording>" if self.meta is None else str(self.meta[QUALNAME])

    @property
    def filename(self) -> str | None:
        return None if self.meta is None else str(self.meta[FILENAME])

    @property
    def lineno(self) -> int | None:
        return None if self.meta is None else int(self.meta[LINENO])

    @property
    def version(self) -> Any:
        return None if self.meta is None else self.meta[VERSION]

    @property
    def is_generator(self) -> bool:
        return self.meta is not None and bool(self.meta[FLAGS] & GENERATOR)

    @property
    def parent_id(self) -> int | None:
        parent = self.parent
        return None if parent is None else parent.id

    @property
    def sequence(self) -> int:
        """Position in call order (1-based); equal to ``id`` within one recording."""
        return int(self.id)

    @property
    def started_at_ns(self) -> int:
        """Wall-clock start, nanoseconds since the epoch."""
        rec = self.recording
        return int(rec.wall_start_ns + (self.t0 - rec.perf_start_ns))

    @property
    def inputs(self) -> dict[str, capture.Captured]:
        """Arguments bound by parameter name (defaults, ``*args`` and ``**kwargs`` included)."""
        self._realize()
        return dict(self._inputs)

    @property
    def output(self) -> capture.Captured | None:
        """The return value (for generators: the ``return`` value, if any)."""
        self._realize()
        return self._output

    @property
    def first_yield(self) -> capture.Captured | None:
        self._realize()
        return self._first_yield

    @property
    def error(self) -> dict[str, Any] | None:
        """``{"type", "message", "traceback": [frames], "from_step"}`` or ``None``."""
        try:
            exc_type, message, _frames, child = self._error
        except AttributeError:
            return None
        return {
            "type": _type_name(exc_type),
            "message": message,
            "traceback": self.recording.traceback_of(self),
            "from_step": None if child is None else child.id,
        }

    @property
    def printed(self) -> str:
        """What the call printed while it was the innermost step (capped)."""
        try:
            return "".join(self.stdout)
        except AttributeError:
            return ""

    def _realize(self) -> None:
        try:
            if self._realized:
                return
        except AttributeError:
            pass
        policy = self.recording.policy
        params: tuple[str, ...] = self.meta[PARAMS] if self.meta is not None else ()
        inputs: dict[str, capture.Captured] = {}
        names = params
        if self.meta is not None and self.meta[FLAGS] & BOUND_FIRST and params:
            self_type = getattr(self, "self_type", None)
            preview = {"__type__": _type_name(self_type) if self_type else "?", "bound": True}
            inputs[params[0]] = capture.Captured(preview=preview, size=0, format="none")
            names = params[1:]
        snap = getattr(self, "inputs_snapshot", ())
        for name, value in zip(names, capture.realize(snap, len(names), policy), strict=False):
            inputs[name] = _redacted(value) if policy.is_secret(name) else value
        self._inputs = inputs
        out = getattr(self, "output_snapshot", None)
        self._output = None if out is None else capture.realize(out, 1, policy)[0]
        first = getattr(self, "_first_yield", None)
        if first is not None and not isinstance(first, capture.Captured):
            self._first_yield = capture.realize(first, 1, policy)[0]
        elif first is None:
            self._first_yield = None
        self._realized = True

    def to_dict(self, *, include_blobs: bool = False) -> dict[str, Any]:
        """The JSON shape of a step (blobs, when included, stay ``bytes``)."""
        output = self.output
        first = self.first_yield
        data: dict[str, Any] = {
            "id": self.id,
            "parent_id": self.parent_id,
            "sequence": self.sequence,
            "depth": self.depth,
            "name": self.name,
            "filename": self.filename,
            "lineno": self.lineno,
            "version": self.version,
            "status": self.status,
            "started_at_ns": self.started_at_ns,
            "duration_ns": getattr(self, "duration_ns", None),
            "inputs": {k: v.to_dict(include_blob=include_blobs) for k, v in self.inputs.items()},
            "output": None if output is None else output.to_dict(include_blob=include_blobs),
            "error": self.error,
            "stdout": self.printed,
            "stdout_truncated": getattr(self, "stdout_dropped", 0) > 0,
            "warnings": list(getattr(self, "warnings", ())),
            "aggregates": [a.to_dict() for a in getattr(self, "aggregates", {}).values()],
        }
        if self.is_generator:
            data["generator"] = {
                "yielded": getattr(self, "yields", 0),
                "first": None if first is None else first.to_dict(include_blob=include_blobs),
            }
        return data

    def __repr__(self) -> str:
        status = getattr(self, "status", "?")
        return f"<Step {getattr(self, 'id', None)} {self.name} {status}>"


class AggregatedCall:
    """One call past the budget or depth: counted and timed under its anchor, not recorded."""

    __slots__ = ("agg", "anchor", "failed", "frame", "meta", "parent", "recording", "t0")

    frame: types.FrameType | None


def _redacted(value: capture.Captured) -> capture.Captured:
    return capture.Captured(preview=capture.REDACTED, size=value.size, format="none", redacted=True)


def _exception_message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


def _type_name(kind: type | None) -> str:
    if kind is None:
        return "?"
    module = getattr(kind, "__module__", "builtins")
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
