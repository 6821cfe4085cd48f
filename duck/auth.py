"""Caller authentication: the endpoint's API key, or an HMAC signature of the body."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from werkzeug import Request

from duck.errors import DuckError, app_not_found
from duck.settings import Settings

SIGNATURE_HEADER = "X-Duck-Signature"
TIMESTAMP_HEADER = "X-Duck-Timestamp"
SIGNATURE_WINDOW_SECONDS = 300
# Dify app ids are UUIDs; the local runtime's demo ids are short slugs. Anything else cannot exist.
_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_UNAUTHORIZED_HEADERS = {"WWW-Authenticate": 'Bearer realm="api"'}


def authorize(request: Request, settings: Settings, app_id: str | None = None) -> str | None:
    """Check the caller's credentials, then that app_id may be called; return the app id."""
    authenticate(request, settings)
    return None if app_id is None else allowed_app(settings, app_id)


def authenticate(request: Request, settings: Settings) -> None:
    """401 unless the caller holds the key or a valid signature."""
    if not (_key_matches(request, settings) or _signature_matches(request, settings)):
        raise _unauthorized(request, settings)


def allowed_app(settings: Settings, app_id: str) -> str:
    """404 for a malformed app id or one outside the pinned app, without asking Dify."""
    if not _APP_ID.fullmatch(app_id) or (settings.app_id and app_id != settings.app_id):
        raise app_not_found()
    return app_id


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a sender puts in X-Duck-Signature for this body and timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def presented_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>` or `X-API-Key`, whichever is present."""
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        scheme, _, key = authorization.strip().partition(" ")
        return key.strip() if scheme.lower() == "bearer" else None
    return request.headers.get("X-API-Key")


def _key_matches(request: Request, settings: Settings) -> bool:
    key = presented_key(request)
    if not key:
        return False
    # compare_digest on bytes: constant time whatever the length and content of the guess.
    return hmac.compare_digest(key.encode("utf-8", "surrogateescape"), settings.api_key.encode())


def _signature_matches(request: Request, settings: Settings) -> bool:
    signature = request.headers.get(SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not settings.signing_secret or not signature or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return False
    expected = sign(settings.signing_secret, timestamp, request.get_data(cache=True))
    return hmac.compare_digest(signature.strip().encode("utf-8", "surrogateescape"), expected.encode())


def _unauthorized(request: Request, settings: Settings) -> DuckError:
    if request.headers.get(SIGNATURE_HEADER) and settings.signing_secret:
        message = "Signature is invalid or older than 5 minutes."
    elif request.headers.get("Authorization") is None and request.headers.get("X-API-Key") is None:
        message = "Authorization header must be provided and start with 'Bearer'."
    else:
        message = "Access token is invalid."
    return DuckError(401, "unauthorized", message, dict(_UNAUTHORIZED_HEADERS))
