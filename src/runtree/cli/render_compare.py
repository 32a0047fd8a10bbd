"""``runtree compare`` for people: the merged tree of two runs, one line per aligned pair,
rendered from the same JSON document ``--json`` prints (so local and remote agree).

Marks in the first column: blank same, ``~`` changed, ``-`` only in a, ``+`` only in b,
``>`` the first divergence (where the web UI's compare view opens).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from ..tracking.render import format_duration
from .views import compact_json, format_ms, status_text

MARKS = {"same": " ", "changed": "~", "added": "+", "removed": "-"}
KIND_STYLES = {"same": "", "changed": "yellow", "added": "green", "removed": "red"}
PREVIEW_CHARS = 60


def _preview(value: Any) -> str:
    text = compact_json(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _run_line(label: str, run: Mapping[str, Any]) -> Text:
    line = Text(f"{label}: {run['id']}  {run['function']} v{run['version']}  ")
    line.append_text(status_text(run["status"]))
    if run.get("duration_ms") is not None:
        line.append(f" in {format_ms(run['duration_ms'])}")
    return line


def _times(row: Mapping[str, Any]) -> str:
    a, b = row.get("a"), row.get("b")
    if a is None or b is None:
        side = a or b or {}
        return format_duration(side.get("duration_ns"))
    text = f"{format_duration(a['duration_ns'])} → {format_duration(b['duration_ns'])}"
    if row.get("total_ratio") is not None:
        text += f" ×{row['total_ratio']:.2f}"
    return text


def row_details(row: Mapping[str, Any]) -> list[str]:
    """What differs in one row, as short phrases."""
    a, b = row.get("a") or {}, row.get("b") or {}
    details: list[str] = []
    if row["kind"] == "removed":
        return ["only in a"]
    if row["kind"] == "added":
        return ["only in b"]
    if row["status_changed"]:
        details.append(f"{a['status']} → {b['status']}")
    if row["error"] == "appeared":
        details.append(f"error appeared: {b['error']}")
    elif row["error"] == "disappeared":
        details.append(f"error disappeared: {a['error']}")
    elif row["error"] == "changed":
        details.append(f"error {a['error']} → {b['error']}")
    for change in row["inputs"]:
        mark = " (redacted parts not compared)" if change["redacted"] else ""
        if change["change"] == "changed":
            details.append(
                f"{change['key']}: {_preview(change['a'])} → {_preview(change['b'])}{mark}"
            )
        else:
            details.append(f"{change['key']} {change['change']}{mark}")
    if row["output_changed"]:
        details.append("output differs")
    if row["version_changed"]:
        details.append(f"v{a['version']} → v{b['version']}")
    for group in row["aggregates"]:
        details.append(f"{group['name']} ×{group['count_a']} → ×{group['count_b']}")
    return details


def comparison_lines(document: Mapping[str, Any], *, only_changes: bool = False) -> list[Text]:
    """The header, the merged tree and the first divergence (see the module docstring).
    ``only_changes`` leaves out rows that are the same and have no differing descendant."""
    lines = [_run_line("a", document["a"]), _run_line("b", document["b"])]
    counts = document["counts"]
    lines.append(
        Text(
            f"{sum(counts.values())} steps aligned: {counts['same']} same, {counts['changed']} "
            f"changed, {counts['removed']} only in a, {counts['added']} only in b",
            style="dim",
        )
    )
    lines.append(Text(""))
    rows = document["rows"]
    first = document["first_divergence"]
    target = None if first is None else first["row"]
    keep = _rows_to_keep(rows) if only_changes else None
    for row in rows:
        if keep is not None and row["index"] not in keep:
            continue
        mark = ">" if row["index"] == target else MARKS[row["kind"]]
        line = Text(f"{mark} {'  ' * row['depth']}")
        line.append(row["name"], style=KIND_STYLES[row["kind"]])
        line.append(f"  {_times(row)}", style="dim")
        details = row_details(row)
        if details:
            line.append("  " + "; ".join(details))
        lines.append(line)
    lines.append(Text(""))
    if first is None:
        lines.append(
            Text("no differences: same calls, statuses, inputs and outputs", style="green")
        )
    else:
        lines.append(
            Text(
                f"first divergence ({first['reason']}): " + " → ".join(first["path"]), style="bold"
            )
        )
    return lines


def _rows_to_keep(rows: list[Mapping[str, Any]]) -> set[int]:
    keep: set[int] = set()
    for row in rows:
        if row["kind"] == "same":
            continue
        current: int | None = row["index"]
        while current is not None and current not in keep:
            keep.add(current)
            current = rows[current]["parent"]
    return keep
