"""Listings as rich tables (executions, functions, versions) and coloured source diffs."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from ..models import ExecutionRecord, FunctionRecord, VersionRecord
from .views import format_ms, local_time, status_text


def _table(*columns: str, min_widths: dict[str, int] | None = None) -> Table:
    """A plain table; on a narrow terminal the columns without a minimum width shrink
    (with an ellipsis) first."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, no_wrap=True, min_width=(min_widths or {}).get(column))
    return table


def make_table(*columns: str, min_widths: dict[str, int] | None = None) -> Table:
    """A plain table of these columns (for the listings of other modules)."""
    return _table(*columns, min_widths=min_widths)


def executions_table(executions: Sequence[ExecutionRecord]) -> Table:
    table = _table(
        "id",
        "function",
        "version",
        "status",
        "trigger",
        "started",
        "duration",
        min_widths={"id": 32, "version": 7, "status": 9},
    )
    for execution in executions:
        table.add_row(
            execution.id,
            Text(execution.qualified_name),
            f"v{execution.version}",
            status_text(execution.status),
            str(execution.trigger),
            local_time(execution.started_at or execution.queued_at),
            format_ms(execution.duration_ms),
        )
    return table


def functions_table(functions: Sequence[FunctionRecord]) -> Table:
    with_description = any(function.description for function in functions)
    columns = ["name", "version", "runs", "last status", "last run"]
    table = _table(
        *columns,
        *(["description"] if with_description else []),
        min_widths={"name": 20, "version": 7, "runs": 4, "last status": 11},
    )
    for function in functions:
        version = "-" if function.current_version is None else f"v{function.current_version}"
        latest, current = function.latest_version, function.current_version
        if latest is not None and current is not None and latest > current:
            version += f" (v{latest} not current)"
        cells: list[str | Text] = [
            Text(function.qualified_name),
            version,
            str(function.run_count),
            status_text(function.last_status),
            function.last_execution_id or "-",
        ]
        if with_description:
            cells.append(Text(function.description or ""))
        table.add_row(*cells)
    return table


def versions_table(versions: Sequence[VersionRecord]) -> Table:
    table = _table(
        "version", "created", "by", "sha256", "timeout", "memory", "tracking", "warnings"
    )
    for version in versions:
        settings = version.settings
        tracking = settings.get("tracking", True)
        table.add_row(
            f"v{version.number}",
            local_time(version.created_at),
            Text(version.created_by or "-"),
            version.sha256[:12],
            f"{settings['timeout_s']:g}s" if "timeout_s" in settings else "-",
            f"{settings.get('memory_mb', '-')} MB",
            "on" if tracking else "off",
            str(len(version.warnings)),
        )
    return table


def diff_lines(old: VersionRecord, new: VersionRecord) -> list[Text]:
    """A unified diff of two versions' sources, then any changed settings."""
    label = old.qualified_name
    diff = difflib.unified_diff(
        old.source.splitlines(),
        new.source.splitlines(),
        fromfile=f"{label} v{old.number}",
        tofile=f"{label} v{new.number}",
        lineterm="",
    )
    lines: list[Text] = []
    for line in diff:
        if line.startswith(("---", "+++")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        else:
            style = ""
        lines.append(Text(line, style=style))
    for key in sorted(set(old.settings) | set(new.settings)):
        before, after = old.settings.get(key), new.settings.get(key)
        if before != after:
            lines.append(Text(f"setting {key}: {before!r} -> {after!r}", style="yellow"))
    return lines
