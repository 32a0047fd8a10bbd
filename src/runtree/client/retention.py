"""The client's calls on retention: the policies, pruning, and storage per namespace and
function."""

from __future__ import annotations

from typing import Any

from ..models import RetentionPolicyRecord
from .records import policy_record
from .transport import Transport


class RetentionApi(Transport):
    """``/retention`` and ``/storage``."""

    def list_retention(self) -> list[RetentionPolicyRecord]:
        data = self._json("GET", "/retention")
        return [policy_record(p) for p in data["policies"]]

    def set_retention(
        self, kind: str, target: str | None, keep_days: int | None, keep_last: int | None
    ) -> RetentionPolicyRecord:
        body = {"kind": kind, "target": target, "keep_days": keep_days, "keep_last": keep_last}
        return policy_record(self._json("PUT", "/retention", json=body))

    def remove_retention(self, kind: str, target: str | None) -> RetentionPolicyRecord:
        params = {"kind": kind} | ({} if target is None else {"target": target})
        return policy_record(self._json("DELETE", "/retention", params=params))

    def prune(self, dry_run: bool) -> dict[str, Any]:
        """``POST /retention/prune``: it answers when the pass is done (no time limit)."""
        document: dict[str, Any] = self._json(
            "POST", "/retention/prune", json={"dry_run": dry_run}, timeout=None
        )
        return document

    def storage(self) -> dict[str, Any]:
        document: dict[str, Any] = self._json("GET", "/storage", timeout=None)
        return document
