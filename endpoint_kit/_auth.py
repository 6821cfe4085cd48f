"""Who may call a route: per-route policies the handler wrapper runs before the handler.

A policy is a function `(request, settings) -> None` that raises EndpointError: 401 for a caller it
refuses, 503 `not_configured` when the setting it needs is empty (an endpoint saved without its key or
secret is never open, and never a 500).

- key_auth: the endpoint's key as `Authorization: Bearer <key>` or `X-API-Key: <key>` (as Dify's own
  Service API takes its app keys), compared in constant time; refusals worded as the Service API's.
- signature_auth: a webhook sender's own signature over the raw body (SIGNATURE_SCHEMES: GitHub,
  Stripe, Slack, Shopify, Standard Webhooks with the secret; Discord with the application's public key).
- no_auth: anyone (health checks, public documents).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable

from werkzeug import Request

from endpoint_kit._body import raw_body
from endpoint_kit._errors import EndpointError
from endpoint_kit._settings import Settings
from endpoint_kit._signatures import SCHEMES

Policy = Callable[[Request, Settings], None]

# RFC 9110 asks a 401 to name a scheme the caller can use; Dify's Service API names this one.
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="api"'}
_DISCORD_KEY = re.compile(r"[0-9a-fA-F]{64}")


def key_auth(setting: str = "api_key") -> Policy:
    """Callers present the key stored in `setting` (Bearer or X-API-Key)."""

    def check_key(request: Request, settings: Settings) -> None:
        key = settings.text(setting)
        if not key:
            raise not_configured(setting)
        if not key_matches(presented_key(request), key):
            raise key_refused(request)

    return check_key


def signature_auth(
    scheme: str | None = None, secret_setting: str | None = None, *, scheme_setting: str | None = None
) -> Policy:
    """Callers sign the body as sender `scheme` does, with the secret (Discord: public key) in
    `secret_setting` (default `webhook_secret`; `discord_public_key` for Discord).

    With `scheme_setting` instead of `scheme`, the admin picks the sender in that select setting (one
    of SIGNATURE_SCHEMES' names) and each request is checked against the sender picked.
    """
    if (scheme is None) == (scheme_setting is None):
        raise ValueError("signature_auth takes a scheme or a scheme_setting, not both and not neither")
    if scheme is not None and scheme not in SCHEMES:
        raise ValueError(f"unknown signature scheme {scheme!r}; known: {', '.join(SCHEMES)}")

    def check_signature(request: Request, settings: Settings) -> None:
        sender = scheme or settings.choice(scheme_setting or "", SCHEMES)
        if sender is None:
            raise _unknown_sender(scheme_setting or "", settings.text(scheme_setting or ""))
        setting = secret_setting or ("discord_public_key" if sender == "discord" else "webhook_secret")
        secret = settings.text(setting)
        if not secret:
            raise not_configured(setting)
        verify_signature(request, sender, secret, setting)

    return check_signature


def no_auth() -> Policy:
    """Anyone may call the route."""

    def anyone(request: Request, settings: Settings) -> None:
        return None

    return anyone


def presented_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>` or `X-API-Key`; Authorization wins when both are sent
    (a wrong bearer is not rescued by a right X-API-Key)."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, key = authorization.strip().partition(" ")
        return key.strip() if scheme.lower() == "bearer" else None
    return request.headers.get("X-API-Key")


def key_matches(given: str | None, key: str) -> bool:
    """Constant-time comparison (on bytes: whatever the length and content of the guess)."""
    return bool(given) and hmac.compare_digest((given or "").encode("utf-8", "surrogateescape"), key.encode())


def key_refused(request: Request) -> EndpointError:
    """The Service API's 401 for a missing or wrong key."""
    if request.headers.get("Authorization") is None and request.headers.get("X-API-Key") is None:
        return unauthorized("Authorization header must be provided and start with 'Bearer'.")
    return unauthorized("Access token is invalid.")


def verify_signature(request: Request, scheme: str, secret: str, setting: str = "webhook_secret") -> None:
    """401 unless the request carries a valid `scheme` signature; 503 when a Discord key is malformed."""
    if scheme == "discord" and not _DISCORD_KEY.fullmatch(secret):
        raise EndpointError(
            503,
            "not_configured",
            f"{setting} must be the application's public key: 64 hexadecimal characters, as Discord shows it.",
        )
    reason = SCHEMES[scheme](request.headers, raw_body(request), secret)
    if reason:
        raise unauthorized(f"The {scheme} signature was rejected: {reason}.")


def unauthorized(message: str) -> EndpointError:
    return EndpointError(401, "unauthorized", message, dict(UNAUTHORIZED_HEADERS))


def _unknown_sender(setting: str, value: str) -> EndpointError:
    """503 for a sender setting that is unset, or names no scheme (a value from an older plugin version)."""
    if not value:
        return not_configured(setting)
    known = ", ".join(SCHEMES)
    return EndpointError(
        503, "not_configured", f"This endpoint's {setting} setting names no known sender; use one of: {known}."
    )


def not_configured(setting: str) -> EndpointError:
    """503: the endpoint cannot check callers until `setting` is filled in (never open, never a 500)."""
    return EndpointError(503, "not_configured", f"This endpoint's {setting} setting is empty; set it in Dify.")
