"""Dify's failures, as they reach a plugin, translated into the errors a Service API caller expects."""

from __future__ import annotations

import json
import logging
import re

from duck.errors import MODE_MISMATCH, DuckError, app_not_found, conversation_not_found, internal_error

logger = logging.getLogger("duck")

# The daemon wraps Dify's HTTP errors: "... request failed with status code: 400 and respond with: {json}"
_DIFY_ERROR = re.compile(r"status code: (\d{3}) and respond with: (\{.*\})\s*$", re.S)
_TIMEOUT = "invocation exited without response"
_PERMISSION = "permission denied"
# The daemon closes Dify's response after DIFY_BACKWARDS_INVOCATION_READ_TIMEOUT (240 s) and reports the
# read error so (`internal/core/io_tunnel/backwards_invocation/task.go`, executeDifyInvocationAppTask).
# A read error on Dify's stream is the cut (or a broken connection); "request failed" is Dify
# reporting that the app itself failed mid-stream (calldify's StreamResponse).
_STREAM_CUT = "read app failed"
_APP_FAILED = "request failed"


def dify_error(error: Exception, expect: str | None) -> DuckError:
    """Translate an exception raised by an invoker into the error a Service API caller expects."""
    text = str(error)
    match = _DIFY_ERROR.search(text)
    if match:
        status, code, message = _embedded_error(match)
    else:
        status, code, message = 500, "internal_server_error", text
    if message in ("app not found", "unexpected app type"):
        return app_not_found()
    if message == "missing query" and expect in MODE_MISMATCH:
        return MODE_MISMATCH[expect]
    if message == "Conversation Not Exists.":
        return conversation_not_found()
    if match and 400 <= status < 500:
        return DuckError(status, code, message)
    if _TIMEOUT in text:
        return DuckError(504, "gateway_timeout", "The app did not answer in time.")
    if text.startswith(_STREAM_CUT) and _APP_FAILED not in text:
        logger.warning("app stream cut: %s", text)
        return DuckError(504, "app_stream_timeout", "The app's answer was cut off before it ended: the Dify "
                         "plugin daemon ends an app stream read by a plugin after 240 s.")
    if _PERMISSION in text:
        logger.error("app invocation refused by Dify: %s", text)
        return DuckError(500, "internal_server_error", "This plugin is not permitted to invoke apps.")
    logger.error("app invocation failed: %s", text)
    return internal_error()


def as_duck_error(error: Exception, expect: str | None = None) -> DuckError:
    """A DuckError passes through unchanged; anything else is translated with dify_error."""
    return error if isinstance(error, DuckError) else dify_error(error, expect)


def error_event(error: DuckError) -> dict:
    return {"event": "error", **error.to_dict()}


def from_error_event(event: dict) -> DuckError:
    """The DuckError an app's own `event: error` stands for (its status, code and message)."""
    status = event.get("status")
    status = status if isinstance(status, int) and 400 <= status <= 599 else 500
    return DuckError(status, str(event.get("code") or "unknown"), str(event.get("message") or ""))


def _embedded_error(match: re.Match) -> tuple[int, str, str]:
    status = int(match.group(1))
    try:
        body = json.loads(match.group(2))
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return status, str(body.get("code") or "unknown"), str(body.get("message") or "")
