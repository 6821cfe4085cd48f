"""CORS: headers for allowed origins and answers to preflight requests."""

from __future__ import annotations

from werkzeug import Request

from duck.errors import DuckError
from duck.settings import Settings

ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key, X-Duck-Signature, X-Duck-Timestamp"


def allowed_origin(request: Request, settings: Settings) -> str | None:
    """The value for Access-Control-Allow-Origin, or None when this origin gets no CORS headers."""
    origin = request.headers.get("Origin")
    if not origin or not settings.cors_allowed_origins:
        return None
    if "*" in settings.cors_allowed_origins:
        return "*"
    return origin if origin.rstrip("/") in settings.cors_allowed_origins else None


def cors_headers(request: Request, settings: Settings) -> dict[str, str]:
    origin = allowed_origin(request, settings)
    if origin is None:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def preflight_headers(request: Request, settings: Settings, methods: list[str]) -> dict[str, str]:
    """Headers answering a preflight; raises 403 when CORS is off or the origin is not allowed."""
    if allowed_origin(request, settings) is None:
        raise DuckError(403, "cors_forbidden", "This origin is not allowed to call this endpoint.")
    return {
        **cors_headers(request, settings),
        "Access-Control-Allow-Methods": ", ".join(sorted({*methods, "OPTIONS"})),
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    }
