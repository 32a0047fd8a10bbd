"""The client's calls on executions: start one and wait for its end, read one with its
steps or as the text tree, list them, find those that handled a value, make a test of a
step, cancel, replay (an execution or a webhook delivery), and read a run's recorded world."""

from __future__ import annotations

import threading
import time
from typing import Any

from ..errors import NotFoundError
from ..models import ExecutionRecord, GeneratedTest, StepRecord
from .records import execution_record, step_record
from .transport import POLL_FIRST_S, POLL_MAX_S, Transport

# After asking the server to cancel, how long ``finish`` keeps waiting for the end.
CANCEL_GRACE_S = 10.0


class ExecutionsApi(Transport):
    """``/executions`` and starting, replaying and finding executions."""

    def start(self, namespace: str, name: str, data: Any, version: int | None) -> ExecutionRecord:
        body: dict[str, Any] = {"input": {} if data is None else data, "wait": False}
        if version is not None:
            body["version"] = version
        accepted = self._json("POST", f"/functions/{namespace}/{name}/executions", json=body)
        record = self.get_execution(str(accepted["id"]))
        if record is None:
            raise NotFoundError("execution", str(accepted["id"]))
        return record

    def finish(
        self, execution: ExecutionRecord, cancel: threading.Event | None = None
    ) -> ExecutionRecord:
        """Wait until the server has run ``execution``; setting ``cancel`` cancels it."""
        delay = POLL_FIRST_S
        cancelled_at: float | None = None
        while True:
            record = self.get_execution(execution.id)
            if record is None:
                raise NotFoundError("execution", execution.id)
            if record.finished:
                return record
            if cancel is not None and cancel.is_set() and cancelled_at is None:
                self.cancel(execution.id)
                cancelled_at = time.monotonic()
            if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                return record
            time.sleep(delay)
            delay = min(delay * 2, POLL_MAX_S)

    def get_execution(self, execution_id: str) -> ExecutionRecord | None:
        try:
            data = self._json("GET", f"/executions/{execution_id}")
        except NotFoundError:
            return None
        return execution_record(data)

    def get_execution_with_steps(
        self, execution_id: str
    ) -> tuple[ExecutionRecord, list[StepRecord]]:
        data = self._json("GET", f"/executions/{execution_id}")
        return execution_record(data), [step_record(execution_id, s) for s in data["steps"]]

    def get_steps(self, execution_id: str) -> list[StepRecord]:
        return self.get_execution_with_steps(execution_id)[1]

    def list_executions(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        include_shadow: bool = False,
    ) -> tuple[list[ExecutionRecord], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if include_shadow:
            params["include_shadow"] = "true"
        if name is not None:
            params["function"] = f"{namespace or 'default'}/{name}"
        if status is not None:
            params["status"] = status
        if cursor is not None:
            params["cursor"] = cursor
        data = self._json("GET", "/executions", params=params)
        page = [execution_record(e) for e in data["executions"]]
        if namespace is not None and name is None:
            page = [e for e in page if e.namespace == namespace]
        return page, data.get("next_cursor")

    def tree_text(self, execution_id: str) -> str:
        return self._request("GET", f"/executions/{execution_id}/tree").text

    def test_from(
        self,
        execution_id: str,
        step: str | None,
        *,
        live: bool,
        xfail: bool,
        source_dir: str | None,
    ) -> GeneratedTest:
        """``GET /executions/{id}/test``: the pytest file made from one of its steps."""
        params: dict[str, Any] = {"live": live, "xfail": xfail}
        if step is not None:
            params["step"] = step
        if source_dir is not None:
            params["source_dir"] = source_dir
        response = self._request("GET", f"/executions/{execution_id}/test", params=params)
        disposition = response.headers.get("content-disposition", "")
        filename = disposition.partition('filename="')[2].rstrip('"') or "test_runtree.py"
        reason = response.headers.get("runtree-xfail-reason")
        return GeneratedTest(
            filename=filename,
            text=response.text,
            execution_id=execution_id,
            step_id=int(response.headers.get("runtree-step-id", "0")),
            stubbed_calls=int(response.headers.get("runtree-stubbed-calls", "0")),
            xfail_reason=reason,
        )

    def cancel(self, execution_id: str) -> ExecutionRecord:
        return execution_record(self._json("POST", f"/executions/{execution_id}/cancel"))

    def replay(
        self, execution_id: str, *, deterministic: bool = False, version: int | None = None
    ) -> ExecutionRecord:
        body: dict[str, Any] = {"deterministic": deterministic}
        if version is not None:
            body["version"] = version
        accepted = self._json("POST", f"/executions/{execution_id}/replay", json=body)
        record = self.get_execution(str(accepted["id"]))
        if record is None:
            raise NotFoundError("execution", str(accepted["id"]))
        return record

    def replay_delivery(self, delivery_id: str, *, version: int | None = None) -> ExecutionRecord:
        body: dict[str, Any] = {} if version is None else {"version": version}
        accepted = self._json("POST", f"/deliveries/{delivery_id}/replay", json=body)
        record = self.get_execution(str(accepted["id"]))
        if record is None:
            raise NotFoundError("execution", str(accepted["id"]))
        return record

    def world(self, execution_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self._json("GET", f"/executions/{execution_id}/world")
        return data

    def find_value(
        self,
        value: str,
        *,
        key: str | None,
        namespace: str | None,
        name: str | None,
        limit: int,
        cursor: str | None,
        include_shadow: bool = False,
    ) -> tuple[list[tuple[ExecutionRecord, list[dict[str, Any]]]], str | None]:
        """``GET /find``: the executions that handled ``value`` and the steps that did."""
        params: dict[str, str | int] = {"value": value, "limit": limit}
        if include_shadow:
            params["include_shadow"] = "true"
        if key is not None:
            params["key"] = key
        if name is not None:
            params["function"] = f"{namespace or 'default'}/{name}"
        if cursor is not None:
            params["cursor"] = cursor
        data = self._json("GET", "/find", params=params)
        page = [(execution_record(r["execution"]), list(r["steps"])) for r in data["results"]]
        return page, data.get("next_cursor")
