"""The daemon's side of the plugin stdio protocol: request lines and replies."""

from __future__ import annotations

import uuid

import orjson

# PLUGIN_RUNTIME_MAX_BUFFER_SIZE: a longer stdout line makes the daemon kill the plugin.
MAX_LINE_BYTES = 5 * 1024 * 1024


def endpoint_request(session_id: str, endpoint_id: str, raw_http: bytes, settings: dict) -> bytes:
    """The stdin line that asks the plugin to serve one HTTP request."""
    message = {
        "session_id": session_id,
        "conversation_id": None,
        "message_id": None,
        "app_id": None,
        "endpoint_id": endpoint_id,
        "context": None,
        "event": "request",
        "data": {
            "user_id": "",
            "type": "endpoint",
            "action": "invoke_endpoint",
            "raw_http_request": raw_http.hex(),
            "settings": settings,
        },
    }
    return orjson.dumps(message) + b"\n"


def backwards_reply(session_id: str, request_id: str, event: str, message: str = "", data: object = None) -> bytes:
    """One stdin line answering a reverse invocation: event is response, error or end."""
    message_body = {
        "session_id": session_id,
        "event": "backwards_response",
        "data": {"backwards_request_id": request_id, "event": event, "message": message, "data": data},
    }
    return orjson.dumps(message_body) + b"\n"


def new_session_id() -> str:
    return str(uuid.uuid4())
