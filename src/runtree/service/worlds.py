"""What an execution got from the outside world, as the API and the CLI show it."""

from __future__ import annotations

from typing import Any

from ..store import Store
from .access import Principal
from .guarded import visible_execution


def world_document(store: Store, principal: Principal, execution_id: str) -> dict[str, Any]:
    """The summary of ``execution_id``'s recording (its HTTP interactions -- method,
    redacted URL, status, duration --, clock reads, random bytes drawn), or the report of a
    deterministic replay. Any key that may read the execution. ``mode`` is ``None`` when
    nothing was recorded (recording off, a run that has not ended). ``partial``: the run
    ended without its report (timed out, crashed, cancelled): what it recorded until then."""
    execution = visible_execution(store, principal, execution_id)
    world = store.get_world(execution.id)
    if world is None:
        return {"execution_id": execution.id, "mode": None, "replay_source": None, "size_bytes": 0}
    recording = world.recording or {}
    http = []
    for interaction in recording.get("http", ()):
        request = interaction.get("request") or {}
        status = (interaction.get("response") or {}).get("status") or {}
        http.append(
            {
                "method": str(request.get("method", "")),
                "url": str(request.get("uri", "")),
                "status": status.get("code") if isinstance(status, dict) else None,
                "duration_ns": int(interaction.get("duration_ns", 0)),
            }
        )
    return {
        "execution_id": world.execution_id,
        "mode": world.mode,
        "replay_source": world.replay_source,
        "size_bytes": world.size_bytes,
        "http": http,
        "http_dropped": int(recording.get("http_dropped", 0)),
        "clock_reads": int(recording.get("clock_reads", 0)),
        "urandom_bytes": int(recording.get("urandom_bytes", 0)),
        "partial": bool(recording.get("partial", False)),
        "report": world.report,
    }
