"""The text tree of a recording, in the format docs/design.md fixes::

Execution: calculate_order_total
├─ Step: get_customer (completed, 150ms)
└─ Step: calculate_tax (failed, 40ms)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .recording import Recording


def format_duration(duration_ns: int | None) -> str:
    """``1.25s``, ``150ms``, ``4.2ms``, ``42µs``, ``800ns``; ``?`` when unknown."""
    if duration_ns is None:
        return "?"
    ms = duration_ns / 1e6
    if ms >= 1000:
        return f"{ms / 1000:.2f}s"
    if ms >= 10:
        return f"{ms:.0f}ms"
    if ms >= 1:
        return f"{ms:.1f}ms"
    if duration_ns >= 1000:
        return f"{duration_ns / 1000:.0f}µs"
    return f"{duration_ns}ns"


def short_name(qualname: str) -> str:
    """``outer.<locals>.inner`` -> ``inner`` (the tree already shows the nesting);
    ``Class.method`` stays as it is."""
    return qualname.rsplit("<locals>.", 1)[-1]


def render_tree(
    roots: Iterable[Any], children: dict[Any, list[Any]], top_aggregates: list[Any]
) -> str:
    """Render nodes that have ``id``, ``name``, ``status``, ``duration_ns`` and optional
    ``aggregates`` (objects or dicts). Shared by the library and the platform."""
    lines: list[str] = []

    def field(node: Any, name: str, default: Any = None) -> Any:
        return node.get(name, default) if isinstance(node, dict) else getattr(node, name, default)

    def aggregates_of(node: Any) -> list[Any]:
        found = field(node, "aggregates", None) or []
        return list(found.values()) if isinstance(found, dict) else list(found)

    def label(node: Any) -> str:
        return (
            f"Step: {short_name(str(field(node, 'name')))} "
            f"({field(node, 'status')}, {format_duration(field(node, 'duration_ns'))})"
        )

    def agg_label(agg: Any) -> str:
        count = field(agg, "count", 0)
        errors = field(agg, "errors", 0)
        total = format_duration(field(agg, "total_ns", 0))
        noun = "error" if errors == 1 else "errors"
        name = short_name(str(field(agg, "name")))
        return f"{name} ×{count:,} ({total} total, {errors} {noun}, not recorded)"

    def walk(node: Any, prefix: str) -> None:
        items: list[tuple[str, Any]] = [("step", c) for c in children.get(field(node, "id"), [])]
        items += [("agg", a) for a in aggregates_of(node)]
        for index, (kind, item) in enumerate(items):
            last = index == len(items) - 1
            branch = "└─ " if last else "├─ "
            lines.append(prefix + branch + (label(item) if kind == "step" else agg_label(item)))
            if kind == "step":
                walk(item, prefix + ("   " if last else "│  "))
            else:
                walk_rows(item, prefix + ("   " if last else "│  "))

    def rows_under(agg: Any) -> list[Any]:
        if isinstance(agg, dict):
            return list(agg.get("children") or ())
        return list(agg.own_children())

    def walk_rows(agg: Any, prefix: str) -> None:
        # Calls made by aggregated calls: rows under their caller's row (see budget.py).
        rows = rows_under(agg)
        for index, row in enumerate(rows):
            last = index == len(rows) - 1
            lines.append(prefix + ("└─ " if last else "├─ ") + agg_label(row))
            walk_rows(row, prefix + ("   " if last else "│  "))

    for root in roots:
        lines.append(f"Execution: {short_name(str(field(root, 'name')))}")
        walk(root, "")
    for agg in top_aggregates:
        lines.append(agg_label(agg))
        walk_rows(agg, "")
    return "\n".join(lines)


def render_recording(rec: Recording) -> str:
    children = rec.children()
    return render_tree(children.get(None, []), children, rec.aggregates)
