"""Caller authentication: the endpoint's API key, or an HMAC signature of the request."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import parse_qsl, quote, urlencode

from werkzeug import Request

from duck.errors import app_not_found
from duck.models import raw_body
from duck.settings import Settings
from endpoint_kit import EndpointError, canonical_id

SIGNATURE_HEADER = "X-Duck-Signature"
TIMESTAMP_HEADER = "X-Duck-Timestamp"
SIGNATURE_WINDOW_SECONDS = 300
# Dify app ids are UUIDs; the local runtime's demo ids are short slugs. Anything else cannot exist.
_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII seconds: int() would also take "٣" and choke on "²"
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
    """The app id in canonical spelling; 404 for a malformed one or one outside the pinned app."""
    if not _APP_ID.fullmatch(app_id):
        raise app_not_found()
    app_id = canonical_id(app_id)  # ABC..., abc... and no-hyphen forms are one app to Dify
    if settings.app_id and app_id != settings.app_id:
        raise app_not_found()
    return app_id


def string_to_sign(timestamp: str, method: str, path: str, query: str, body: bytes) -> bytes:
    """What a v2 signature covers: timestamp, method, path (after the endpoint URL), query, body.

    The path is taken decoded and percent-encoded again except `/`, and the query's pairs sorted, so
    the text is the same whatever re-encoding and reordering happened on the way (the daemon sorts
    the query). A path and query without special characters are signed as written.
    """
    canonical_path = quote(path, safe="/")
    canonical_query = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    return f"v2\n{timestamp}\n{method.upper()}\n{canonical_path}\n{canonical_query}\n".encode() + body


def sign(secret: str, timestamp: str, body: bytes, method: str = "POST", path: str = "/", query: str = "") -> str:
    """The X-Duck-Signature a sender puts on this request (scheme v2)."""
    mac = hmac.new(secret.encode(), string_to_sign(timestamp, method, path, query, body), hashlib.sha256)
    return "v2=" + mac.hexdigest()


def sign_body_only(secret: str, timestamp: str, body: bytes) -> str:
    """The old scheme (v1): timestamp and body only, so one signature is valid on every route."""
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
    signature = (request.headers.get(SIGNATURE_HEADER) or "").strip()
    timestamp = (request.headers.get(TIMESTAMP_HEADER) or "").strip()
    if not settings.signing_secret or not signature or not _TIMESTAMP.fullmatch(timestamp):
        return False
    if abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return False
    body = raw_body(request)
    if signature.startswith("v2="):
        expected = sign(
            settings.signing_secret,
            timestamp,
            body,
            request.method,
            request.path,
            request.query_string.decode("latin-1"),
        )
    elif signature.startswith("sha256=") and settings.accept_body_only_signatures:
        expected = sign_body_only(settings.signing_secret, timestamp, body)
    else:
        return False
    return hmac.compare_digest(signature.encode("utf-8", "surrogateescape"), expected.encode())


def _unauthorized(request: Request, settings: Settings) -> EndpointError:
    if request.headers.get(SIGNATURE_HEADER) and settings.signing_secret:
        message = (
            "Signature is invalid or older than 5 minutes (scheme v2 signs timestamp, method, path, query and body)."
        )
    elif request.headers.get("Authorization") is None and request.headers.get("X-API-Key") is None:
        message = "Authorization header must be provided and start with 'Bearer'."
    else:
        message = "Access token is invalid."
    return EndpointError(401, "unauthorized", message, dict(_UNAUTHORIZED_HEADERS))
