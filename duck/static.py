"""The playground's files, shipped in the package and served with a strict Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

from werkzeug import Response

from endpoint_kit import EndpointError

PLAYGROUND_DIR = Path(__file__).resolve().parent / "playground"
# The page's own files; only these names are served (no path ever reaches the file system).
ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
# Same origin only, no inline script or style; `data:` images for the empty favicon (no /favicon.ico request).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def page() -> Response:
    """The playground page; read at each request, so what is served is what the package holds."""
    return _file("index.html", "text/html; charset=utf-8")


def asset(name: str) -> Response:
    """One of the page's files by name; 404 for any other name."""
    if name not in ASSETS:
        raise EndpointError(404, "not_found", "Route not found.")
    return _file(name, ASSETS[name])


def _file(name: str, content_type: str) -> Response:
    return Response((PLAYGROUND_DIR / name).read_bytes(), content_type=content_type, headers=SECURITY_HEADERS)
