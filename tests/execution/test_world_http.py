"""Recording HTTP cheaply (README, "Deterministic replay"): what the recording path does
instead of vcrpy's slow parts keeps vcrpy's behaviour.

* vcrpy's ``force_reset`` (real client classes back around each real request) is replaced
  by a plain attribute swap of vcrpy's module attributes, a value set inside the window kept
  (class attributes stay patched: nothing in the window reads them);
* the response a client gets is never the redacted copy that is kept;
* a JSON body is only parsed when a secret name can be in it, and a key written with JSON
  escapes is still found.
"""

from __future__ import annotations

import http.client
import http.server
import io
import json
import threading
import types
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import vcr.patch

from runtree.execution import world
from runtree.execution.world import Session, prepare
from runtree.execution.world import http as world_http
from runtree.execution.world.redact import REDACTED, Redactor


class _Secretive(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = json.dumps({"id": 1, "api_token": "t0ken-value", "rows": [1, 2]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("set-cookie", "session=c00kie")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def _patched_only_here() -> Iterator[None]:
    """The clients are patched for these tests only: later tests in this process get them
    as they are."""
    yield
    world_http.uninstall()
    assert http.client.HTTPConnection is vcr.patch._HTTPConnection


@pytest.fixture
def server() -> Iterator[str]:
    made = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Secretive)
    threading.Thread(target=made.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{made.server_address[1]}"
    made.shutdown()
    made.server_close()


def test_the_real_classes_window_swaps_and_keeps_newer_values() -> None:
    prepare()
    reset = vcr.patch.force_reset
    assert isinstance(reset, world_http._RealClasses)
    patched = http.client.HTTPConnection
    assert patched is not world_http.vcr.patch._HTTPConnection  # vcrpy's stub is in place
    with reset():
        assert http.client.HTTPConnection is vcr.patch._HTTPConnection
        assert http.client.HTTPSConnection is vcr.patch._HTTPSConnection
        with reset():  # nested, as a real connect inside a real request
            assert http.client.HTTPConnection is vcr.patch._HTTPConnection
        assert http.client.HTTPConnection is vcr.patch._HTTPConnection
    assert http.client.HTTPConnection is patched
    newer = type("Newer", (), {})
    with reset():
        http.client.HTTPSConnection = newer  # type: ignore[misc]  # someone patches inside
    try:
        assert http.client.HTTPSConnection is newer
        assert http.client.HTTPConnection is patched
    finally:
        http.client.HTTPSConnection = vcr.patch.VCRHTTPSConnection  # type: ignore[misc]


def test_the_real_classes_window_swaps_module_names_only() -> None:
    import urllib3.connectionpool

    prepare()
    pool = urllib3.connectionpool.HTTPConnectionPool
    patched_class = pool.ConnectionCls
    assert patched_class is not vcr.patch._connHTTPConnection  # vcrpy's stub is in place
    assert all(isinstance(target, types.ModuleType) for target, _, _ in vcr.patch.force_reset.swaps)
    with vcr.patch.force_reset():
        assert pool.ConnectionCls is patched_class
        assert http.client.HTTPSConnection is vcr.patch._HTTPSConnection
    # What runs in the window needs no more: http.client's HTTPSConnection finds itself by
    # its module's name (super(HTTPSConnection, self)) while vcrpy's stub builds it.
    connection = http.client.HTTPSConnection("localhost", 1)
    assert type(connection.real_connection) is vcr.patch._HTTPSConnection


def test_a_recorded_request_gives_the_client_the_real_response(server: str) -> None:
    prepare()
    session = Session(
        {"mode": "record", "http_limit": 1 << 20, "secret_names": [], "network": True}, ()
    )
    session.start()
    try:
        response = requests.get(f"{server}/orders/1", timeout=5)
    finally:
        recording = session.stop()["recording"]
    # The client sees what the server said ...
    assert response.json()["api_token"] == "t0ken-value"
    assert response.headers["set-cookie"] == "session=c00kie"
    # ... the recording keeps it redacted.
    (kept,) = recording["http"]
    headers = {name.lower(): value for name, value in kept["response"]["headers"].items()}
    assert headers["set-cookie"] == [REDACTED]
    body = kept["response"]["body"]["string"]
    text = body if isinstance(body, str) else json.dumps(body)
    assert "t0ken-value" not in text and "c00kie" not in json.dumps(kept)
    assert kept["request"]["uri"] == f"{server}/orders/1"


def _redactor() -> Redactor:
    return world._redactor(("x_session_id",))


def test_a_json_body_without_secret_names_is_returned_as_it_is() -> None:
    redactor = _redactor()
    body = b'{"id": 1, "rows": [{"name": "a"}]}'
    assert redactor.body(body, "application/json") is body
    assert redactor._cannot_hold_a_name(body.decode())  # not even parsed
    assert not redactor._cannot_hold_a_name('{"id": 1, "note": "a token"}')


@pytest.mark.parametrize(
    "document",
    [
        '{"id": 1, "password": "hunter2"}',
        '{"id": 1, "nested": [{"Api-Key": "hunter2"}]}',
        '{"id": 1, "pass\\u0077ord": "hunter2"}',  # an escaped key: found once parsed
        '{"id": 1, "pa\u017fsword": "hunter2"}',  # a long s: the pattern folds it to "s"
        '{"id": 1, "X-SESSION-ID": "hunter2"}',  # a configured name, another spelling
    ],
)
def test_secret_fields_are_redacted_however_the_key_is_written(document: str) -> None:
    redacted = _redactor().body(document.encode(), "application/json")
    assert isinstance(redacted, bytes)
    assert b"hunter2" not in redacted
    assert REDACTED.encode() in redacted


def test_a_redactor_remembers_names_within_a_bound() -> None:
    redactor = _redactor()
    assert redactor.is_secret("Authorization") and not redactor.is_secret("id")
    for index in range(5000):
        redactor.is_secret(f"field{index}")
    assert len(redactor._names) <= 4096
    assert redactor.is_secret("Authorization") and not redactor.is_secret("field4999")


def test_warming_up_a_spare_leaves_nothing_installed() -> None:
    import os
    import time

    import time_machine

    from runtree.execution.world import randomness, warm_up

    prepare()
    real_urandom = os.urandom
    warm_up()
    assert os.urandom is real_urandom and randomness._current is None
    assert not time_machine.traveller_stack
    assert abs(time.time() - time.clock_gettime(time.CLOCK_REALTIME)) < 5
    cassette = world_http.install()
    assert not cassette.active and cassette.kept == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": ["application/json"], "Content-Length": ["12"]},
        {"set-cookie": ["a=1; Path=/", "b=2"], "X-Empty": [""], "Date": ["Sat, 05 Dec 2026"]},
        {"X-Name": ["  padded value"], "X-Folded": ["first\r\n second"], "X-Utf8": ["café"]},
    ],
)
def test_response_headers_are_the_message_vcrpys_parser_builds(
    headers: dict[str, list[str]],
) -> None:
    text = b"".join(
        name.encode() + b":" + value.encode() + b"\r\n"
        for name, values in headers.items()
        for value in values
    )
    parsed = http.client.parse_headers(io.BytesIO(text))  # what vcrpy did
    built = world_http.parse_headers(headers)
    assert built.items() == parsed.items()
    assert built.get_payload() == parsed.get_payload()
    assert type(built) is type(parsed)
    for name in headers:
        assert built.get_all(name) == parsed.get_all(name)


def test_a_request_with_nothing_to_redact_is_kept_as_it_is_and_others_are_copied() -> None:
    from vcr.request import Request

    redactor = _redactor()
    plain = Request("GET", "http://partner.test/orders/7", None, {"Accept": "*/*"})
    assert redactor.request(plain) is plain  # no copy for what holds no secret
    cases = [
        ("http://partner.test/orders/7", b"", {"Authorization": "Bearer hunter2"}),
        ("http://partner.test/orders/7?api_key=hunter2", b"", {}),
        ("http://user:hunter2@partner.test/orders/7", b"", {}),
        (
            "http://partner.test/orders",
            b'{"password": "hunter2"}',
            {"content-type": "application/json"},
        ),
    ]
    for uri, body, headers in cases:
        request = Request("POST", uri, body, headers)
        shown = redactor.request(request)
        assert shown is not request
        assert "hunter2" not in shown.uri + json.dumps(dict(shown.headers)) + shown.body.decode()
        assert "hunter2" in request.uri + json.dumps(dict(request.headers)) + request.body.decode()


def test_the_warm_up_request_sends_nothing_and_leaves_nothing_behind(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """world.warm_up (the zygote before it forks, each spare while it waits) takes a request
    through the recording path: answered by the cassette, it opens no socket, not even to
    loopback, and the next run records only its own requests."""
    import socket

    prepare()

    def no_socket(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the warm-up opened a connection")

    with monkeypatch.context() as patched:
        patched.setattr(socket.socket, "connect", no_socket)
        patched.setattr(socket, "create_connection", no_socket)
        world.warm_up()
    cassette = world_http._cassette
    assert cassette is not None and not cassette.active
    assert cassette.kept == [] and cassette.data == [] and not cassette.play_counts
    assert cassette._played_interactions == [] and cassette._open == {}
    session = Session(
        {"mode": "record", "http_limit": 1 << 20, "secret_names": [], "network": True}, ()
    )
    session.start()
    try:
        requests.get(f"{server}/orders/2", timeout=5)
    finally:
        recording = session.stop()["recording"]
    assert [kept["request"]["uri"] for kept in recording["http"]] == [f"{server}/orders/2"]
    assert recording["http_dropped"] == 0
