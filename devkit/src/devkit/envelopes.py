"""The daemon's own JSON answers, byte for byte as Go's encoding/json and gin write them."""

from __future__ import annotations

import json

CONTENT_TYPE = "application/json; charset=utf-8"  # gin's render.JSON

# gin's NoRoute handler (internal/server/http_server.go): a path outside /e/<hook>/..., or a method
# the daemon does not route (it routes HEAD, GET, POST, PUT, DELETE, OPTIONS; no PATCH).
ROUTE_NOT_FOUND = {"code": "not_found", "message": "route not found"}


def go_json(value: object) -> bytes:
    """encoding/json.Marshal: compact, UTF-8 kept, <, > and & escaped. Key order is the caller's: Go
    writes a struct's fields in declaration order and a map's keys sorted (see _as_go_map)."""
    text = json.dumps(_go_numbers(value), ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text.encode()


def daemon_error(message: str, error_type: str, code: int) -> dict:
    """exception.ErrorWithTypeAndCode(...).ToResponse() (internal/types/exception/generic.go): the
    genericError JSON (message, error_type, args) as a string inside entities.Response."""
    inner = go_json({"message": message, "error_type": error_type, "args": None}).decode()
    return {"code": code, "message": inner, "data": None}


def internal_server_error(message: str) -> dict:
    """exception.InternalServerError (factory.go): code -500, PluginDaemonInternalServerError."""
    return daemon_error(message, "PluginDaemonInternalServerError", -500)


def plugin_error_text(data: object) -> str:
    """plugin_entities.ErrorResponse.Error() (pkg/entities/plugin_entities/event.go): the plugin's
    session error re-marshalled from a Go map, so keys come out sorted (args, error_type, message)."""
    error = data if isinstance(data, dict) else {}
    return go_json(
        {
            "args": _as_go_map(error.get("args")),
            "error_type": error.get("error_type", ""),
            "message": error.get("message", ""),
        }
    ).decode()


def _as_go_map(value: object) -> object:
    """A value decoded into map[string]any and marshalled again: every object's keys sorted."""
    if isinstance(value, dict):
        return {k: _as_go_map(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_as_go_map(v) for v in value]
    return value


def _go_numbers(value: object) -> object:
    """Go decodes JSON numbers into float64 and writes integral ones without a fraction."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


# service.Endpoint's select (internal/service/endpoint.go) once PLUGIN_MAX_EXECUTION_TIMEOUT passed.
KILLED_BY_TIMEOUT = internal_server_error("killed by timeout")
# server.EndpointHandler (internal/server/endpoint.go) for a hook id it does not know: status 404
# with a *BadRequestError* envelope (-400), as written there.
UNKNOWN_HOOK = daemon_error("endpoint not found", "PluginDaemonBadRequestError", -400)
