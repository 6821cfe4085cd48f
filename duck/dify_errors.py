"""Dify's failures, as they reach a plugin, translated into the errors a Service API caller expects.

What Dify and the daemon really send (read in Dify's `api/core/plugin/backwards_invocation/app.py`,
`api/libs/external_api.py`, and the daemon's `internal/core/dify_invocation/calldify`):
- an error of Dify's inner API arrives as `... status code: <n> and respond with: {"code", "message", ...}`;
- ValueErrors become 400 `invalid_param` with their text; anything else 500 "Internal Server Error";
- an unknown conversation is a ValueError with no text: 400 `invalid_param` with an empty message;
- `fetch_app` of an unknown app: the daemon reports "fetch app failed: data is nil";
- a Completion app invoked by a plugin always fails with the 500 (Dify calls its generator without
  the `query` it reads first), whatever route or mode.
"""

from __future__ import annotations

import json
import logging
import re

import httpx

from duck.errors import MODE_ROUTES, app_not_found, completion_apps_unsupported, conversation_not_found, mode_mismatch
from endpoint_kit import EndpointError, internal_error

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
_APP_MISSING = ("app not found", "unexpected app type", "fetch app failed: data is nil")


def dify_error(error: Exception, expect: str | None = None, *, conversation_id: str | None = None) -> EndpointError:
    """Translate an exception raised by an invoker into the error a Service API caller expects.

    `expect` is the app family the route serves (None: any); `conversation_id` the one the call named.
    """
    text = str(error)
    match = _DIFY_ERROR.search(text)
    if match:
        status, code, message = _embedded_error(match)
    else:
        status, code, message = 500, "internal_server_error", text
    if message in _APP_MISSING or text.endswith(_APP_MISSING[-1]):
        return app_not_found()
    if message == "missing query" and expect in MODE_ROUTES:
        return mode_mismatch(expect)
    if message == "Conversation Not Exists." or (match and status == 400 and not message and conversation_id):
        return conversation_not_found()
    if match and 400 <= status < 500:
        return EndpointError(status, code, message or "Dify refused the request without saying why.")
    # Stdio and TCP: the SDK's own count of silent seconds. Serverless: its HTTP read timeout (the same setting).
    if _TIMEOUT in text or isinstance(error, httpx.TimeoutException):
        return EndpointError(504, "gateway_timeout", "The app did not answer in time.", app_may_have_run=True)
    if text.startswith(_STREAM_CUT) and _APP_FAILED not in text:
        logger.warning("app stream cut: %s", text)
        return EndpointError(
            504,
            "app_stream_timeout",
            "The app's answer was cut off before it ended: the Dify "
            "plugin daemon ends an app stream read by a plugin after 240 s.",
            app_may_have_run=True,
        )
    if _PERMISSION in text:
        logger.error("app invocation refused by Dify: %s", text)
        return EndpointError(500, "internal_server_error", "This plugin is not permitted to invoke apps.")
    logger.error("app invocation failed: %s", text)
    return internal_error()


def invocation_error(
    error: Exception,
    expect: str | None,
    *,
    blocking: bool,
    conversation_id: str | None = None,
    known_mode: str | None = None,
) -> EndpointError:
    """A failed app invocation: dify_error, plus what Dify's bare 500 means here.

    Completion apps always fail with that 500, on every route (Dify dispatches by the app's mode).
    So unless the app is known to be of another mode (`known_mode`, learnt from an earlier answer by
    duck.app_modes), the answer is 501 completion_apps_unsupported: certain on the completion route,
    worded as the likely cause elsewhere. For an app known to be of another mode, it is a failure
    inside Dify (in blocking mode possibly inside the app's run), told as such.
    """
    translated = dify_error(error, expect, conversation_id=conversation_id)
    if not _is_bare_500(error):
        return translated
    if known_mode is None or known_mode == "completion":
        return completion_apps_unsupported(certain=expect == "completion" or known_mode == "completion")
    where = "while running the app" if blocking else "before starting the app"
    return EndpointError(
        500,
        "internal_server_error",
        f"Dify failed {where} (500 Internal Server Error, no details); the app's logs in Dify say why.",
        app_may_have_run=True,
    )


def as_duck_error(error: Exception, expect: str | None = None) -> EndpointError:
    """A EndpointError passes through unchanged; anything else is translated with dify_error."""
    return error if isinstance(error, EndpointError) else dify_error(error, expect)


def error_event(error: EndpointError) -> dict:
    return {"event": "error", **error.to_dict()}


def from_error_event(event: dict) -> EndpointError:
    """The EndpointError an app's own `event: error` stands for (its status, code and message)."""
    status = event.get("status")
    status = status if isinstance(status, int) and 400 <= status <= 599 else 500
    return EndpointError(
        status, str(event.get("code") or "unknown"), str(event.get("message") or ""), app_may_have_run=True
    )


def _is_bare_500(error: Exception) -> bool:
    match = _DIFY_ERROR.search(str(error))
    return bool(match) and _embedded_error(match)[0] == 500


def _embedded_error(match: re.Match) -> tuple[int, str, str]:
    status = int(match.group(1))
    try:
        body = json.loads(match.group(2))
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return status, str(body.get("code") or "unknown"), str(body.get("message") or "")
