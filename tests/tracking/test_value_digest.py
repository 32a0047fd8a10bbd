"""Prehashes of redacted values: what the worker computes, without the index's key, for the
value index (runtree.tracking.value_digest); the server keys them like its own digests."""

from __future__ import annotations

from runtree.store.value_index import keyed, value_rows
from runtree.tracking.capture import CapturePolicy, realize_value
from runtree.tracking.value_digest import MAX_HIDDEN_DIGESTS, hidden_digests, prehash

POLICY = CapturePolicy()


def digest_of(text: str) -> str:
    return prehash("s", text).hex()


def test_a_secret_entry_is_redacted_and_kept_as_a_prehash_only() -> None:
    captured = realize_value(
        {"user": "ada", "api_key": " AK-1 ", "nested": {"token": 42}}, 4096, POLICY
    )
    assert captured.redacted and captured.preview["api_key"] == "[redacted]"
    assert set(captured.hidden) == {
        ("api_key", digest_of("ak-1")),
        ("token", prehash("n", "42").hex()),
    }
    assert "hidden" not in captured.to_dict(include_blob=True)  # never shown or stored
    sent = captured.to_dict(include_blob=True, include_hidden=True)["hidden"]
    assert {"key": "api_key", "digest": digest_of("ak-1")} in sent


def test_a_value_over_the_budget_redacted_in_its_preview_is_prehashed_too() -> None:
    captured = realize_value(
        {"password": "Pw-77", "padding": [f"{i:0100d}" for i in range(100)]}, 4096, POLICY
    )
    assert captured.truncated and captured.preview["password"] == "[redacted]"
    assert captured.hidden == (("password", digest_of("pw-77")),)


def test_nothing_redacted_nothing_hidden() -> None:
    assert realize_value({"user": "ada"}, 4096, POLICY).hidden == ()


def test_prehashes_are_capped_per_value() -> None:
    found = hidden_digests([("secret", list(range(1000)))])
    assert len(found) == MAX_HIDDEN_DIGESTS


def test_the_server_keys_a_prehash_to_the_digest_of_the_same_value_in_clear() -> None:
    key = bytes(range(32))
    [row] = value_rows(key, "e", 1, "input", "email", "Ada@Example.com")
    assert row == (
        "e",
        1,
        "input",
        "email",
        keyed(key, bytes.fromhex(digest_of("ada@example.com"))),
    )
