"""HTTP interactions of a run, recorded or replayed with vcrpy, each one an I/O step.

vcrpy (https://vcrpy.readthedocs.io) patches the common clients -- ``http.client`` and so
``urllib``, ``urllib3`` and ``requests``, ``httpx`` (sync and async), ``aiohttp``, and more
-- so that every request goes through one *cassette*. Patching them costs milliseconds, so
it is done once per process (:func:`install`; the zygote does it before it forks, so a run
pays nothing for it) with one :class:`RunCassette` that is idle until a run starts it:

* **idle** -- requests pass through untouched and nothing is kept;
* **recording** -- requests go out for real; each interaction is kept, redacted
  (:mod:`.redact`), up to a size limit (past it, they are counted), and is an I/O step
  (:mod:`runtree.tracking.io_steps`) under the call that made it;
* **replaying** -- nothing goes out: a request that matches a recorded one not yet played
  (method, URL, body: all on their redacted form) gets its recorded response; one that does
  not fails with :class:`ReplayDivergence`, its I/O step failed, and the first one is the
  run's *divergence*.

Clients read a response whole before the code sees it while they run through vcrpy (a
streamed download is buffered), which is the price of recording it.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import types
from time import perf_counter_ns
from typing import Any

from ...errors import ReplayDivergence
from ...tracking import io_steps
from .imports import without
from .redact import Redactor

with without():  # vcrpy imports the clients; httpx without its command line: see .imports
    import vcr.patch
    import vcr.stubs
    from vcr.cassette import Cassette
    from vcr.matchers import body, host, method, path, port, query, scheme
    from vcr.patch import CassettePatcherBuilder, reset_patchers
    from vcr.record_mode import RecordMode
    from vcr.request import Request

MATCH_ON = (method, scheme, host, port, path, query, body)


class RunCassette(Cassette):  # type: ignore[misc]  # vcrpy is untyped
    """The process's cassette (see the module docstring for its three modes)."""

    def __init__(self) -> None:
        super().__init__(
            "runtree",
            record_mode=RecordMode.ALL,
            match_on=MATCH_ON,
            before_record_request=self._redact_request,
            before_record_response=self._redact_response,
        )
        self.active = False
        self.redactor: Redactor | None = None
        self.limit = 0
        self.size = 0
        self.kept: list[dict[str, Any]] = []  # recorded interactions, JSON-ready
        self.dropped = 0  # interactions past the size limit
        self.source = ""
        self.divergences: list[dict[str, Any]] = []
        # id(request) -> (request, its I/O step, its start, its redacted form)
        self._open: dict[int, tuple[Any, list[Any] | None, int, Any]] = {}
        # Nothing of a run in it (new, or cleared): recording then starts on what is there,
        # which a zygote's child shares with the zygote until a request writes to it.
        self._clean = True

    # --- modes -------------------------------------------------------------------------------

    def record(self, redactor: Redactor, limit: int) -> None:
        """Record this run's interactions (at most ``limit`` bytes of them)."""
        if self._clean:
            self.redactor = redactor
            self._clean = False
        else:
            self._reset(redactor)
        self.record_mode = RecordMode.ALL
        self.limit = limit
        self.active = True

    def replay(self, redactor: Redactor, interactions: list[dict[str, Any]], source: str) -> None:
        """Answer this run's requests from ``interactions`` (as :attr:`kept` had them);
        ``source`` names the recording in errors."""
        self._reset(redactor)
        self.data = [(decode_request(i["request"]), decode(i["response"])) for i in interactions]
        self._loaded_count = len(self.data)
        self.record_mode = RecordMode.NONE
        self.rewound = True
        self.source = source
        self.active = True

    def stop(self) -> None:
        self.active = False

    def clear(self) -> None:
        """Stopped, and nothing of the last run kept (its interactions, what it played)."""
        self._reset(None)
        self._played_interactions.clear()
        self._loaded_count = 0
        self.active = False
        self._clean = True

    def _reset(self, redactor: Redactor | None) -> None:
        self._clean = False
        self.redactor = redactor
        self.data = []
        self.play_counts.clear()
        self.rewound = False
        self.kept, self.dropped, self.size = [], 0, 0
        self.divergences = []
        self._open.clear()

    @property
    def unplayed(self) -> list[str]:
        """Recorded requests a replay never asked for, as ``METHOD URL``."""
        return [
            f"{request.method} {request.uri}"
            for index, (request, _) in enumerate(self.data)
            if self.play_counts[index] == 0
        ]

    # --- vcrpy's hooks -----------------------------------------------------------------------

    def _redact_request(self, request: Any) -> Any:
        return request if self.redactor is None else self.redactor.request(request)

    def _redact_response(self, response: Any) -> Any:
        return response if self.redactor is None else self.redactor.response(response)

    def can_play_response_for(self, request: Any) -> bool:
        if not self.active:
            return False
        opened = self._open.get(id(request))
        if opened is None or opened[0] is not request:
            shown = self._redact_request(request)
            step = io_steps.begin(str(request.method), shown.uri, dict(shown.headers), shown.body)
            opened = self._open[id(request)] = (request, step, perf_counter_ns(), shown)
        if self.record_mode != RecordMode.NONE:
            return False
        if request in self:
            return True
        self._diverge(request, opened[1])
        return False  # not reached: _diverge raises

    def play_response(self, request: Any) -> Any:
        response = super().play_response(request)
        self._finish(request, response)
        return response

    def append(self, request: Any, response: Any) -> None:
        """Keep a real interaction (recording). Only :attr:`kept` holds it: a recording run
        never plays from :attr:`data`. The request was redacted once, when it was opened."""
        if not self.active:
            return
        opened = self._open.get(id(request))
        if opened is not None and opened[0] is request:
            shown, started = opened[3], opened[2]
        else:
            shown, started = self._redact_request(request), perf_counter_ns()
        kept_response = self._redact_response(_copy_response(response))
        entry = {"request": encode_request(shown), "response": encode(kept_response)}
        entry["duration_ns"] = perf_counter_ns() - started
        size = _size(entry)
        if self.size + size > self.limit:
            self.dropped += 1  # not kept: memory stays bounded by the limit
        else:
            self.size += size
            self.kept.append(entry)
        self._finish(request, kept_response)

    # --- I/O steps ---------------------------------------------------------------------------

    def _finish(self, request: Any, response: dict[str, Any] | None) -> None:
        opened = self._open.pop(id(request), None)
        if opened is None:
            return
        if response is None:
            io_steps.end(opened[1])
            return
        status = response.get("status") or {}
        code = status.get("code") if isinstance(status, dict) else None
        io_steps.end(
            opened[1],
            status_code=code if isinstance(code, int) else None,
            response={
                "status": code,
                "headers": response.get("headers"),
                "body": (response.get("body") or {}).get("string"),
            },
        )

    def _diverge(self, request: Any, step: list[Any] | None) -> None:
        shown = self._redact_request(request)
        closest = self.find_requests_with_most_matches(request)
        reason = "no recorded request has this method and URL"
        if closest:
            stored, _matched, failed = closest[0]
            differs = ", ".join(name for name, _ in failed) or "it was already answered"
            reason = f"closest recorded: {stored.method} {stored.uri} (differs in: {differs})"
        if any(
            self.play_counts[index] and _same(request, stored, self)
            for index, (stored, _) in enumerate(self.data)
        ):
            reason = "every recorded answer to this request was already played"
        message = (
            f"deterministic replay: {request.method} {shown.uri} was not recorded in "
            f"{self.source}: {reason}"
        )
        self.divergences.append(
            {
                "step_id": None if step is None else step[3],
                "request": f"{request.method} {shown.uri}",
                "reason": reason,
            }
        )
        error = ReplayDivergence(message)
        self._open.pop(id(request), None)
        io_steps.end(step, error=error)
        raise error


def _copy_response(response: dict[str, Any]) -> dict[str, Any]:
    """A copy of a vcrpy response dict that redaction may change without touching the
    response the client gets: its dicts and lists copied, the values (bytes, str) shared.
    (vcrpy deep-copies it, which costs more than the rest of recording a request.)"""
    copied = dict(response)
    for name in ("status", "body"):
        if isinstance(copied.get(name), dict):
            copied[name] = dict(copied[name])
    headers = copied.get("headers")
    if isinstance(headers, dict):
        copied["headers"] = {
            key: list(value) if isinstance(value, list) else value for key, value in headers.items()
        }
    return copied


def _same(request: Any, stored: Any, cassette: RunCassette) -> bool:
    from vcr.matchers import requests_match

    return bool(requests_match(cassette.filter_request(request), stored, cassette._match_on))


# --- JSON form of interactions ---------------------------------------------------------------


def encode(value: Any) -> Any:
    """``value`` as JSON: ``bytes`` become ``{"__b64__": ...}`` (dicts, lists and tuples are
    walked)."""
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("__b64__"), str):
            return base64.b64decode(value["__b64__"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def encode_request(request: Any) -> dict[str, Any]:
    headers: dict[str, list[Any]] = {}
    for name, value in request.headers.items():
        values = list(value) if isinstance(value, list | tuple) else [value]
        headers[str(name)] = [
            v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values
        ]
    body_value = request.body
    if not isinstance(body_value, bytes | str | type(None)):
        body_value = request.body_bytes
    return {
        "method": str(request.method),
        "uri": str(request.uri),
        "body": encode(body_value),
        "headers": headers,
    }


def decode_request(data: dict[str, Any]) -> Any:
    headers = {
        name: values[0] if len(values) == 1 else values for name, values in data["headers"].items()
    }
    return Request(data["method"], data["uri"], decode(data["body"]), headers)


def _size(entry: dict[str, Any]) -> int:
    import json

    return len(json.dumps(entry))


# --- the process's patches -------------------------------------------------------------------

_cassette: RunCassette | None = None
_patches: contextlib.ExitStack | None = None


def install() -> RunCassette:
    """Patch the HTTP clients once for this process (idempotent); the process's cassette."""
    global _cassette, _patches
    if _cassette is None:
        cassette = RunCassette()
        stack = contextlib.ExitStack()
        for patcher in CassettePatcherBuilder(cassette).build():
            stack.enter_context(patcher)
        stack.callback(setattr, vcr.patch, "force_reset", vcr.patch.force_reset)
        stack.callback(setattr, vcr.stubs, "parse_headers", vcr.stubs.parse_headers)
        vcr.patch.force_reset = _RealClasses(
            [
                (target, patcher.attribute, patcher.new)
                for patcher in reset_patchers()
                if isinstance(target := patcher.getter(), types.ModuleType)
            ]
        )
        vcr.stubs.parse_headers = parse_headers
        _cassette, _patches = cassette, stack
    return _cassette


_MISSING = object()


def parse_headers(headers: dict[str, list[str]]) -> http.client.HTTPMessage:
    """vcrpy's ``parse_headers`` (the headers of the response a client gets, from vcrpy's
    ``{name: [values]}``), built directly: vcrpy writes them out as text and parses them
    again with the ``email`` parser, about 0.2 ms a response, most of what an idle stub costs.
    The same message: names and values read as ISO-8859-1 from their UTF-8 bytes, as that
    parser reads them, leading blanks and trailing line ends stripped from values, every
    value of a name kept in order, an empty payload."""
    message = http.client.HTTPMessage()
    for name, values in headers.items():
        key = name.encode("utf-8").decode("iso-8859-1")
        for value in values:
            message[key] = value.encode("utf-8").decode("iso-8859-1").lstrip(" \t").rstrip("\r\n")
    message.set_payload("")
    return message


class _RealClasses:
    """vcrpy's ``force_reset`` (the real client classes put back around each real request,
    as the patched ones derive from them), without its cost: vcrpy's version builds about
    twenty ``mock.patch`` objects per call and retries the import of every client it knows
    that is not installed, three times a request (about 3 ms a request here, 10 ms under
    load). This one swaps the module attributes of vcrpy's list, found once when the clients
    are patched, with plain ``setattr``; like vcrpy's, it keeps a value that someone else set
    inside the window. Its stubs look ``vcr.patch.force_reset`` up at each call, so replacing
    it is enough.

    Only the module attributes: they are the names the real connection classes look up while
    they run in the window (``http.client.HTTPSConnection.__init__`` calls
    ``super(HTTPSConnection, self)`` by its module's name). The class attributes vcrpy also
    swaps -- connection pools' ``ConnectionCls``, httpx transports' and tornado clients'
    request methods -- are read only by a pool making a connection or by a client sending a
    request, never inside the window (a real connection's ``__init__``, ``connect`` and
    ``request``); and setting an attribute of a class drops the interpreter's caches for it
    and its subclasses, which made those swaps cost more than the rest of the window."""

    def __init__(self, swaps: list[tuple[Any, str, Any]]) -> None:
        self.swaps = swaps

    def __call__(self) -> _RealClassesWindow:
        return _RealClassesWindow(self.swaps)


class _RealClassesWindow:
    __slots__ = ("saved", "swaps")

    def __init__(self, swaps: list[tuple[Any, str, Any]]) -> None:
        self.swaps = swaps
        self.saved: list[tuple[Any, str, Any, Any]] = []

    def __enter__(self) -> None:
        saved = self.saved
        for target, attribute, real in self.swaps:
            saved.append((target, attribute, vars(target).get(attribute, _MISSING), real))
            setattr(target, attribute, real)

    def __exit__(self, *_: object) -> None:
        for target, attribute, before, real in reversed(self.saved):
            if vars(target).get(attribute, _MISSING) is not real:
                continue  # replaced inside the window: the newer value stays
            if before is _MISSING:
                delattr(target, attribute)
            else:
                setattr(target, attribute, before)
        self.saved.clear()


WARM_UP_URL = "http://warm-up.runtree.invalid/warm-up?q=1"  # never resolved: nothing goes out


def warm_up(redactor: Redactor) -> None:
    """Take one request through the recording path without sending anything, so that what
    a run's first request builds (vcrpy's stubs, the cassette's hooks, redaction, the
    encoding of an interaction, the interpreter's specialized code) is built before a run
    needs it: the zygote calls it before forking (see :func:`runtree.execution.world.warm_up`).

    The request goes through ``http.client``, the client urllib, urllib3 and requests reach
    vcrpy's stubs through, in a replay of one interaction (answered by the cassette, so no
    socket is opened, not even to loopback), and that interaction is then kept as a
    recording keeps one. The cassette is left idle and empty. Raises what the request
    raises (callers ignore it: warming up is an optimization)."""
    cassette = install()
    headers = {"Content-Type": ["application/json"], "Content-Length": ["2"]}
    response: dict[str, Any] = {
        "status": {"code": 200, "message": "OK"},
        "headers": headers,
        "body": {"string": b"{}"},
    }
    interaction = {
        "request": {"method": "GET", "uri": WARM_UP_URL, "body": None, "headers": {}},
        "response": encode(response),
    }
    try:
        cassette.replay(redactor, [interaction], "the warm-up")
        connection = http.client.HTTPConnection("warm-up.runtree.invalid")
        connection.request("GET", "/warm-up?q=1", headers={"Accept": "*/*"})
        played = connection.getresponse()
        played.read()
        connection.close()
        cassette.record(redactor, 1 << 20)
        cassette.append(decode_request(interaction["request"]), _copy_response(response))
    finally:
        cassette.clear()


def installed() -> bool:
    """Whether this process has patched the clients."""
    return _cassette is not None


def uninstall() -> None:
    """Put the clients back as they were (for a process that goes on with other work, such
    as a test run; workers never do)."""
    global _cassette, _patches
    if _patches is not None:
        _patches.close()
    _cassette, _patches = None, None
