"""Rendering one execution for people: header, coloured tree (or its summary, see
:mod:`.tree_view`), output or error with the failing path and the whole traceback.

A tree shown whole has exactly the layout of the plain text tree (``runtree tree``), with
the statuses coloured; on a terminal that is the only difference.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from ..models import ExecutionRecord, StepRecord
from ..tracking.render import format_duration, short_name
from .status import STATUS_STYLES, status_text
from .tree_view import TreeOptions, TreeShape, summary_lines, tree_lines

__all__ = ["STATUS_STYLES", "TreeOptions", "print_execution", "status_text", "tree_lines"]


def format_ms(duration_ms: int | None) -> str:
    """``172ms``, ``1.25s``; ``-`` when unknown."""
    return "-" if duration_ms is None else format_duration(duration_ms * 1_000_000)


def local_time(moment: datetime.datetime | None) -> str:
    """The one way the CLI's text shows a moment, as the web UI does: its date and 24-hour
    time in the local time zone, to the second, and the zone's name
    (``2026-12-05 03:11:18 UTC``). JSON output uses :func:`runtree.timestamps.rfc3339`."""
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


# --- parts of the execution view ------------------------------------------------------------


def _row(label: str, value: Text | str) -> Text:
    line = Text()
    line.append(f"  {label:<9} ", style="dim")
    line.append_text(value if isinstance(value, Text) else Text(value))
    return line


def header_lines(execution: ExecutionRecord) -> list[Text]:
    title = Text(f"Execution {execution.id}", style="bold")
    status = status_text(execution.status)
    if execution.duration_ms is not None:
        status.append(f" in {format_ms(execution.duration_ms)}")
    if execution.cancel_requested and not execution.finished:
        status.append(" (cancel requested)", style="yellow")
    when = execution.started_at or execution.queued_at
    verb = "started" if execution.started_at else "queued"
    trigger = f"{execution.trigger}, {verb} {local_time(when)}"
    if execution.replay_of:
        trigger += f", replay of {execution.replay_of}"
    return [
        title,
        _row("function", f"{execution.qualified_name} v{execution.version}"),
        _row("status", status),
        _row("trigger", trigger),
        _row("input", compact_json(execution.input)),
    ]


def captured_text(value: Mapping[str, Any] | None) -> str:
    """A captured value's preview, with its truncation mark."""
    if value is None:
        return "-"
    text = compact_json(value.get("preview"))
    warning = str(value.get("warning") or "")
    if value.get("truncated"):
        # Without a digest, a "more than" warning means size is what was serialized before
        # the cut (capture stops at the budget), not the original's size.
        at_least = not value.get("sha256") and warning.startswith("more than")
        size = f"more than {value.get('size', '?')}" if at_least else value.get("size", "?")
        digest = f", sha256 {str(value['sha256'])[:12]}" if value.get("sha256") else ""
        text += f" … (truncated: {size} bytes{digest})"
        if at_least:
            warning = ""
    if warning:
        text += f" ({warning})"
    return text


def frame_lines(frames: Sequence[Mapping[str, Any]], indent: str) -> list[Text]:
    lines: list[Text] = []
    for frame in frames:
        where = Text(indent)
        where.append(f"{frame.get('filename')}:{frame.get('lineno')}", style="cyan")
        where.append(f" in {frame.get('name')}")
        lines.append(where)
        if frame.get("line"):
            lines.append(Text(f"{indent}  {frame['line']}", style="bold"))
    return lines


def error_lines(execution: ExecutionRecord, shape: TreeShape) -> list[Text]:
    """The error, the failing path, the whole traceback through the user's code (outermost
    call first), and the innermost failing step with its inputs."""
    error: Mapping[str, Any] = execution.error or {}
    line = Text()
    line.append("Error: ", style="bold red")
    line.append(f"{error.get('type', 'Error')}: {error.get('message', '')}")
    lines = [line]
    path = [step for step in shape.stopped_path() if step.status == "failed"]
    if path:
        names = Text()
        names.append("Failing path: ", style="bold")
        names.append(" → ".join(short_name(step.name) for step in path))
        lines.append(names)
    innermost = path[-1] if path else None
    frames = error.get("traceback") or []
    if not frames and innermost is not None:
        frames = (innermost.error or {}).get("traceback") or []
    if frames:
        lines.append(Text("Traceback (most recent call last):", style="bold"))
        lines += frame_lines(frames, "  ")
    if innermost is not None:
        where = Text("Failing step: ", style="bold")
        where.append(short_name(innermost.name))
        if innermost.function:
            where.append(f" ({innermost.function} v{innermost.version})", style="dim")
        if innermost.inputs:
            where.append(", with inputs")
        lines.append(where)
        for name, value in innermost.inputs.items():
            lines.append(Text(f"  {name} = {captured_text(value)}"))
    return lines


def printed_lines(execution: ExecutionRecord, steps: Sequence[StepRecord]) -> list[Text]:
    """What the steps printed, each line prefixed with the step that printed it."""
    lines: list[Text] = []
    for step in steps:
        for text in step.stdout.splitlines():
            line = Text()
            line.append(f"  {short_name(step.name)}: ", style="dim")
            line.append(text)
            lines.append(line)
        if step.stdout_truncated:
            lines.append(Text(f"  {short_name(step.name)}: … (truncated)", style="dim"))
    if not lines and execution.error and execution.error.get("stdout"):
        lines = [Text(f"  {text}") for text in str(execution.error["stdout"]).splitlines()]
    return [Text("Printed", style="bold"), *lines] if lines else []


def warning_lines(steps: Sequence[StepRecord]) -> list[Text]:
    lines = [
        Text(f"  {short_name(step.name)}: {warning}", style="yellow")
        for step in steps
        for warning in step.warnings
    ]
    return [Text("Tracking warnings", style="bold yellow"), *lines] if lines else []


def print_execution(
    console: Console,
    execution: ExecutionRecord,
    steps: Sequence[StepRecord],
    options: TreeOptions | None = None,
) -> None:
    """The whole view of one execution (``runtree show`` and ``runtree run``); ``options``
    say how much of the tree (default: all of a small one, a summary of a large one)."""
    options = options or TreeOptions()
    shape = TreeShape(steps)
    for line in header_lines(execution):
        console.print(line, soft_wrap=True)
    console.print()
    summary = summary_lines(shape, options)
    for line in summary:
        console.print(line, soft_wrap=True)
    lines = tree_lines(steps, options, shape) if options.show else []
    if summary and lines:
        console.print()
    if lines:
        for line in lines:
            console.print(line, soft_wrap=True)
    elif not steps and execution.finished:
        console.print(Text("(no steps recorded)", style="dim"))
    elif not steps:
        console.print(Text(f"(no steps yet: the execution is {execution.status})", style="dim"))
    for section in (printed_lines(execution, steps), warning_lines(steps)):
        if section:
            console.print()
            for line in section:
                console.print(line, soft_wrap=True)
    if execution.status == "succeeded":
        console.print()
        console.print(Text("Output", style="bold green"))
        from rich.json import JSON  # highlighting JSON: only for an output

        console.print(JSON(json.dumps(execution.output, default=str)), soft_wrap=True)
    elif execution.finished:
        console.print()
        for line in error_lines(execution, shape):
            console.print(line, soft_wrap=True)


# --- signatures -----------------------------------------------------------------------------


def signature_text(signature: Mapping[str, Any]) -> str:
    """``calculate_order_total(customer_id: int, items: list[float] | None = None)``."""
    # imported here: the instrument package (ast, pyflakes) is not needed to print help
    from ..instrument.signature import (
        KEYWORD_ONLY,
        POSITIONAL_ONLY,
        VAR_KEYWORD,
        VAR_POSITIONAL,
        EntrySignature,
    )

    entry = EntrySignature.from_dict(dict(signature))
    parts: list[str] = []
    star = False
    for index, param in enumerate(entry.parameters):
        if param.kind == KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        text = param.name
        if param.kind == VAR_POSITIONAL:
            text, star = f"*{param.name}", True
        elif param.kind == VAR_KEYWORD:
            text = f"**{param.name}"
        if param.annotation:
            text += f": {param.annotation}"
        if param.has_default:
            text += f" = {param.default_source}" if param.annotation else f"={param.default_source}"
        parts.append(text)
        following = entry.parameters[index + 1 :]
        if param.kind == POSITIONAL_ONLY and not any(p.kind == POSITIONAL_ONLY for p in following):
            parts.append("/")
    prefix = "async " if entry.is_async else ""
    return f"{prefix}{entry.name}({', '.join(parts)})"
