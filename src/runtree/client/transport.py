"""How the client talks to a server: one HTTP connection pool, the API's prefix, and errors
for answers that are not what a runtree server sends.

:class:`Transport` is the base of :class:`runtree.client.RemoteClient` and of each of its
resource areas (:mod:`.functions`, :mod:`.executions` ...), which call ``_json`` and
``_request`` with a path under ``/api/v1``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..errors import ServerUnreachable
from .problems import problem_error

API = "/api/v1"
TIMEOUT_S = 60.0
# Waiting for the server (an execution, a shadow report) polls, backing off from the first
# to the longest pause.
POLL_FIRST_S = 0.05
POLL_MAX_S = 0.5


class Transport:
    """One server at ``url`` (``http://host:port``), authenticated with ``api_key``."""

    def __init__(self, url: str, api_key: str | None, *, timeout: float = TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, API + path, **kwargs)
        except httpx.HTTPError as error:
            raise ServerUnreachable(
                f"cannot reach the runtree server at {self.url}: {error}"
            ) from None
        if response.status_code >= 400:
            raise problem_error(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ServerUnreachable(
                f"{self.url} did not answer with JSON: is it a runtree server?"
            ) from None
