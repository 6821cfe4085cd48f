"""CORS: headers for allowed origins and answers to preflight requests.

Browsers' SDKs send headers of their own (the `openai` package sends `x-stainless-*`), so a preflight
from an allowed origin echoes the headers it asks for when they are well-formed. Credentials are never
allowed: a key travels in a header the page sets, never in a cookie.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from werkzeug import Request

from endpoint_kit._errors import EndpointError
from endpoint_kit._settings import Settings

ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key"
# What a page may read from an answer beyond the CORS-safelisted headers.
EXPOSED_HEADERS = "x-request-id, x-should-retry, Retry-After, Allow"
_HEADER_LIST = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*")
_METHOD = re.compile(r"[A-Z]{1,16}")


def allowed_origins(settings: Settings, setting: str = "cors_allowed_origins") -> tuple[str, ...]:
    """The origins a list setting allows ("*" for any), without trailing slashes."""
    return tuple(dict.fromkeys(origin.rstrip("/") for origin in settings.items(setting)))


def allowed_origin(request: Request, origins: Sequence[str]) -> str | None:
    """The value for Access-Control-Allow-Origin, or None when this origin gets no CORS headers."""
    origin = request.headers.get("Origin")
    if not origin or not origins:
        return None
    if "*" in origins:
        return "*"
    return origin if origin.rstrip("/") in origins else None


def cors_headers(request: Request, origins: Sequence[str]) -> dict[str, str]:
    """Headers for an answer: when CORS is on, every answer depends on Origin, so caches must vary on it."""
    if not origins:
        return {}
    origin = allowed_origin(request, origins)
    if origin is None:
        return {"Vary": "Origin"}
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Expose-Headers": EXPOSED_HEADERS, "Vary": "Origin"}


def preflight_headers(
    request: Request, origins: Sequence[str], methods: Sequence[str], allowed_headers: str = ALLOWED_HEADERS
) -> dict[str, str]:
    """Headers answering a preflight; raises 403 when CORS is off or the origin is not allowed.

    `methods` are the path's declared methods; when there are none (an unknown path) the requested
    method is allowed, so that the page then reads the JSON 404 instead of a network error.
    `allowed_headers` is the answer when the preflight's own header list is malformed.
    """
    if allowed_origin(request, origins) is None:
        raise EndpointError(403, "cors_forbidden", "This origin is not allowed to call this endpoint.")
    requested_method = request.headers.get("Access-Control-Request-Method", "").strip().upper()
    if not methods and _METHOD.fullmatch(requested_method):
        methods = [requested_method]
    requested_headers = request.headers.get("Access-Control-Request-Headers", "").strip()
    return {
        **cors_headers(request, origins),
        "Access-Control-Allow-Methods": ", ".join(sorted({*methods, "OPTIONS"})),
        "Access-Control-Allow-Headers": requested_headers
        if _HEADER_LIST.fullmatch(requested_headers)
        else allowed_headers,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    }
