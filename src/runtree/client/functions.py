"""The client's calls on functions and their versions: deploy (maybe as a shadow), read,
list, promote a version, shadow reports, and performance blame between two versions."""

from __future__ import annotations

import time
from typing import Any

from ..errors import NotFoundError
from ..models import DeployResult, FunctionRecord, VersionRecord
from ..settings import VersionSettings
from .records import function_record, version_record
from .transport import POLL_FIRST_S, POLL_MAX_S, Transport


class FunctionsApi(Transport):
    """``/functions``: functions, versions, shadow reports and blame."""

    def deploy(
        self,
        namespace: str,
        name: str,
        source: str,
        *,
        settings: VersionSettings,
        description: str | None = None,
        created_by: str | None = None,
        known_functions: frozenset[str] = frozenset(),
        shadow: int | None = None,
    ) -> DeployResult:
        body: dict[str, Any] = {
            "code": source,
            **settings.model_dump(),
            "known_functions": sorted(known_functions),
        }
        if description is not None:
            body["description"] = description
        params = {} if shadow is None else {"shadow": shadow}
        data = self._json("PUT", f"/functions/{namespace}/{name}", json=body, params=params)
        return DeployResult(
            version=version_record(data),
            created=bool(data["created"]),
            current=bool(data.get("current", True)),
            shadow_report=data.get("shadow_report"),
        )

    def shadow_report(self, namespace: str, name: str, report_id: str) -> dict[str, Any]:
        document: dict[str, Any] = self._json(
            "GET", f"/functions/{namespace}/{name}/shadow-reports/{report_id}"
        )
        return document

    def shadow_reports(
        self, namespace: str, name: str, version: int | None, limit: int
    ) -> list[dict[str, Any]]:
        params: dict[str, int] = {"limit": limit}
        if version is not None:
            params["version"] = version
        data = self._json("GET", f"/functions/{namespace}/{name}/shadow-reports", params=params)
        return list(data["reports"])

    def finish_shadow(self, namespace: str, name: str, report_id: str) -> dict[str, Any]:
        """Wait until the server has run every run of the report; then the report."""
        delay = POLL_FIRST_S
        while True:
            document = self.shadow_report(namespace, name, report_id)
            if document.get("status") == "finished":
                return document
            time.sleep(delay)
            delay = min(delay * 2, POLL_MAX_S)

    def promote(
        self, namespace: str, name: str, number: int, require_clean: bool
    ) -> dict[str, Any]:
        document: dict[str, Any] = self._json(
            "POST",
            f"/functions/{namespace}/{name}/versions/{number}/promote",
            json={"require_clean": require_clean},
        )
        return document

    def get_function(self, namespace: str, name: str) -> FunctionRecord | None:
        try:
            data = self._json("GET", f"/functions/{namespace}/{name}")
        except NotFoundError:
            return None
        return function_record(data)

    def list_functions(self, namespace: str | None = None) -> list[FunctionRecord]:
        params = {} if namespace is None else {"namespace": namespace}
        data = self._json("GET", "/functions", params=params)
        return [function_record(f) for f in data["functions"]]

    def list_versions(self, namespace: str, name: str) -> list[VersionRecord]:
        """Versions, oldest first, *without* sources (``source`` is ``""``)."""
        try:
            data = self._json("GET", f"/functions/{namespace}/{name}/versions")
        except NotFoundError:
            return []
        return [version_record(v) for v in data["versions"]]

    def get_version(
        self, namespace: str, name: str, number: int | None = None
    ) -> VersionRecord | None:
        try:
            if number is None:
                data = self._json("GET", f"/functions/{namespace}/{name}")
                version = data.get("version")
                return None if version is None else version_record(version)
            return version_record(
                self._json("GET", f"/functions/{namespace}/{name}/versions/{number}")
            )
        except NotFoundError:
            return None

    def blame(
        self,
        namespace: str,
        name: str,
        *,
        from_version: int | None,
        to_version: int | None,
        runs: int,
    ) -> dict[str, Any]:
        """``GET /functions/{ns}/{name}/blame``: the document ``runtree blame --json``
        prints."""
        params: dict[str, int] = {"runs": runs}
        if from_version is not None:
            params["from"] = from_version
        if to_version is not None:
            params["to"] = to_version
        document: dict[str, Any] = self._json(
            "GET", f"/functions/{namespace}/{name}/blame", params=params
        )
        return document
