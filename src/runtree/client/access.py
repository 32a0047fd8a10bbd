"""The client's calls on access: who the key is, API keys, and the audit log."""

from __future__ import annotations

from typing import Any

from ..models import ApiKeyRecord, AuditRecord
from .records import audit_record, key_record
from .transport import Transport


class AccessApi(Transport):
    """``/whoami``, ``/keys`` and ``/audit``."""

    def whoami(self) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", "/whoami")
        return data

    def create_key(
        self, role: str, namespace: str | None, name: str | None
    ) -> tuple[str, ApiKeyRecord]:
        data = self._json(
            "POST", "/keys", json={"role": role, "namespace": namespace, "name": name}
        )
        return str(data["key"]), key_record(data)

    def list_keys(self, include_revoked: bool = False) -> list[ApiKeyRecord]:
        data = self._json("GET", "/keys", params={"include_revoked": include_revoked})
        return [key_record(k) for k in data["keys"]]

    def revoke_key(self, prefix: str) -> ApiKeyRecord:
        return key_record(self._json("DELETE", f"/keys/{prefix}"))

    def list_audit(
        self,
        *,
        namespace: str | None = None,
        action: str | None = None,
        limit: int = 50,
        cursor: int | None = None,
    ) -> tuple[list[AuditRecord], int | None]:
        params: dict[str, Any] = {"limit": limit}
        for key, value in (("namespace", namespace), ("action", action), ("cursor", cursor)):
            if value is not None:
                params[key] = value
        data = self._json("GET", "/audit", params=params)
        entries = [audit_record(e) for e in data["entries"]]
        return entries, data.get("next_cursor")
