"""How much of an execution's tree ``runtree run`` and ``runtree show`` print.

A small tree is printed whole, in the layout of the plain text tree (``runtree tree``). A
large one (more than :data:`LARGE_TREE` steps) gets a summary -- its size, its depth, the
calls per function -- and only its top :data:`SUMMARY_DEPTH` levels, with long runs of calls
under one step shortened to their first and last few and a count of the rest. The failing
(or, for a run that was stopped, the interrupted) path is always shown in full, however deep.
``--depth N`` sets the levels shown, ``--full`` prints every step, ``--no-tree`` none.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.text import Text

from ..models import StepRecord
from ..tracking.render import format_duration, short_name
from .errors import CliError
from .status import STATUS_STYLES, status_text

LARGE_TREE = 60  # steps; more, and only a summary and the top of the tree are shown
SUMMARY_DEPTH = 3  # levels under the root shown in a summary
SIBLINGS_HEAD = 5  # of a long run of calls under one step, the first few shown ...
SIBLINGS_TAIL = 2  # ... and the last few; those between are counted on one line
TOP_FUNCTIONS = 5  # functions listed in a summary


@dataclasses.dataclass(frozen=True, slots=True)
class TreeOptions:
    """The tree options of ``run`` and ``show``: ``depth`` levels under the root (``None``:
    all of a small tree, :data:`SUMMARY_DEPTH` of a large one), ``full`` every step,
    ``show`` false for no tree at all."""

    depth: int | None = None
    full: bool = False
    show: bool = True


DepthOption = Annotated[
    int | None,
    typer.Option(
        "--depth",
        metavar="N",
        min=0,
        help=f"Show N levels of steps under the root [default: all, or {SUMMARY_DEPTH} for a "
        f"tree of more than {LARGE_TREE} steps]; the failing path is always shown",
    ),
]
FullOption = Annotated[bool, typer.Option("--full", help="Show every step, however large the tree")]
NoTreeOption = Annotated[
    bool, typer.Option("--no-tree", help="Leave the tree out (its summary stays)")
]


def tree_options(depth: int | None, full: bool, no_tree: bool) -> TreeOptions:
    """The options, checked: ``--full`` goes with neither ``--depth`` nor ``--no-tree``."""
    if full and (depth is not None or no_tree):
        other = "--depth" if depth is not None else "--no-tree"
        raise CliError(f"--full cannot be combined with {other}")
    return TreeOptions(depth=depth, full=full, show=not no_tree)


@dataclasses.dataclass(frozen=True, slots=True)
class _Limits:
    depth: int | None  # levels under the root; None: all
    shorten_runs: bool  # long runs of calls under one step are shortened


@dataclasses.dataclass(frozen=True, slots=True)
class _Hidden:
    """Calls under one step that are not printed, printed as one line."""

    items: tuple[StepRecord | Mapping[str, Any], ...]


_Item = StepRecord | Mapping[str, Any]  # a step, or an aggregate of calls not recorded


class TreeShape:
    """Children, subtree sizes and the path that must stay visible, computed once."""

    def __init__(self, steps: Sequence[StepRecord]) -> None:
        self.steps = steps
        self.children: dict[int | None, list[StepRecord]] = {}
        for step in steps:
            self.children.setdefault(step.parent_id, []).append(step)
        self.roots = self.children.get(None, [])
        self.level: dict[int, int] = {}
        self.below: dict[int, int] = {}  # steps under each step
        order: list[StepRecord] = []
        stack = [(root, 0) for root in reversed(self.roots)]
        while stack:  # iterative: a recursive run makes a tree deeper than Python's stack
            step, level = stack.pop()
            self.level[step.id] = level
            order.append(step)
            stack.extend((child, level + 1) for child in reversed(self.children.get(step.id, [])))
        self.unrecorded_below: dict[int, int] = {}  # calls in aggregates under each step
        for step in reversed(order):
            children = self.children.get(step.id, [])
            self.below[step.id] = sum(1 + self.below[child.id] for child in children)
            self.unrecorded_below[step.id] = _unrecorded(_aggregates(step))[0] + sum(
                self.unrecorded_below[child.id] for child in children
            )
        self.kept = frozenset(step.id for step in self.stopped_path())

    def stopped_path(self) -> list[StepRecord]:
        """Root to the innermost failed step along failed steps (where no child failed,
        interrupted ones: a run stopped by its time limit or a cancel); empty if none."""
        path: list[StepRecord] = []
        candidates = self.roots
        while True:
            failed = [s for s in candidates if s.status == "failed"]
            failed = failed or [s for s in candidates if s.status == "interrupted"]
            if not failed:
                return path
            path.append(failed[-1])
            candidates = self.children.get(failed[-1].id, [])

    @property
    def depth(self) -> int:
        """Levels of steps under the root (0: only the root), as ``--depth`` counts them."""
        return max(self.level.values(), default=0)

    def is_large(self) -> bool:
        return len(self.steps) > LARGE_TREE

    def items_under(self, step: StepRecord) -> list[_Item]:
        return [*self.children.get(step.id, []), *_aggregates(step)]


def _aggregates(step: StepRecord) -> list[Mapping[str, Any]]:
    found: Any = step.aggregates or []
    return list(found.values()) if isinstance(found, Mapping) else list(found)


def _limits(shape: TreeShape, options: TreeOptions) -> _Limits:
    if options.full:
        return _Limits(depth=None, shorten_runs=False)
    if shape.is_large():
        depth = SUMMARY_DEPTH if options.depth is None else options.depth
        return _Limits(depth=depth, shorten_runs=True)
    return _Limits(depth=options.depth, shorten_runs=False)


# --- the tree -------------------------------------------------------------------------------


def aggregate_label(aggregate: Mapping[str, Any]) -> str:
    """``fib ×242,785 (1.30s total, 0 errors, not recorded)``."""  # noqa: RUF002
    count = int(aggregate.get("count", 0))
    errors = int(aggregate.get("errors", 0))
    total = format_duration(aggregate.get("total_ns", 0))
    noun = "error" if errors == 1 else "errors"
    name = short_name(str(aggregate.get("name")))
    return f"{name} ×{count:,} ({total} total, {errors} {noun}, not recorded)"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _rows(aggregate: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The rows under an aggregate: calls its aggregated calls made."""
    return list(aggregate.get("children") or ())


def _unrecorded(items: Sequence[_Item]) -> tuple[int, collections.Counter[str]]:
    """Calls counted in aggregates among ``items`` (and the rows under them), in all and per
    function."""
    names: collections.Counter[str] = collections.Counter()
    stack = [item for item in items if not isinstance(item, StepRecord)]
    while stack:
        aggregate = stack.pop()
        names[short_name(str(aggregate.get("name")))] += int(aggregate.get("count", 0))
        stack.extend(_rows(aggregate))
    return sum(names.values()), names


def _names(names: collections.Counter[str]) -> str:
    shown = ", ".join(f"{name} ×{count:,}" for name, count in names.most_common(3))
    return shown + (", …" if len(names) > 3 else "")


def _hidden_label(shape: TreeShape, hidden: _Hidden) -> str:
    """``… 990 more steps: check ×985, log ×5 (2,310 steps under them)``."""  # noqa: RUF002
    steps = [item for item in hidden.items if isinstance(item, StepRecord)]
    unrecorded, unrecorded_names = _unrecorded(hidden.items)
    under = sum(shape.below[step.id] for step in steps)
    unrecorded += sum(shape.unrecorded_below[step.id] for step in steps)
    parts = []
    if steps:
        text = f"{_plural(len(steps), 'more step')}: "
        text += _names(collections.Counter(short_name(step.name) for step in steps))
        if under:
            text += f" ({_plural(under, 'step')} under them)"
        parts.append(text)
    if unrecorded:
        text = f"{_plural(unrecorded, 'call')} not recorded"
        if not steps:
            text += f": {_names(unrecorded_names)}"
        parts.append(text)
    return "… " + "; ".join(parts)


def _below_label(shape: TreeShape, step: StepRecord) -> str:
    """`` … 9,995 steps and 21,891 calls not recorded below``, for a step shown without
    anything under it; empty when there is nothing under it."""
    parts = []
    if shape.below[step.id]:
        parts.append(_plural(shape.below[step.id], "step"))
    if shape.unrecorded_below[step.id]:
        parts.append(f"{_plural(shape.unrecorded_below[step.id], 'call')} not recorded")
    return f" … {' and '.join(parts)} below" if parts else ""


def _visible(
    shape: TreeShape, items: list[_Item], level: int, limits: _Limits
) -> list[_Item | _Hidden]:
    """What of the calls under a step at ``level`` is printed, in order."""
    if limits.depth is not None and level >= limits.depth:
        show = [isinstance(i, StepRecord) and i.id in shape.kept for i in items]
        if not any(show):
            return []  # the step's own line says what is below it
    elif limits.shorten_runs and len(items) > SIBLINGS_HEAD + SIBLINGS_TAIL + 1:
        tail_start = len(items) - SIBLINGS_TAIL
        show = [
            index < SIBLINGS_HEAD
            or index >= tail_start
            or (isinstance(item, StepRecord) and item.id in shape.kept)
            for index, item in enumerate(items)
        ]
    else:
        return list(items)
    visible: list[_Item | _Hidden] = []
    run: list[_Item] = []
    for item, shown in zip(items, show, strict=True):
        if shown:
            if run:
                visible.append(_Hidden(tuple(run)))
                run = []
            visible.append(item)
        else:
            run.append(item)
    if run:
        visible.append(_Hidden(tuple(run)))
    return visible


def _step_line(step: StepRecord) -> Text:
    line = Text()
    line.append("Step: ")
    line.append(short_name(step.name), style="bold")
    line.append(" (")
    line.append_text(status_text(step.status))
    line.append(f", {format_duration(step.duration_ns)})")
    return line


def tree_lines(
    steps: Sequence[StepRecord],
    options: TreeOptions | None = None,
    shape: TreeShape | None = None,
) -> list[Text]:
    """The tree, one styled line per node; without ``options``, every step, in exactly the
    layout of the plain text tree."""
    shape = shape if shape is not None else TreeShape(steps)
    limits = _limits(shape, options or TreeOptions(full=True))
    lines: list[Text] = []
    # (what, prefix of its line, prefix of its children's lines, its level)
    stack: list[tuple[_Item | _Hidden, str, str, int]] = []

    def push_children(step: StepRecord, prefix: str, level: int) -> None:
        visible = _visible(shape, shape.items_under(step), level, limits)
        for index in range(len(visible) - 1, -1, -1):
            last = index == len(visible) - 1
            stack.append(
                (
                    visible[index],
                    prefix + ("└─ " if last else "├─ "),
                    prefix + ("   " if last else "│  "),
                    level + 1,
                )
            )

    def push_rows(aggregate: Mapping[str, Any], prefix: str, level: int) -> None:
        # Calls made by aggregated calls: rows under their caller's row (never cut: each
        # row stands for every call of one function at its place).
        rows = _rows(aggregate)
        for index in range(len(rows) - 1, -1, -1):
            last = index == len(rows) - 1
            stack.append(
                (
                    rows[index],
                    prefix + ("└─ " if last else "├─ "),
                    prefix + ("   " if last else "│  "),
                    level + 1,
                )
            )

    for root in shape.roots:
        line = Text()
        line.append("Execution: ", style="bold")
        line.append(short_name(root.name), style=f"bold {STATUS_STYLES.get(root.status, '')}")
        lines.append(line)
        push_children(root, "", 0)
        while stack:
            item, prefix, child_prefix, level = stack.pop()
            line = Text()
            line.append(prefix, style="dim")
            if isinstance(item, _Hidden):
                line.append(_hidden_label(shape, item), style="dim")
            elif isinstance(item, StepRecord):
                line.append_text(_step_line(item))
                visible_before = len(stack)
                push_children(item, child_prefix, level)
                if len(stack) == visible_before:
                    line.append(_below_label(shape, item), style="dim")
            else:
                line.append(aggregate_label(item), style="dim")
                push_rows(item, child_prefix, level)
            lines.append(line)
    return lines


# --- the summary of a large tree ------------------------------------------------------------


def summary_lines(shape: TreeShape, options: TreeOptions) -> list[Text]:
    """Size, depth and calls per function of a large tree (or of any with ``--no-tree``),
    and what of it is shown; nothing for a small tree shown whole."""
    if options.full or not (shape.is_large() or not options.show):
        return []
    calls: collections.Counter[str] = collections.Counter()
    recorded: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    aggregated = 0
    for step in shape.steps:
        name = short_name(step.name)
        calls[name] += 1
        recorded[name] += 1
        errors[name] += step.status == "failed"
        rows = _aggregates(step)
        while rows:
            aggregate = rows.pop()
            name = short_name(str(aggregate.get("name")))
            count = int(aggregate.get("count", 0))
            calls[name] += count
            errors[name] += int(aggregate.get("errors", 0))
            aggregated += count
            rows.extend(_rows(aggregate))
    head = Text("Tree: ", style="bold")
    head.append(f"{_plural(len(shape.steps), 'step')}, {_plural(shape.depth, 'level')} deep")
    if aggregated:
        head.append(f", {_plural(aggregated, 'more call')} counted but not recorded")
    lines = [head]
    width = max((len(name) for name in calls), default=0)
    for name, count in calls.most_common(TOP_FUNCTIONS):
        line = Text(f"  {name:<{width}}  {_plural(count, 'call')}")
        if recorded[name] != count:
            line.append(f" ({recorded[name]:,} recorded)")
        if errors[name]:
            line.append(f", {_plural(errors[name], 'error')}", style="red")
        lines.append(line)
    if len(calls) > TOP_FUNCTIONS:
        lines.append(Text(f"  … and {_plural(len(calls) - TOP_FUNCTIONS, 'more function')}"))
    if options.show:
        limits = _limits(shape, options)
        if limits.depth is None or limits.depth >= shape.depth:
            shown = "every level"
        else:
            shown = f"the top {_plural(limits.depth, 'level')}"
            if shape.kept:
                shown += " and the failing path"
        lines.append(
            Text(f"  shown: {shown} (--depth N for more, --full for every step)", style="dim")
        )
    return lines
