"""The one way runtree writes a moment in JSON: RFC 3339 in UTC with ``Z``
(``2026-12-05T03:11:18.123456Z``; no fraction when it is zero) -- the form the HTTP API's
pydantic models produce, so the CLI's ``--json`` and the API agree character for character.
"""

from __future__ import annotations

import datetime


def rfc3339(moment: datetime.datetime) -> str:
    """``moment`` in UTC, ending in ``Z``. A naive datetime is taken to be UTC already (the
    store keeps UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).isoformat().removesuffix("+00:00") + "Z"
