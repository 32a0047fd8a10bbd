"""RUNTREE_OTLP_* settings: the endpoint URL as the OTLP variables take it, headers in the
OTLP format, and errors that name the variable but never echo a credential."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from runtree.errors import SettingError
from runtree.settings import Settings


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("http://collector:4318", "http://collector:4318/v1/traces"),
        ("https://gateway.example/otlp/", "https://gateway.example/otlp/v1/traces"),
        ("http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/traces"),
        (" http://[::1]:4318 ", "http://[::1]:4318/v1/traces"),
    ],
)
def test_the_endpoint_is_a_base_url_or_the_traces_url(
    monkeypatch: pytest.MonkeyPatch, given: str, url: str
) -> None:
    monkeypatch.setenv("RUNTREE_OTLP_ENDPOINT", given)
    assert Settings.load().otlp_endpoint == url
    assert Settings(otlp_endpoint=given).otlp_endpoint == url


def test_no_endpoint_no_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTREE_OTLP_ENDPOINT", "")
    assert Settings.load().otlp_endpoint is None


@pytest.mark.parametrize(
    "bad", ["collector:4318", "ftp://collector", "http://", "http://c:99999", "http://c/?x=1"]
)
def test_a_bad_endpoint_is_refused_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("RUNTREE_OTLP_ENDPOINT", bad)
    with pytest.raises(SettingError, match="RUNTREE_OTLP_ENDPOINT"):
        Settings.load()
    with pytest.raises(ValidationError):
        Settings(otlp_endpoint=bad)


def test_headers_in_the_otlp_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTREE_OTLP_HEADERS", "Authorization=Bearer%20s3cr3t, x-scope=team-a,")
    settings = Settings.load()
    assert settings.otlp_headers == {"Authorization": "Bearer s3cr3t", "x-scope": "team-a"}
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in str(settings)


@pytest.mark.parametrize("bad", ["Bearer-s3cr3t", "bad name=s3cr3t", "a=s3cr3t%0Ab"])
def test_bad_headers_are_refused_without_showing_them(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("RUNTREE_OTLP_HEADERS", bad)
    with pytest.raises(SettingError, match="RUNTREE_OTLP_HEADERS") as caught:
        Settings.load()
    assert "s3cr3t" not in str(caught.value)


def test_timeout_and_backlog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTREE_OTLP_TIMEOUT", "2.5")
    monkeypatch.setenv("RUNTREE_OTLP_BACKLOG", "50")
    settings = Settings.load()
    assert (settings.otlp_timeout_s, settings.otlp_backlog) == (2.5, 50)
    assert (Settings().otlp_timeout_s, Settings().otlp_backlog) == (10.0, 1000)
    for field, bad in (("otlp_timeout_s", 0), ("otlp_backlog", 0)):
        with pytest.raises(ValidationError, match=field):
            Settings(**{field: bad})
