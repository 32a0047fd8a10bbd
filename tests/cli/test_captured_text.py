"""How the CLI shows a captured value's truncation marks."""

from __future__ import annotations

from runtree.cli.views import captured_text


def test_a_cut_value_of_unknown_size_is_shown_as_a_lower_bound_without_a_digest() -> None:
    value = {
        "preview": [1, 2],
        "size": 65_600,
        "truncated": True,
        "warning": "more than 65,536 bytes serialized; cut there",
    }
    assert captured_text(value) == "[1, 2] … (truncated: more than 65600 bytes)"


def test_a_cut_string_shows_its_exact_size_and_digest() -> None:
    value = {
        "preview": "ab… [100000 chars]",
        "size": 100_000,
        "truncated": True,
        "sha256": "ab" * 32,
    }
    assert captured_text(value).endswith("(truncated: 100000 bytes, sha256 abababababab)")
