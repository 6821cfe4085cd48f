"""Each sender's check against the vectors the sender publishes and payloads its official library signs."""

import base64
import hashlib
import hmac
import json
import subprocess
import time
from datetime import UTC, datetime

import discord_interactions
import nacl.signing
import pytest
import slack_sdk.signature
import standardwebhooks.webhooks
import stripe
import svix.webhooks

from endpoint_kit import _signatures as signatures

BODY = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded"}).encode()


def test_github_published_example():
    # docs.github.com "Validating webhook deliveries": secret, payload and signature as published.
    headers = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    assert signatures.github(headers, b"Hello, World!", "It's a Secret to Everybody") is None
    assert signatures.github(headers, b"Hello, World?", "It's a Secret to Everybody") == "signature does not match"
    assert signatures.github({}, b"Hello, World!", "x") == "X-Hub-Signature-256 is missing"
    assert signatures.github({"X-Hub-Signature-256": "sha1=abc"}, b"", "x") is not None


def test_slack_published_example(monkeypatch):
    # api.slack.com "Verifying requests from Slack": the worked example, at its own time.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    monkeypatch.setattr(signatures.time, "time", lambda: 1531420618 + 10)
    assert signatures.slack(headers, body, "8f742231b10e8888abcd99yyyzzz85a5") is None
    monkeypatch.setattr(signatures.time, "time", lambda: 1531420618 + 301)
    assert "tolerance" in signatures.slack(headers, body, "8f742231b10e8888abcd99yyyzzz85a5")


def test_slack_signed_by_slack_sdk():
    now = int(time.time())
    verifier = slack_sdk.signature.SignatureVerifier("slack-secret")
    headers = {
        "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": verifier.generate_signature(timestamp=str(now), body=BODY),
    }
    assert signatures.slack(headers, BODY, "slack-secret") is None
    assert signatures.slack(headers, BODY, "other-secret") == "signature does not match"
    assert (
        signatures.slack({**headers, "X-Slack-Request-Timestamp": "soon"}, BODY, "slack-secret")
        == "signature timestamp is malformed"
    )


def test_stripe_signed_by_stripe_library():
    now = int(time.time())
    secret = "whsec_test_secret"
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), secret, timestamp=now)
    signature = header.split("v1=")[1].split(",")[0]
    assert signatures.stripe({"Stripe-Signature": header}, BODY, secret) is None
    rotated = f"t={now},v1={'0' * 64},v1={signature},v0=ignored"
    assert signatures.stripe({"Stripe-Signature": rotated}, BODY, secret) is None
    assert signatures.stripe({"Stripe-Signature": rotated}, BODY + b" ", secret) == "signature does not match"
    stale = hmac.new(secret.encode(), f"{now - 301}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert "tolerance" in signatures.stripe({"Stripe-Signature": f"t={now - 301},v1={stale}"}, BODY, secret)
    for malformed in ["", "v1=abc", f"t={now}", f"t={now},t={now},v1={signature}", "t=x,v1=abc", "garbage"]:
        assert signatures.stripe({"Stripe-Signature": malformed}, BODY, secret) is not None


def test_shopify_against_openssl():
    secret = "shpss_secret"
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", secret, "-binary"], input=BODY, capture_output=True, check=True
    ).stdout
    headers = {"X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode()}
    assert signatures.shopify(headers, BODY, secret) is None
    assert signatures.shopify(headers, BODY, "other") == "signature does not match"
    assert signatures.shopify({}, BODY, secret) == "X-Shopify-Hmac-Sha256 is missing"


def test_standard_webhooks_published_vector_and_svix(monkeypatch):
    now = int(time.time())
    # The Standard Webhooks reference test vector.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert "too old" in signatures.standard(headers, b'{"test": 2432232314}', secret)

    class ThatDay(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromtimestamp(1614265330 + 60, tz=tz)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", ThatDay)
    assert signatures.standard(headers, b'{"test": 2432232314}', secret) is None
    monkeypatch.undo()
    signed = svix.webhooks.Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, tz=UTC), BODY.decode())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": f"v1,{'A' * 43}= {signed}"}
    assert signatures.standard(headers, BODY, secret) is None
    assert signatures.standard(headers, BODY + b"x", secret) is not None
    assert signatures.standard({**headers, "webhook-signature": "nocomma"}, BODY, secret) is not None
    assert signatures.standard(headers, b"\xff\xfe", secret) is not None
    assert signatures.standard(headers, BODY, "whsec_%%%") is not None


def test_discord_ed25519():
    now = int(time.time())
    key = nacl.signing.SigningKey.generate()
    public = key.verify_key.encode().hex()
    body = b'{"type": 1}'
    timestamp = str(now)
    headers = {
        "X-Signature-Timestamp": timestamp,
        "X-Signature-Ed25519": key.sign(timestamp.encode() + body).signature.hex(),
    }
    assert signatures.discord(headers, body, public) is None
    assert discord_interactions.verify_key(body, headers["X-Signature-Ed25519"], timestamp, public)  # Discord's own
    assert signatures.discord(headers, body + b" ", public) == "signature does not verify"
    assert signatures.discord({**headers, "X-Signature-Ed25519": "zz"}, body, public) is not None
    assert signatures.discord(headers, body, "not-hex") is not None
    assert signatures.discord({}, body, public) is not None


@pytest.mark.parametrize("name", sorted(signatures.SCHEMES))
def test_every_check_refuses_missing_headers_without_raising(name):
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" if name == "standard" else "00" * 32
    assert signatures.SCHEMES[name]({}, b"", secret) is not None
