"""CORS: headers for allowed origins and answers to preflight requests.

Browsers' SDKs send headers of their own (the `openai` package sends `x-stainless-*`), so a preflight
from an allowed origin is answered on any path and echoes the headers it asks for. Credentials are
never allowed: the key travels in a header the page sets, never in a cookie.
"""

from __future__ import annotations

import re

from werkzeug import Request

from duck.settings import Settings
from endpoint_kit import EndpointError

ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key, X-Duck-Signature, X-Duck-Timestamp"
# What a page may read from an answer beyond the CORS-safelisted headers.
EXPOSED_HEADERS = "x-request-id, x-should-retry, Retry-After, Allow"
_HEADER_LIST = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*")
_METHOD = re.compile(r"[A-Z]{1,16}")


def allowed_origin(request: Request, settings: Settings) -> str | None:
    """The value for Access-Control-Allow-Origin, or None when this origin gets no CORS headers."""
    origin = request.headers.get("Origin")
    if not origin or not settings.cors_allowed_origins:
        return None
    if "*" in settings.cors_allowed_origins:
        return "*"
    return origin if origin.rstrip("/") in settings.cors_allowed_origins else None


def cors_headers(request: Request, settings: Settings) -> dict[str, str]:
    """Headers for an answer: when CORS is on, every answer depends on Origin, so caches must vary on it."""
    if not settings.cors_allowed_origins:
        return {}
    origin = allowed_origin(request, settings)
    if origin is None:
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS, "Vary": "Origin"}


def preflight_headers(request: Request, settings: Settings, methods: list[str]) -> dict[str, str]:
    """Headers answering a preflight; raises 403 when CORS is off or the origin is not allowed.

    `methods` are the path's declared methods; on an unknown path the requested method is allowed, so the
    page then reads the JSON 404 instead of a network error.
    """
    if allowed_origin(request, settings) is None:
        raise EndpointError(403, "cors_forbidden", "This origin is not allowed to call this endpoint.")
    requested_method = request.headers.get("Access-Control-Request-Method", "").strip().upper()
    if not methods and _METHOD.fullmatch(requested_method):
        methods = [requested_method]
    requested_headers = request.headers.get("Access-Control-Request-Headers", "").strip()
    return {
        **cors_headers(request, settings),
        "Access-Control-Allow-Methods": ", ".join(sorted({*methods, "OPTIONS"})),
        "Access-Control-Allow-Headers": requested_headers
        if _HEADER_LIST.fullmatch(requested_headers)
        else ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    }
