"""Statuses in colour: green done, red failed, yellow stopped or running, cyan queued."""

from __future__ import annotations

from rich.text import Text

STATUS_STYLES: dict[str, str] = {
    "succeeded": "green",
    "completed": "green",
    "failed": "red",
    "timed_out": "red",
    "crashed": "red",
    "cancelled": "yellow",
    "interrupted": "yellow",
    "running": "yellow",
    "queued": "cyan",
}


def status_text(status: str | None) -> Text:
    """A status word in its colour (``-`` when there is none)."""
    text = Text()
    if status is None:
        text.append("-", style="dim")
    else:
        text.append(str(status), style=STATUS_STYLES.get(str(status), ""))
    return text
