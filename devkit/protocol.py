"""The daemon's side of the plugin stdio protocol: request lines, replies, raw HTTP requests."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl, quote, urlencode

import orjson

# PLUGIN_RUNTIME_MAX_BUFFER_SIZE: a longer stdout line makes the daemon kill the plugin.
MAX_LINE_BYTES = 5 * 1024 * 1024
# The daemon reads request bodies through io.LimitReader(10 MiB) and silently drops the rest.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Dropped by the daemon's copyRequest before the request reaches the plugin.
DROPPED_HEADERS = {"x-forwarded-for", "x-real-ip", "x-forwarded", "x-original-forwarded-for",
                   "x-original-url", "x-original-host"}


def endpoint_request(session_id: str, endpoint_id: str, raw_http: bytes, settings: dict) -> bytes:
    """The stdin line that asks the plugin to serve one HTTP request."""
    message = {"session_id": session_id, "conversation_id": None, "message_id": None, "app_id": None,
               "endpoint_id": endpoint_id, "context": None, "event": "request",
               "data": {"user_id": "", "type": "endpoint", "action": "invoke_endpoint",
                        "raw_http_request": raw_http.hex(), "settings": settings}}
    return orjson.dumps(message) + b"\n"


def backwards_reply(session_id: str, request_id: str, event: str, message: str = "", data: object = None) -> bytes:
    """One stdin line answering a reverse invocation: event is response, error or end."""
    message_body = {"session_id": session_id, "event": "backwards_response",
                    "data": {"backwards_request_id": request_id, "event": event, "message": message, "data": data}}
    return orjson.dumps(message_body) + b"\n"


def new_session_id() -> str:
    return str(uuid.uuid4())


def escape_path(path: str) -> str:
    """Go's Request.Write re-escapes the decoded path, so CR, LF or spaces never break a request line."""
    return quote(path, safe="/:@!$&'()*+,;=-._~")


def raw_http_request(method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes,
                     hook_id: str, hook_url: str) -> bytes:
    """Serialize a request as the daemon rewrites it: path without /e/<hook>, exact Content-Length."""
    sorted_query = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    target = escape_path(path) + ("?" + sorted_query if sorted_query else "")
    kept = [(k, v) for k, v in headers
            if k.lower() not in DROPPED_HEADERS | {"content-length", "transfer-encoding", "host", "connection"}]
    host = next((v for k, v in headers if k.lower() == "x-original-host"), None) \
        or next((v for k, v in headers if k.lower() == "host"), "localhost")
    if not any(k.lower() == "dify-hook-url" for k, _ in kept):
        kept.append(("Dify-Hook-Url", hook_url))
    kept += [("Dify-Hook-Id", hook_id), ("Content-Length", str(len(body)))]
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"] + [f"{k}: {v}" for k, v in kept]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body
