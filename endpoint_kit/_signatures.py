"""Webhook signature checks, exactly as each sender documents them.

Each check takes the request's headers and raw body and returns None when the signature is valid,
or a short reason (safe to show the caller) when it is not. Comparisons are constant-time; senders
that sign a timestamp are held to their own tolerance window.

- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`
  (docs.github.com, "Validating webhook deliveries").
- Stripe: `Stripe-Signature: t=<ts>,v1=<hex>[,v1=...]` over `<ts>.<body>`, 300 s tolerance; any `v1`
  may match (secret rotation) (docs.stripe.com, "Verify webhook signatures manually").
- Slack: `X-Slack-Signature: v0=<hex>` over `v0:<X-Slack-Request-Timestamp>:<body>`, 300 s
  (api.slack.com, "Verifying requests from Slack").
- Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(secret, body)>` (shopify.dev, "Verify webhooks").
- Standard Webhooks (Svix and others): `webhook-id`, `webhook-timestamp`, `webhook-signature`, with
  the `standardwebhooks` reference package (300 s tolerance, `whsec_` base64 secrets).
- Discord: Ed25519 over `<X-Signature-Timestamp><body>` with the application's public key, in
  `X-Signature-Ed25519` (discord.com developers, "Receiving and Responding", security).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

import nacl.exceptions
import nacl.signing
import standardwebhooks
from werkzeug.datastructures import Headers

TOLERANCE_SECONDS = 300

# A request's headers (werkzeug's, case-insensitive) or any mapping of them.
HeaderMap = Mapping[str, str] | Headers
Check = Callable[[HeaderMap, bytes, str], str | None]


def github(headers: HeaderMap, body: bytes, secret: str) -> str | None:
    signature = headers.get("X-Hub-Signature-256", "")
    if not signature.startswith("sha256="):
        return "X-Hub-Signature-256 is missing"
    return _matches(signature[len("sha256=") :], _hex_hmac(secret, body))


def stripe(headers: HeaderMap, body: bytes, secret: str) -> str | None:
    fields = [part.partition("=") for part in headers.get("Stripe-Signature", "").split(",")]
    timestamps = [value.strip() for key, _, value in fields if key.strip() == "t"]
    candidates = [value.strip() for key, _, value in fields if key.strip() == "v1"]
    if len(timestamps) != 1 or not candidates:
        return "Stripe-Signature is missing or malformed"
    stale = _stale(timestamps[0])
    if stale:
        return stale
    expected = _hex_hmac(secret, timestamps[0].encode() + b"." + body)
    if any(_equal(candidate, expected) for candidate in candidates):
        return None
    return "signature does not match"


def slack(headers: HeaderMap, body: bytes, secret: str) -> str | None:
    signature = headers.get("X-Slack-Signature", "")
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    if not signature.startswith("v0=") or not timestamp:
        return "X-Slack-Signature or X-Slack-Request-Timestamp is missing"
    stale = _stale(timestamp)
    if stale:
        return stale
    expected = _hex_hmac(secret, b"v0:" + timestamp.encode() + b":" + body)
    return _matches(signature[len("v0=") :], expected)


def shopify(headers: HeaderMap, body: bytes, secret: str) -> str | None:
    signature = headers.get("X-Shopify-Hmac-Sha256", "")
    if not signature:
        return "X-Shopify-Hmac-Sha256 is missing"
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return _matches(signature, expected)


def standard(headers: HeaderMap, body: bytes, secret: str) -> str | None:
    try:
        standardwebhooks.Webhook(secret).verify(body, dict(headers.items()), json_parse=False)
    except standardwebhooks.WebhookVerificationError as e:
        return f"signature does not verify ({e})"
    except Exception:  # a malformed secret, header or non-UTF-8 body: the reference code raises raw errors
        return "signature headers or secret are malformed"
    return None


def discord(headers: HeaderMap, body: bytes, public_key: str) -> str | None:
    signature = headers.get("X-Signature-Ed25519", "")
    timestamp = headers.get("X-Signature-Timestamp", "")
    if not signature or not timestamp:
        return "X-Signature-Ed25519 or X-Signature-Timestamp is missing"
    try:
        key = nacl.signing.VerifyKey(bytes.fromhex(public_key.strip()))
        key.verify(timestamp.encode() + body, bytes.fromhex(signature))
    except (ValueError, TypeError, nacl.exceptions.CryptoError):
        return "signature does not verify"
    return None


SCHEMES: dict[str, Check] = {
    "github": github,
    "stripe": stripe,
    "slack": slack,
    "shopify": shopify,
    "standard": standard,
    "discord": discord,
}


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), expected.encode())


def _matches(given: str, expected: str) -> str | None:
    return None if _equal(given, expected) else "signature does not match"


def _stale(timestamp: str) -> str | None:
    """A reason when the signed timestamp is malformed or outside the sender's tolerance window."""
    try:
        signed_at = int(timestamp.strip())
    except ValueError:
        return "signature timestamp is malformed"
    if abs(time.time() - signed_at) > TOLERANCE_SECONDS:
        return "signature timestamp is outside the 5-minute tolerance"
    return None
