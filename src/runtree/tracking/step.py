"""Steps: the read side of a recorded call.

The hot path writes raw records (:mod:`.records`); a :class:`Step` is a view of one of them,
made when someone reads the recording. It always shows the record's latest state (a running
step that finishes is seen finished), and it realizes captured values -- previews, serialized
copies, redaction -- on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import capture
from .meta import BOUND_FIRST, FILENAME, FLAGS, GENERATOR, LINENO, PARAMS, QUALNAME, VERSION
from .records import (
    COMPLETED,
    FAILED,
    INTERRUPTED,
    R_DEPTH,
    R_DURATION,
    R_EXTRA,
    R_ID,
    R_INPUTS,
    R_META,
    R_OUTPUT,
    R_PARENT,
    R_STATUS,
    R_T0,
    RUNNING,
    Aggregate,
)
from .value_digest import MAX_HIDDEN_DIGESTS, hidden_digests

if TYPE_CHECKING:
    from .recording import Recording

__all__ = ["COMPLETED", "FAILED", "INTERRUPTED", "RUNNING", "Aggregate", "Step"]


class Step:
    """One call of an instrumented function in a recording (fields as in docs/design.md, "step")."""

    __slots__ = ("_cache", "id", "recording")

    def __init__(self, recording: Recording, step_id: int) -> None:
        self.recording = recording
        self.id = step_id
        self._cache: tuple[Any, ...] | None = None  # realized values of a finished record

    @property
    def _record(self) -> Any:
        return self.recording.records[self.id]

    # --- identity and place in the tree ---------------------------------------------------

    @property
    def meta(self) -> Any:
        return self._record[R_META]

    @property
    def name(self) -> str:
        """The qualified name of the function, as in ``Class.method`` or ``f.<locals>.g``."""
        return str(self.meta[QUALNAME])

    @property
    def filename(self) -> str:
        return str(self.meta[FILENAME])

    @property
    def lineno(self) -> int:
        return int(self.meta[LINENO])

    @property
    def version(self) -> Any:
        return self.meta[VERSION]

    @property
    def is_generator(self) -> bool:
        return bool(self.meta[FLAGS] & GENERATOR)

    @property
    def parent_id(self) -> int | None:
        parent = self._record[R_PARENT]
        if parent is None or isinstance(parent, int):
            return parent
        return parent[R_ID] or None

    @property
    def sequence(self) -> int:
        """Position in call order (1-based); equal to ``id`` within one recording."""
        return self.id

    @property
    def depth(self) -> int:
        return int(self._record[R_DEPTH])

    # --- timing and status -----------------------------------------------------------------

    @property
    def status(self) -> str:
        return str(self._record[R_STATUS])

    @property
    def duration_ns(self) -> int | None:
        record = self._record
        return int(record[R_DURATION]) if type(record) is tuple else None

    @property
    def started_at_ns(self) -> int:
        """Wall-clock start, nanoseconds since the epoch."""
        rec = self.recording
        return int(rec.wall_start_ns + (self._record[R_T0] - rec.perf_start_ns))

    # --- what happened -------------------------------------------------------------------------

    @property
    def _extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = self._record[R_EXTRA] or {}
        return extra

    @property
    def inputs(self) -> dict[str, capture.Captured]:
        """Arguments bound by parameter name (defaults, ``*args`` and ``**kwargs`` included)."""
        return dict(self._realized()[0])

    @property
    def output(self) -> capture.Captured | None:
        """The return value (for generators: the ``return`` value, if any)."""
        return self._realized()[1]  # type: ignore[no-any-return]

    @property
    def first_yield(self) -> capture.Captured | None:
        return self._realized()[2]  # type: ignore[no-any-return]

    @property
    def yields(self) -> int:
        return int(self._extra.get("yields", 0))

    @property
    def aggregates(self) -> dict[Any, Aggregate]:
        """Calls past the budget made under this step, per function."""
        rows = self._extra.get("aggregates", {})
        return {key: row for key, row in rows.items() if not row.is_empty()}

    @property
    def warnings(self) -> list[str]:
        return list(self._extra.get("warnings", ()))

    @property
    def printed(self) -> str:
        """What the call printed while it was the innermost step (capped)."""
        return "".join(self._extra.get("stdout", ()))

    @property
    def stdout_truncated(self) -> bool:
        return bool(self._extra.get("stdout_dropped", 0))

    @property
    def error(self) -> dict[str, Any] | None:
        """``{"type", "message", "traceback": [frames], "from_step"}`` or ``None``."""
        error = self._extra.get("error")
        if error is None:
            return None
        exc_type, message, _frames, child_id = error
        return {
            "type": _type_name(exc_type),
            "message": message,
            "traceback": self.recording.traceback_of(self.id),
            "from_step": child_id,
        }

    def _realized(self) -> tuple[Any, ...]:
        if self._cache is not None:
            return self._cache
        record = self._record
        rec = self.recording
        policy = rec.policy
        meta = record[R_META]
        params: tuple[str, ...] = meta[PARAMS]
        extra = record[R_EXTRA] or {}
        inputs: dict[str, capture.Captured] = {}
        names = params
        if meta[FLAGS] & BOUND_FIRST and params:
            self_type = extra.get("self_type")
            preview = {"__type__": _type_name(self_type), "bound": True}
            inputs[params[0]] = capture.Captured(preview=preview, size=0, format="none")
            names = params[1:]
        values = capture.realize(record[R_INPUTS], len(names), policy)
        for name, value in zip(names, values, strict=False):
            inputs[name] = _redacted(name, value) if policy.is_secret(name) else value
        output = capture.realize_one(record[R_OUTPUT], policy)
        first_yield = capture.realize_one(extra.get("first_yield", capture.NOTHING), policy)
        realized = (inputs, output, first_yield)
        if type(record) is tuple:
            self._cache = realized
        return realized

    def to_dict(self, *, include_blobs: bool = False) -> dict[str, Any]:
        """The JSON shape of a step. ``include_blobs``: the shape sent to the server, with
        each value's serialized original (``bytes``) and the prehashes of its redacted
        scalars (``hidden``, for the value index: never shown or exported)."""
        inputs, output, first = self._realized()
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
            "duration_ns": self.duration_ns,
            "inputs": {
                k: v.to_dict(include_blob=include_blobs, include_hidden=include_blobs)
                for k, v in inputs.items()
            },
            "output": None
            if output is None
            else output.to_dict(include_blob=include_blobs, include_hidden=include_blobs),
            "error": self.error,
            "stdout": self.printed,
            "stdout_truncated": self.stdout_truncated,
            "warnings": self.warnings,
            "aggregates": [a.to_dict() for a in self.aggregates.values()],
            "generator": None,
        }
        io = self._extra.get("io")
        if io is not None:  # an outbound request (see io_steps.py)
            data["kind"] = "io"
            data["io"] = dict(io)
        if self.is_generator:
            data["generator"] = {
                "yielded": self.yields,
                "first": None
                if first is None
                else first.to_dict(include_blob=include_blobs, include_hidden=include_blobs),
            }
        return data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Step) and other.recording is self.recording and other.id == self.id

    def __hash__(self) -> int:
        return hash((id(self.recording), self.id))

    def __repr__(self) -> str:
        return f"<Step {self.id} {self.name} {self.status}>"


def _redacted(name: str, value: capture.Captured) -> capture.Captured:
    """An input whose parameter is a secret: shown as :data:`~.capture.REDACTED`, its
    scalars kept only as prehashes for the value index."""
    found = (*hidden_digests([(name, value.preview)]), *value.hidden)
    hidden = tuple(dict.fromkeys(found))[:MAX_HIDDEN_DIGESTS]
    return capture.Captured(
        preview=capture.REDACTED, size=value.size, format="none", redacted=True, hidden=hidden
    )


def _type_name(kind: type | None) -> str:
    if kind is None:
        return "?"
    module = getattr(kind, "__module__", "builtins")
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
