"""Signature schemes against the providers' published examples, and independently computed
signatures where no example is published (Stripe, the generic scheme)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from runtree.service import signatures

# GitHub's docs, "Validating webhook deliveries": this secret, this payload, this signature.
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_PAYLOAD = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

# Slack's docs, "Verifying requests from Slack": a slash command and its signature.
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977008"
    b"85554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c4"
    b"47fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

STRIPE_SECRET = "whsec_test_secret"
STRIPE_BODY = b'{"id": "evt_test_webhook", "object": "event"}'


def _hex(secret: str, message: bytes) -> str:
    """Computed here with hashlib, independently of the code under test."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_github_published_example() -> None:
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE}
    assert signatures.check("github", GITHUB_SECRET, GITHUB_PAYLOAD, headers, 0) is None
    # the published signature is exactly HMAC-SHA256 of the payload
    assert GITHUB_SIGNATURE == "sha256=" + _hex(GITHUB_SECRET, GITHUB_PAYLOAD)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"x-hub-signature-256": GITHUB_SIGNATURE.replace("757", "758")}, "does not match"),
        ({"x-hub-signature-256": GITHUB_SIGNATURE.removeprefix("sha256=")}, "sha256="),
        ({"x-hub-signature-256": "sha1=" + GITHUB_SIGNATURE[7:]}, "sha256="),
        ({"x-hub-signature": "sha1=whatever"}, "missing"),
    ],
)
def test_github_refusals(headers: dict[str, str], reason: str) -> None:
    result = signatures.check("github", GITHUB_SECRET, GITHUB_PAYLOAD, headers, 0)
    assert result is not None and reason in result
    assert GITHUB_SECRET not in result and GITHUB_SIGNATURE[7:] not in result


def test_github_other_body_or_secret_is_refused() -> None:
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE}
    assert signatures.check("github", GITHUB_SECRET, b"Hello, World?", headers, 0)
    assert signatures.check("github", "another secret", GITHUB_PAYLOAD, headers, 0)


def test_slack_published_example() -> None:
    headers = {"x-slack-signature": SLACK_SIGNATURE, "x-slack-request-timestamp": SLACK_TIMESTAMP}
    now = int(SLACK_TIMESTAMP) + 10
    assert signatures.check("slack", SLACK_SECRET, SLACK_BODY, headers, now) is None
    assert SLACK_SIGNATURE == "v0=" + _hex(
        SLACK_SECRET, b"v0:" + SLACK_TIMESTAMP.encode() + b":" + SLACK_BODY
    )


def test_slack_timestamp_tolerance_and_tampering() -> None:
    headers = {"x-slack-signature": SLACK_SIGNATURE, "x-slack-request-timestamp": SLACK_TIMESTAMP}
    stale = int(SLACK_TIMESTAMP) + 301
    assert "tolerance" in (
        signatures.check("slack", SLACK_SECRET, SLACK_BODY, headers, stale) or ""
    )
    early = int(SLACK_TIMESTAMP) - 301
    assert signatures.check("slack", SLACK_SECRET, SLACK_BODY, headers, early) is not None
    now = int(SLACK_TIMESTAMP)
    # a replayed signature with a new timestamp does not verify
    moved = {**headers, "x-slack-request-timestamp": str(now + 1)}
    assert signatures.check("slack", SLACK_SECRET, SLACK_BODY, moved, now) is not None
    assert signatures.check("slack", SLACK_SECRET, SLACK_BODY + b"x", headers, now) is not None
    missing = {"x-slack-signature": SLACK_SIGNATURE}
    assert "Timestamp" in (signatures.check("slack", SLACK_SECRET, SLACK_BODY, missing, now) or "")


def _stripe_header(timestamp: int, body: bytes, secret: str = STRIPE_SECRET) -> str:
    signed = _hex(secret, f"{timestamp}.".encode() + body)
    return f"t={timestamp},v1={signed},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816e"


def test_stripe_signature_with_tolerance() -> None:
    now = 1_700_000_000
    header = {"stripe-signature": _stripe_header(now, STRIPE_BODY)}
    assert signatures.check("stripe", STRIPE_SECRET, STRIPE_BODY, header, now + 299) is None
    late = signatures.check("stripe", STRIPE_SECRET, STRIPE_BODY, header, now + 301)
    assert late is not None and "tolerance" in late
    assert signatures.check("stripe", STRIPE_SECRET, STRIPE_BODY + b" ", header, now) is not None
    wrong = {"stripe-signature": _stripe_header(now, STRIPE_BODY, "whsec_other")}
    assert signatures.check("stripe", STRIPE_SECRET, STRIPE_BODY, wrong, now) is not None


def test_stripe_rotation_any_v1_matches_and_malformed_headers() -> None:
    now = 1_700_000_000
    good = _hex(STRIPE_SECRET, f"{now}.".encode() + STRIPE_BODY)
    rotated = {"stripe-signature": f"t={now},v1={'0' * 64},v1={good}"}
    assert signatures.check("stripe", STRIPE_SECRET, STRIPE_BODY, rotated, now) is None
    for header, reason in [
        (f"v1={good}", "timestamp"),
        (f"t={now}", "no v1"),
        (f"t=soon,v1={good}", "timestamp"),
        (f"t={now},v0={good}", "no v1"),
    ]:
        result = signatures.check(
            "stripe", STRIPE_SECRET, STRIPE_BODY, {"stripe-signature": header}, now
        )
        assert result is not None and reason in result, header


def test_generic_hmac_sha256() -> None:
    body = b'{"order": 7}'
    digest = _hex("s3cret", body)
    for value in (digest, "sha256=" + digest, digest.upper()):
        headers = {"x-signature-256": value}
        assert signatures.check("hmac-sha256", "s3cret", body, headers, 0) is None
    assert signatures.check("hmac-sha256", "s3cret", body, {}, 0) is not None
    assert signatures.check("hmac-sha256", "s3cret", b"{}", {"x-signature-256": digest}, 0)


def test_none_and_missing_secret() -> None:
    assert signatures.check("none", None, b"anything", {}, 0) is None
    assert (
        signatures.check(
            "github", None, GITHUB_PAYLOAD, {"x-hub-signature-256": GITHUB_SIGNATURE}, 0
        )
        is not None
    )


def test_comparisons_are_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(signatures.hmac, "compare_digest", spy)
    now = 1_700_000_000
    cases = [
        ("github", GITHUB_SECRET, GITHUB_PAYLOAD, {"x-hub-signature-256": GITHUB_SIGNATURE}),
        (
            "slack",
            SLACK_SECRET,
            SLACK_BODY,
            {"x-slack-signature": SLACK_SIGNATURE, "x-slack-request-timestamp": str(now)},
        ),
        (
            "stripe",
            STRIPE_SECRET,
            STRIPE_BODY,
            {"stripe-signature": _stripe_header(now, STRIPE_BODY)},
        ),
        ("hmac-sha256", "k", b"b", {"x-signature-256": _hex("k", b"b")}),
    ]
    for scheme, secret, body, headers in cases:
        calls.clear()
        signatures.check(scheme, secret, body, headers, now)
        assert calls, f"{scheme} compared without hmac.compare_digest"
