"""Who may call Duck: the endpoint's API key, or Duck's own HMAC signature of the request
(X-Duck-Signature), as endpoint_kit policies; and which app ids a caller may name."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from urllib.parse import parse_qsl, quote, urlencode

from werkzeug import Request

from duck.settings import DuckSettings, duck_settings
from endpoint_kit import (
    Settings,
    app_not_found,
    canonical_id,
    key_matches,
    key_refused,
    not_configured,
    presented_key,
    raw_body,
    unauthorized,
)

SIGNATURE_HEADER = "X-Duck-Signature"
TIMESTAMP_HEADER = "X-Duck-Timestamp"
SIGNATURE_WINDOW_SECONDS = 300
# The request headers a page may send (a preflight with a malformed header list gets these).
CORS_HEADERS = f"Authorization, Content-Type, X-API-Key, {SIGNATURE_HEADER}, {TIMESTAMP_HEADER}"
# Dify app ids are UUIDs; the local runtime's demo ids are short slugs. Anything else cannot exist.
_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII seconds: int() would also take "٣" and choke on "²"


def caller(request: Request, settings: Settings) -> None:
    """Duck's policy for its API routes: 503 until a key is set; then the key or a valid signature."""
    duck = configured(settings)
    authenticate(request, duck)


def key_configured(request: Request, settings: Settings) -> None:
    """The policy of routes that check no caller but answer only once the endpoint is set up (the
    JSON fallbacks), so an endpoint saved without a key answers 503 everywhere but /health."""
    configured(settings)


def configured(settings: Settings) -> DuckSettings:
    duck = duck_settings(settings)
    if not duck.api_key:
        raise not_configured("api_key")
    return duck


def authenticate(request: Request, settings: DuckSettings) -> None:
    """401 unless the caller holds the key or a valid signature."""
    if key_matches(presented_key(request), settings.api_key) or _signature_matches(request, settings):
        return
    if request.headers.get(SIGNATURE_HEADER) and settings.signing_secret:
        raise unauthorized(
            "Signature is invalid or older than 5 minutes (scheme v2 signs timestamp, method, path, query and body)."
        )
    raise key_refused(request)


def allowed_app(settings: DuckSettings, app_id: str) -> str:
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


def _signature_matches(request: Request, settings: DuckSettings) -> bool:
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
    return key_matches(signature, expected)
