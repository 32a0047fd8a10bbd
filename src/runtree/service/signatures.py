"""Webhook signature schemes, as the providers define them (pure functions, no I/O).

Every comparison is constant-time (:func:`hmac.compare_digest`). A check returns ``None``
when the request is authentic and a short reason otherwise; reasons never contain the
secret or the expected signature.

* ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``.
* ``stripe``: ``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``
  (several ``v1`` entries may be present during secret rotation; any may match); the
  timestamp must be within the tolerance (default 300 s) of now.
* ``slack``: ``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>`` with
  ``X-Slack-Request-Timestamp: <ts>`` within the tolerance (Slack says five minutes).
* ``hmac-sha256`` (generic): ``X-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>``
  (the ``sha256=`` prefix is optional).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SCHEMES = ("none", "github", "stripe", "slack", "hmac-sha256")
DEFAULT_TOLERANCE_S = 300

# Headers that carry credentials or signatures: recorded as "[redacted]".
SIGNATURE_HEADERS = frozenset(
    {
        "x-hub-signature",
        "x-hub-signature-256",
        "stripe-signature",
        "x-slack-signature",
        "x-signature-256",
        "x-signature",
    }
)


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(
        expected.encode("ascii"), given.strip().lower().encode("ascii", "replace")
    )


def check_github(secret: str, body: bytes, headers: Mapping[str, str]) -> str | None:
    given = headers.get("x-hub-signature-256")
    if not given:
        return "missing X-Hub-Signature-256 header"
    scheme, _, digest = given.strip().partition("=")
    if scheme != "sha256" or not digest:
        return "X-Hub-Signature-256 is not of the form sha256=<hex>"
    if not _matches(hmac_hex(secret, body), digest):
        return "X-Hub-Signature-256 does not match the body"
    return None


def check_stripe(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_S,
) -> str | None:
    given = headers.get("stripe-signature")
    if not given:
        return "missing Stripe-Signature header"
    timestamp: str | None = None
    candidates: list[str] = []
    for item in given.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not timestamp.isdigit():
        return "Stripe-Signature has no timestamp (t=...)"
    if not candidates:
        return "Stripe-Signature has no v1 signature"
    if abs(now - int(timestamp)) > tolerance:
        return f"Stripe-Signature timestamp is outside the tolerance of {tolerance:g} s"
    expected = hmac_hex(secret, timestamp.encode("ascii") + b"." + body)
    # compare with every candidate (no early exit on the first match)
    results = [_matches(expected, candidate) for candidate in candidates]
    if not any(results):
        return "Stripe-Signature does not match the body"
    return None


def check_slack(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    now: float,
    tolerance: float = DEFAULT_TOLERANCE_S,
) -> str | None:
    given = headers.get("x-slack-signature")
    timestamp = headers.get("x-slack-request-timestamp")
    if not given:
        return "missing X-Slack-Signature header"
    if not timestamp or not timestamp.strip().isdigit():
        return "missing or invalid X-Slack-Request-Timestamp header"
    timestamp = timestamp.strip()
    if abs(now - int(timestamp)) > tolerance:
        return f"X-Slack-Request-Timestamp is outside the tolerance of {tolerance:g} s"
    version, _, digest = given.strip().partition("=")
    if version != "v0" or not digest:
        return "X-Slack-Signature is not of the form v0=<hex>"
    expected = hmac_hex(secret, b"v0:" + timestamp.encode("ascii") + b":" + body)
    if not _matches(expected, digest):
        return "X-Slack-Signature does not match the body"
    return None


def check_hmac_sha256(secret: str, body: bytes, headers: Mapping[str, str]) -> str | None:
    given = headers.get("x-signature-256")
    if not given:
        return "missing X-Signature-256 header"
    digest = given.strip()
    if digest.lower().startswith("sha256="):
        digest = digest[len("sha256=") :]
    if not _matches(hmac_hex(secret, body), digest):
        return "X-Signature-256 does not match the body"
    return None


def check(
    scheme: str, secret: str | None, body: bytes, headers: Mapping[str, str], now: float
) -> str | None:
    """Check a request against ``scheme`` (``headers`` keyed by lower-case name). ``None``
    when authentic (or ``scheme`` is ``none``), else the reason it is not."""
    if scheme == "none":
        return None
    if not secret:
        return "the webhook has no secret to check signatures with"
    if scheme == "github":
        return check_github(secret, body, headers)
    if scheme == "stripe":
        return check_stripe(secret, body, headers, now)
    if scheme == "slack":
        return check_slack(secret, body, headers, now)
    if scheme == "hmac-sha256":
        return check_hmac_sha256(secret, body, headers)
    return f"unknown signature scheme {scheme!r}"
