"""The client's calls on webhooks and the deliveries they received."""

from __future__ import annotations

from typing import Any

from ..models import DeliveryRecord, WebhookRecord
from .records import delivery_record, webhook_record
from .transport import Transport


class WebhooksApi(Transport):
    """``/webhooks`` and ``/deliveries``."""

    def create_webhook(
        self,
        namespace: str,
        name: str,
        *,
        path: str,
        verify: str,
        secret: str | None,
        mode: str,
        version: int | None,
        sync_timeout_s: float | None,
    ) -> tuple[WebhookRecord, str | None]:
        body = {
            "function": f"{namespace}/{name}",
            "path": path,
            "verify": verify,
            "secret": secret,
            "mode": mode,
            "version": version,
            "sync_timeout_s": sync_timeout_s,
        }
        data = self._json("POST", "/webhooks", json=body)
        return webhook_record(data), data.get("secret")

    def list_webhooks(self, namespace: str | None = None) -> list[WebhookRecord]:
        params = {} if namespace is None else {"namespace": namespace}
        return [
            webhook_record(w) for w in self._json("GET", "/webhooks", params=params)["webhooks"]
        ]

    def delete_webhook(self, path: str) -> WebhookRecord:
        return webhook_record(self._json("DELETE", f"/webhooks/{path}"))

    def list_deliveries(
        self, path: str, *, status: str | None = None, limit: int = 50
    ) -> list[DeliveryRecord]:
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        data = self._json("GET", f"/webhooks/{path}/deliveries", params=params)
        return [delivery_record(d) for d in data["deliveries"]]

    def get_delivery(self, delivery_id: str) -> DeliveryRecord:
        return delivery_record(self._json("GET", f"/deliveries/{delivery_id}"))
