"""``RemoteClient``: the operations the CLI needs, over HTTP.

It returns the records of :mod:`runtree.models` (ids the API does not expose, such as
``function_id``, are ``0``: :mod:`.records`) and raises the errors the local code paths raise
for the same problems -- :class:`~runtree.store.NotFoundError`,
:class:`~runtree.service.InputError`, :class:`~runtree.service.Unauthenticated`,
:class:`~runtree.service.Forbidden` ... -- built from the server's problem documents
(:mod:`.problems`), so the CLI prints the same thing either way.

The calls are grouped by resource area, one module each (:mod:`.functions`,
:mod:`.executions`, :mod:`.access`, :mod:`.retention`, :mod:`.webhooks`, :mod:`.schedules`),
over one :class:`~.transport.Transport`; this module puts them together in the one class
users import (``runtree.client.RemoteClient``, or from here).
"""

from __future__ import annotations

from .access import AccessApi
from .executions import CANCEL_GRACE_S, ExecutionsApi
from .functions import FunctionsApi
from .retention import RetentionApi
from .schedules import SchedulesApi
from .transport import API, POLL_FIRST_S, POLL_MAX_S, TIMEOUT_S
from .webhooks import WebhooksApi

__all__ = [
    "API",
    "CANCEL_GRACE_S",
    "POLL_FIRST_S",
    "POLL_MAX_S",
    "TIMEOUT_S",
    "RemoteClient",
]


class RemoteClient(FunctionsApi, ExecutionsApi, AccessApi, RetentionApi, WebhooksApi, SchedulesApi):
    """One server at ``url`` (``http://host:port``), authenticated with ``api_key``
    (``RemoteClient(url, api_key, timeout=TIMEOUT_S)``); :meth:`close` it when done."""

    remote = True

    @property
    def description(self) -> str:
        return f"server {self.url}"
