"""Printed output per step: ``sys.stdout``/``sys.stderr`` are teed while a recording is open.

Text still reaches the real stream unchanged; a copy goes to the innermost step of the writing
context, up to the recording's per-step budget (the rest is counted, not kept).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .records import R_EXTRA, R_ID, R_REC


class _Tee:
    """Stands in for a text stream: writes go through, and are copied to the current step."""

    def __init__(self, stream: TextIO) -> None:
        self._runtree_stream = stream

    def write(self, text: str) -> int:
        written = self._runtree_stream.write(text)
        try:
            _copy_to_step(text)
        except Exception:  # a tracking failure never breaks user code
            pass
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtree_stream, name)

    def __iter__(self) -> Any:
        return iter(self._runtree_stream)


def _copy_to_step(text: str) -> None:
    from .runtime import resolve_current

    # The walk for a generator resumed without a hook (only while one is alive) starts at the
    # writer's frame, below write's (print has none of its own): each frame it passes costs.
    record = resolve_current(3)
    if record is None or record[R_ID] <= 0 or not isinstance(text, str):
        return  # outside recordings, at the top level, or in an aggregated call
    extra = record[R_EXTRA]
    if extra is None:
        extra = record[R_EXTRA] = {}
    parts = extra.setdefault("stdout", [])
    kept = extra.get("stdout_kept", 0)
    room = record[R_REC].stdout_budget - kept
    if room >= len(text):
        parts.append(text)
        extra["stdout_kept"] = kept + len(text)
    else:
        if room > 0:
            parts.append(text[:room])
            extra["stdout_kept"] = kept + room
        extra["stdout_dropped"] = extra.get("stdout_dropped", 0) + len(text) - max(room, 0)


_originals: dict[str, Any] = {}


def install() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _Tee):
            _originals[name] = stream
            setattr(sys, name, _Tee(stream))


def uninstall() -> None:
    for name, stream in _originals.items():
        current = getattr(sys, name)
        # Only undo our own replacement: user code may have swapped the stream since.
        if isinstance(current, _Tee) and current._runtree_stream is stream:
            setattr(sys, name, stream)
    _originals.clear()
