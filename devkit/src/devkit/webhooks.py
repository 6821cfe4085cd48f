"""`devkit webhook send`: post a realistic delivery, signed exactly as its sender signs it.

The sample payloads are our own, in each sender's documented shape. Signatures follow each sender's
documentation (see `endpoint_kit/_signatures.py` for the verifying side); Standard Webhooks uses the
`standardwebhooks` reference package and Discord an Ed25519 key (its `--secret` is the private key's
32-byte seed in hex; the matching public key is printed for the plugin's settings).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import nacl.signing
import standardwebhooks

PROVIDERS = ("github", "stripe", "slack", "discord", "shopify", "standard")
# How long each sender waits for an answer before it counts the delivery as failed (their docs).
PATIENCE_SECONDS = {"github": 10, "stripe": 20, "slack": 3, "discord": 3, "shopify": 5, "standard": 15}
# The header that gives each sender away, as the WSGI environ names it.
_SENDER_HEADER = {
    "github": "HTTP_X_GITHUB_EVENT",
    "stripe": "HTTP_STRIPE_SIGNATURE",
    "slack": "HTTP_X_SLACK_SIGNATURE",
    "discord": "HTTP_X_SIGNATURE_ED25519",
    "shopify": "HTTP_X_SHOPIFY_HMAC_SHA256",
    "standard": "HTTP_WEBHOOK_SIGNATURE",
}
_DEFAULT_EVENT = {
    "github": "issues",
    "stripe": "payment_intent.succeeded",
    "slack": "/ask",
    "discord": "ask",
    "shopify": "orders/create",
    "standard": "invoice.paid",
}


def sample(provider: str, event: str | None = None) -> tuple[bytes, str]:
    """A sample delivery body and its content type."""
    event = event or _DEFAULT_EVENT[provider]
    now = int(time.time())
    if provider == "slack":
        form = {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": "C2147483705",
            "channel_name": "test",
            "user_id": "U2147483697",
            "user_name": "ana",
            "command": event,
            "text": "Hello from Slack",
            "api_app_id": "A123456",
            "response_url": "https://hooks.slack.com/commands/1234/5678",
            "trigger_id": f"{now}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        }
        return urlencode(form).encode(), "application/x-www-form-urlencoded"
    payload: dict = {
        "github": {
            "action": "opened",
            "issue": {"number": 1347, "title": "Search ignores accents", "body": "Searching for café finds nothing."},
            "repository": {"full_name": "octo-org/pond"},
            "sender": {"login": "octocat"},
        },
        "stripe": {
            "id": f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": "2024-06-20",
            "created": now,
            "livemode": False,
            "type": event,
            "data": {
                "object": {
                    "id": f"pi_{uuid.uuid4().hex[:24]}",
                    "object": "payment_intent",
                    "amount": 2000,
                    "currency": "usd",
                    "status": "succeeded",
                }
            },
        },
        "discord": {
            "id": str(uuid.uuid4().int % 10**18),
            "application_id": "1000000000000000001",
            "type": 2,
            "token": uuid.uuid4().hex,
            "version": 1,
            "data": {
                "id": "1000000000000000002",
                "name": event,
                "type": 1,
                "options": [{"name": "question", "type": 3, "value": "Hello from Discord"}],
            },
            "member": {"user": {"id": "1000000000000000003", "username": "ana"}},
        },
        "shopify": {
            "id": 820982911946154508,
            "email": "jon@example.com",
            "total_price": "254.98",
            "currency": "USD",
            "line_items": [{"title": "Blue mug", "quantity": 2}],
        },
        "standard": {
            "type": event,
            "timestamp": datetime.fromtimestamp(now, tz=UTC).isoformat(),
            "data": {"invoice_id": "inv_001", "amount": 4200},
        },
    }[provider]
    if provider == "discord" and event == "ping":
        payload = {
            "id": payload["id"],
            "application_id": payload["application_id"],
            "type": 1,
            "version": 1,
            "token": payload["token"],
        }
    return json.dumps(payload).encode(), "application/json"


def signed_headers(
    provider: str, body: bytes, secret: str, event: str | None = None, now: int | None = None
) -> dict[str, str]:
    """The headers the sender adds to `body`, its signature included."""
    now = int(time.time()) if now is None else now
    ts = str(now)
    if provider == "github":
        return {
            "X-GitHub-Event": event or _DEFAULT_EVENT[provider],
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": "sha256=" + _hex_hmac(secret, body),
            "User-Agent": "GitHub-Hookshot/4a9b2c1",
        }
    if provider == "stripe":
        return {
            "Stripe-Signature": f"t={ts},v1={_hex_hmac(secret, ts.encode() + b'.' + body)}",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
    if provider == "slack":
        return {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": "v0=" + _hex_hmac(secret, b"v0:" + ts.encode() + b":" + body),
        }
    if provider == "discord":
        key = nacl.signing.SigningKey(bytes.fromhex(secret))
        return {
            "X-Signature-Timestamp": ts,
            "X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex(),
            "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)",
        }
    if provider == "shopify":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return {
            "X-Shopify-Topic": event or _DEFAULT_EVENT[provider],
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Shop-Domain": "example-shop.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": "2025-01",
        }
    message_id = f"msg_{uuid.uuid4().hex}"
    signature = standardwebhooks.Webhook(secret).sign(
        message_id, datetime.fromtimestamp(now, tz=UTC), body.decode(errors="replace")
    )
    return {"webhook-id": message_id, "webhook-timestamp": ts, "webhook-signature": signature}


def sender_of(environ: dict) -> str | None:
    """Which webhook sender made this request, judged by its signature headers."""
    return next((name for name, header in _SENDER_HEADER.items() if header in environ), None)


def discord_public_key(secret: str) -> str:
    """The public key (hex) that goes into the plugin's `discord_public_key` for this private seed."""
    return nacl.signing.SigningKey(bytes.fromhex(secret)).verify_key.encode().hex()


def send(
    provider: str,
    url: str,
    secret: str,
    event: str | None = None,
    body: bytes | None = None,
    content_type: str | None = None,
    timeout: float = 60,
) -> httpx.Response:
    """Post one signed delivery to `url` and return the answer."""
    sample_body, sample_type = sample(provider, event)
    body = sample_body if body is None else body
    headers = {"Content-Type": content_type or sample_type, **signed_headers(provider, body, secret, event)}
    return httpx.post(url, content=body, headers=headers, timeout=timeout)


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
