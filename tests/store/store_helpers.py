"""Builders shared by the store tests."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from runtree.models import VersionRecord
from runtree.store import Store


def deploy(
    store: Store, name: str = "orders", source: str = "def orders():\n    return 1\n", **kw: Any
) -> VersionRecord:
    namespace = kw.pop("namespace", "default")
    settings = kw.pop("settings", {"timeout_s": 30, "memory_mb": 256, "tracking": True})
    sha = hashlib.sha256((source + repr(sorted(settings.items()))).encode()).hexdigest()
    version, _ = store.deploy_version(
        namespace,
        name,
        source=source,
        settings=settings,
        sha256=sha,
        warnings=kw.pop("warnings", []),
        dependencies=kw.pop("dependencies", []),
        signature=kw.pop("signature", {"params": []}),
        **kw,
    )
    return version


def captured(preview: Any, blob: bytes | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "preview": preview,
        "size": len(blob) if blob else 0,
        "format": "pickle" if blob else "none",
        "truncated": False,
        "redacted": False,
        **extra,
    }
    if blob is not None:
        data["blob"] = blob
    return data


def make_step(
    step_id: int,
    *,
    parent_id: int | None = None,
    status: str = "completed",
    inputs: dict[str, Any] | None = None,
    output: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A step dict in the ``Step.to_dict(include_blobs=True)`` shape."""
    data: dict[str, Any] = {
        "id": step_id,
        "parent_id": parent_id,
        "sequence": step_id,
        "depth": 0 if parent_id is None else 1,
        "name": f"step_{step_id}",
        "filename": "orders.py",
        "lineno": 10 + step_id,
        "version": None,
        "status": status,
        "started_at_ns": time.time_ns(),
        "duration_ns": None if status == "running" else 1_000 * step_id,
        "inputs": inputs if inputs is not None else {"x": captured(step_id, b"\x80\x05K")},
        "output": output,
        "error": None,
        "stdout": "",
        "stdout_truncated": False,
        "warnings": [],
        "aggregates": [],
        "generator": None,
    }
    data.update(extra)
    return data
