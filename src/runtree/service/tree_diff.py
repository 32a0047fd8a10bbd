"""Structural diff of two runs: their step trees aligned call by call. Pure (no I/O).

**Alignment.** Two steps can only be paired when their parents are paired (roots with
roots), so a pair always has the same *call path* -- the chain of function names from the
root. Siblings are matched by sequence alignment (:mod:`.alignment`): first by name and
inputs, then by name alone, so one extra loop iteration is one inserted step and not every
later step changed. The walk is iterative (an explicit stack), so a 10,000-deep recursion
costs what a flat loop does; steps the alignment leaves unmatched are reported with their
whole subtrees as only in ``a`` (``removed``) or only in ``b`` (``added``).

**What differs in a pair** (times never make a pair "changed": they always differ):
status; error appeared, disappeared or changed (type and message); the inputs whose
recorded values differ (by preview, or by ``sha256`` when both were truncated); the output;
the version, when the same function ran in two versions; aggregated calls by their counts.
Values are compared as recorded, so redacted parts (``[redacted]``) are never compared or
shown: two runs with different secrets look the same there, and a key whose value is
redacted on either side is marked ``redacted``.

**First divergence** (where a view opens): the innermost step on the chain of steps where
one run failed and the other did not; else the first pair (in call order) whose inputs
differ; else the first difference of any kind; ``None`` when the runs match.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any, Literal

from ..models import StepRecord, StepStatus
from .alignment import align
from .explore import self_times

Kind = Literal["same", "changed", "added", "removed"]
FAILED = frozenset({StepStatus.FAILED, StepStatus.INTERRUPTED})


# Not frozen: a frozen dataclass pays an object.__setattr__ per field when created, and a
# comparison creates tens of thousands. Treat it as read-only.
@dataclasses.dataclass(slots=True)
class Side:
    """One run's step in a row."""

    id: int
    status: str
    function: str | None
    version: int | None
    duration_ns: int | None
    self_ns: int | None
    error: str | None  # "Type: message"


@dataclasses.dataclass(frozen=True, slots=True)
class ValueChange:
    """One input (by parameter name) whose recorded value differs; ``change`` is ``added``,
    ``removed`` or ``changed``; ``a``/``b`` are the previews (``None`` where absent)."""

    key: str
    change: str
    a: Any
    b: Any
    redacted: bool


@dataclasses.dataclass(frozen=True, slots=True)
class AggregateChange:
    """Aggregated calls (past the step budget) of one name, counted in each run."""

    name: str
    count_a: int
    count_b: int
    errors_a: int
    errors_b: int


# Not frozen: a frozen dataclass pays an object.__setattr__ per field when created, and a
# comparison creates tens of thousands. Treat it as read-only.
@dataclasses.dataclass(slots=True)
class Row:
    """One aligned pair (or an unmatched step), in call order of the merged tree.

    ``parent`` is the row index of the parent pair (``None`` for roots); a row's call path
    is its name preceded by its ancestors' (:meth:`TreeDiff.path`)."""

    index: int
    parent: int | None
    depth: int
    name: str
    kind: Kind
    a: Side | None
    b: Side | None
    status_changed: bool = False
    error: str | None = None  # appeared, disappeared, changed
    inputs: tuple[ValueChange, ...] = ()
    output_changed: bool = False
    version_changed: bool = False
    aggregates: tuple[AggregateChange, ...] = ()

    @property
    def failed_a(self) -> bool:
        return self.a is not None and self.a.status in FAILED

    @property
    def failed_b(self) -> bool:
        return self.b is not None and self.b.status in FAILED

    @property
    def total_ratio(self) -> float | None:
        """``b``'s duration over ``a``'s (``None`` unless both are known and ``a``'s > 0)."""
        if self.a is None or self.b is None:
            return None
        return _ratio(self.a.duration_ns, self.b.duration_ns)

    @property
    def self_ratio(self) -> float | None:
        """``b``'s own time over ``a``'s, as :attr:`total_ratio`."""
        if self.a is None or self.b is None:
            return None
        return _ratio(self.a.self_ns, self.b.self_ns)


def _ratio(a: int | None, b: int | None) -> float | None:
    if a is None or b is None or a <= 0:
        return None
    return b / a


@dataclasses.dataclass(frozen=True, slots=True)
class TreeDiff:
    """The merged tree of two runs (:class:`Row` list in call order), the first divergence
    (a row index, with why: ``failure``, ``inputs``, ``output``, ``status``, ``error``,
    ``version``, ``aggregates``, ``added`` or ``removed``), and counts of rows by kind."""

    rows: list[Row]
    first_divergence: int | None
    reason: str | None
    counts: dict[str, int]

    def path(self, index: int) -> list[str]:
        """The call path of row ``index``: names from the root down to it."""
        names: list[str] = []
        current: int | None = index
        while current is not None:
            row = self.rows[current]
            names.append(row.name)
            current = row.parent
        names.reverse()
        return names

    @property
    def identical(self) -> bool:
        return self.first_divergence is None


def _label(step: StepRecord) -> tuple[str, str]:
    return (step.function or "", step.name)


_SCALARS = (str, int, float, bool, type(None))


def _value_key(captured: dict[str, Any] | None) -> Any:
    """What identifies a recorded value: its sha256 when it was truncated, else its preview
    (redacted parts are already replaced in the preview). Hashable and ordered among keys."""
    if captured is None:
        return ""
    if captured.get("truncated") and captured.get("sha256"):
        return "sha256:" + str(captured["sha256"])
    preview = captured.get("preview")
    if type(preview) in _SCALARS:  # the common case, without serializing
        return f"{type(preview).__name__}:{preview!r}"
    return json.dumps(preview, sort_keys=True, default=str)


def _inputs_key(step: StepRecord) -> str:
    inputs = step.inputs
    if not inputs:
        return ""
    return "\x00".join(f"{k}={_value_key(v)}" for k, v in sorted(inputs.items()))


def _error_text(step: StepRecord) -> str | None:
    if not step.error:
        return None
    return f"{step.error.get('type', 'Error')}: {step.error.get('message', '')}"


def _side(step: StepRecord, own: dict[int, int]) -> Side:
    return Side(
        id=step.id,
        status=str(step.status),
        function=step.function,
        version=step.version,
        duration_ns=step.duration_ns,
        self_ns=own.get(step.id),
        error=_error_text(step),
    )


def _input_changes(a: StepRecord, b: StepRecord) -> tuple[ValueChange, ...]:
    changes: list[ValueChange] = []
    for key in sorted(a.inputs.keys() | b.inputs.keys()):
        va, vb = a.inputs.get(key), b.inputs.get(key)
        redacted = bool((va or {}).get("redacted") or (vb or {}).get("redacted"))
        if va is None or vb is None:
            change = "added" if va is None else "removed"
        elif _value_key(va) != _value_key(vb):
            change = "changed"
        else:
            continue
        changes.append(
            ValueChange(
                key=key,
                change=change,
                a=None if va is None else va.get("preview"),
                b=None if vb is None else vb.get("preview"),
                redacted=redacted,
            )
        )
    return tuple(changes)


def _aggregate_changes(a: StepRecord, b: StepRecord) -> tuple[AggregateChange, ...]:
    def by_name(step: StepRecord) -> dict[str, tuple[int, int]]:
        # Aggregates nest (calls counted under an aggregated call): named by their chain.
        found: dict[str, tuple[int, int]] = {}
        pending = [("", g) for g in step.aggregates]
        while pending:
            prefix, group = pending.pop()
            name = prefix + str(group.get("name"))
            found[name] = (int(group.get("count", 0)), int(group.get("errors", 0)))
            pending.extend((name + " › ", child) for child in group.get("children") or ())
        return found

    ga, gb = by_name(a), by_name(b)
    changes = []
    for name in sorted(ga.keys() | gb.keys()):
        ca, ea = ga.get(name, (0, 0))
        cb, eb = gb.get(name, (0, 0))
        if (ca, ea) != (cb, eb):
            changes.append(AggregateChange(name, ca, cb, ea, eb))
    return tuple(changes)


def _pair_row(
    index: int,
    parent: int | None,
    depth: int,
    a: StepRecord,
    b: StepRecord,
    own_a: dict[int, int],
    own_b: dict[int, int],
    same_inputs: bool,
) -> Row:
    error_a, error_b = _error_text(a), _error_text(b)
    if error_a == error_b:
        error = None
    elif error_a is None:
        error = "appeared"
    elif error_b is None:
        error = "disappeared"
    else:
        error = "changed"
    inputs = () if same_inputs else _input_changes(a, b)
    output_changed = _value_key(a.output) != _value_key(b.output)
    version_changed = a.function == b.function and a.version != b.version
    aggregates = _aggregate_changes(a, b) if a.aggregates or b.aggregates else ()
    status_changed = a.status != b.status
    changed = bool(
        status_changed or error or inputs or output_changed or version_changed or aggregates
    )
    return Row(
        index=index,
        parent=parent,
        depth=depth,
        name=b.name,
        kind="changed" if changed else "same",
        a=_side(a, own_a),
        b=_side(b, own_b),
        status_changed=status_changed,
        error=error,
        inputs=inputs,
        output_changed=output_changed,
        version_changed=version_changed,
        aggregates=aggregates,
    )


def _children(steps: Sequence[StepRecord]) -> dict[int | None, list[StepRecord]]:
    children: dict[int | None, list[StepRecord]] = {}
    for step in sorted(steps, key=lambda s: s.sequence):
        children.setdefault(step.parent_id, []).append(step)
    return children


def diff_trees(steps_a: Sequence[StepRecord], steps_b: Sequence[StepRecord]) -> TreeDiff:
    """Align two runs' steps and say what differs (see the module docstring)."""
    kids_a, kids_b = _children(steps_a), _children(steps_b)
    own_a, own_b = self_times(steps_a), self_times(steps_b)
    # Inputs keys, worked out once per step (for the alignment and to skip equal inputs).
    keys_a: dict[int, str] = {}
    keys_b: dict[int, str] = {}

    def inputs_key(step: StepRecord, cache: dict[int, str]) -> str:
        key = cache.get(step.id)
        if key is None:
            key = cache[step.id] = _inputs_key(step)
        return key

    rows: list[Row] = []
    # Work items: (parent row, depth, step of a or None, step of b or None), in reverse
    # order so that popping yields call order.
    stack: list[tuple[int | None, int, StepRecord | None, StepRecord | None]] = []

    def push_children(
        parent: int | None, depth: int, a: StepRecord | None, b: StepRecord | None
    ) -> None:
        ca = kids_a.get(a.id, []) if a is not None else []
        cb = kids_b.get(b.id, []) if b is not None else []
        if a is None and b is None:  # the roots
            ca, cb = kids_a.get(None, []), kids_b.get(None, [])
        if len(ca) == 1 and len(cb) == 1 and _label(ca[0]) == _label(cb[0]):
            items: list[tuple[StepRecord | None, StepRecord | None]] = [(ca[0], cb[0])]
        elif ca and cb:
            weak_a, weak_b = [_label(s) for s in ca], [_label(s) for s in cb]
            order = align(
                [(*w, inputs_key(s, keys_a)) for w, s in zip(weak_a, ca, strict=True)],
                [(*w, inputs_key(s, keys_b)) for w, s in zip(weak_b, cb, strict=True)],
                weak_a,
                weak_b,
            )
            items = [(None if i is None else ca[i], None if j is None else cb[j]) for i, j in order]
        else:
            items = [(s, None) for s in ca] + [(None, s) for s in cb]
        for sa, sb in reversed(items):
            stack.append((parent, depth, sa, sb))

    push_children(None, 0, None, None)
    while stack:
        parent, depth, a, b = stack.pop()
        index = len(rows)
        if a is not None and b is not None:
            same = inputs_key(a, keys_a) == inputs_key(b, keys_b)
            row = _pair_row(index, parent, depth, a, b, own_a, own_b, same)
        elif a is not None:
            row = Row(index, parent, depth, a.name, "removed", _side(a, own_a), None)
        else:
            assert b is not None
            row = Row(index, parent, depth, b.name, "added", None, _side(b, own_b))
        rows.append(row)
        push_children(index, depth + 1, a, b)
    first, reason = _first_divergence(rows)
    counts = {kind: 0 for kind in ("same", "changed", "added", "removed")}
    for row in rows:
        counts[row.kind] += 1
    return TreeDiff(rows=rows, first_divergence=first, reason=reason, counts=counts)


def _first_divergence(rows: list[Row]) -> tuple[int | None, str | None]:
    failure = next((r for r in rows if r.failed_a != r.failed_b), None)
    if failure is not None:
        # Go down to the innermost step on the chain of steps whose failure differs.
        children: dict[int, list[Row]] = {}
        for row in rows:
            if row.parent is not None:
                children.setdefault(row.parent, []).append(row)
        while True:
            below = [r for r in children.get(failure.index, []) if r.failed_a != r.failed_b]
            if not below:
                return failure.index, "failure"
            failure = below[-1]
    for row in rows:
        if row.inputs:
            return row.index, "inputs"
    for row in rows:
        if row.kind == "same":
            continue
        if row.kind in ("added", "removed"):
            return row.index, row.kind
        for reason, present in (
            ("status", row.status_changed),
            ("error", row.error),
            ("output", row.output_changed),
            ("version", row.version_changed),
            ("aggregates", row.aggregates),
        ):
            if present:
                return row.index, reason
    return None, None
