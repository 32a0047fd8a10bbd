"""Secrets out of recorded HTTP interactions, before anything is kept.

Redacted, to the literal ``[redacted]``: headers named like a secret (``Authorization``,
``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``, ``X-Api-Key`` ..., by the same names as
the recorded inputs: :data:`~runtree.tracking.capture.DEFAULT_SECRET_NAMES` plus the
configured ones), the password of a URL's user info (as ``%5Bredacted%5D``: a bracket there
would make the host read as an IPv6 address), query parameters so named, and fields
so named at any depth of a JSON or form-encoded body (request and response). Everything
else is kept as it was. A replay redacts each request the same way before matching, so a
request with a secret matches the recording on its redacted form.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.parse
from typing import Any

REDACTED = "[redacted]"  # in a URL's user info percent-encoded: %5Bredacted%5D
NAMES_CACHED = 4096  # names whose verdict a Redactor remembers


class Redactor:
    """Redaction by a compiled pattern of secret names (see :mod:`runtree.tracking.capture`).
    ``names``, the names the pattern was built from, let a body be passed over without
    parsing it when none of them can occur in it."""

    def __init__(self, secret: re.Pattern[str], names: tuple[str, ...] = ()) -> None:
        self.secret = secret
        self._names: dict[str, bool] = {}  # names seen -> secret? (bodies repeat their keys)
        # A name matches only where its longest part between "_" (the pattern's optional
        # separator) occurs, in any case. Without names, or with an empty part, every body
        # is parsed.
        anchors = [max(name.lower().split("_"), key=len) for name in names]
        usable = anchors and all(anchors) and all(name.isascii() for name in names)
        self._anchors = tuple(anchors) if usable else None

    def is_secret(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        known = self._names.get(name)
        if known is None:
            known = self.secret.search(name) is not None
            if len(self._names) < NAMES_CACHED:
                self._names[name] = known
        return known

    # --- requests (vcrpy's Request) ----------------------------------------------------------

    def request(self, request: Any) -> Any:
        """A redacted copy of a vcrpy ``Request`` (the original is left as it is), or the
        request itself when nothing in it is to be redacted (most requests: no copy)."""
        uri = request.uri
        url = self.url(uri)
        headers = request.headers
        secret = any(self.is_secret(name) for name in headers)
        body = request.body
        shown_body = body
        if isinstance(body, bytes | str) and body:
            shown_body = self.body(body, _header(headers, "content-type"))
        if url == uri and not secret and shown_body is body:
            return request
        redacted = copy.copy(request)
        redacted.uri = url
        redacted.headers = {
            name: REDACTED if self.is_secret(name) else value for name, value in headers.items()
        }
        redacted.body = shown_body
        return redacted

    def url(self, url: str) -> str:
        """``url`` with the password of its user info and secret query parameters redacted."""
        if "@" not in url and "?" not in url and "#" not in url:
            return url  # nothing to redact, and splitting and joining it gives it back
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            return url
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            user, colon, _password = userinfo.partition(":")
            # Percent-encoded: brackets in the user info make the host read as IPv6.
            hidden = urllib.parse.quote(REDACTED)
            netloc = f"{user}:{hidden}@{host}" if colon else f"{hidden}@{host}"
        query = parts.query
        if query:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
            if any(self.is_secret(name) for name, _ in pairs):
                query = urllib.parse.urlencode(
                    [(n, REDACTED if self.is_secret(n) else v) for n, v in pairs], safe="[]"
                )
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))

    # --- responses (vcrpy's response dicts) --------------------------------------------------

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """A vcrpy response dict with secret headers and body fields redacted (in place: vcrpy
        hands over a copy)."""
        headers = response.get("headers") or {}
        for name in list(headers):
            if self.is_secret(name):
                headers[name] = [REDACTED]
        body = response.get("body")
        if isinstance(body, dict) and isinstance(body.get("string"), bytes | str):
            values = headers.get("Content-Type") or headers.get("content-type") or [""]
            content_type = values[0] if isinstance(values, list) and values else str(values)
            body["string"] = self.body(body["string"], content_type)
        return response

    # --- bodies ------------------------------------------------------------------------------

    def body(self, body: bytes | str, content_type: str | None) -> bytes | str:
        """A JSON or form-encoded body with secret fields redacted; any other body as it is."""
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        redacted: str | None = None
        if kind == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
            if any(self.is_secret(name) for name, _ in pairs):
                redacted = urllib.parse.urlencode(
                    [(n, REDACTED if self.is_secret(n) else v) for n, v in pairs]
                )
        elif kind.endswith("json") or text[:1] in ("{", "["):
            if self._cannot_hold_a_name(text):
                return body
            try:
                document = json.loads(text)
            except (ValueError, RecursionError):
                return body
            cleaned, changed = self._json(document)
            if changed:
                redacted = json.dumps(cleaned, separators=(",", ":"))
        if redacted is None:
            return body
        return redacted.encode() if isinstance(body, bytes) else redacted

    def _cannot_hold_a_name(self, text: str) -> bool:
        """Whether no key of the JSON ``text`` can be a secret name, known without parsing
        it: its keys appear verbatim in an ASCII text without escapes, and ``str.lower``
        folds ASCII as the pattern's IGNORECASE does; one plain substring search a name
        (searching the text with the pattern itself costs more than parsing it)."""
        anchors = self._anchors
        if anchors is None or "\\" in text or not text.isascii():
            return False
        lowered = text.lower()
        return not any(anchor in lowered for anchor in anchors)

    def _json(self, value: Any) -> tuple[Any, bool]:
        if isinstance(value, dict):
            changed = False
            result = {}
            for key, item in value.items():
                if self.is_secret(key):
                    result[key], changed = REDACTED, True
                else:
                    result[key], inner = self._json(item)
                    changed = changed or inner
            return result, changed
        if isinstance(value, list):
            items = [self._json(item) for item in value]
            return [item for item, _ in items], any(inner for _, inner in items)
        return value, False


def _header(headers: Any, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, list | tuple):
                value = value[0] if value else ""
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None
