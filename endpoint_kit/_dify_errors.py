"""Dify's failures, as they reach a plugin that calls an app, translated into the Service API's errors.

What Dify and the daemon really send (read in Dify's `api/core/plugin/backwards_invocation/app.py`,
`api/libs/external_api.py`, and the daemon's `internal/core/dify_invocation/calldify`):
- an error of Dify's inner API arrives as `... status code: <n> and respond with: {"code", "message", ...}`;
- ValueErrors become 400 `invalid_param` with their text; anything else 500 "Internal Server Error";
- an unknown conversation is a ValueError with no text: 400 `invalid_param` with an empty message;
- `fetch_app` of an unknown app: the daemon reports "fetch app failed: data is nil";
- Dify dispatches by the app's stored mode, whatever invoker was called: the workflow or completion
  invoker on a chat app fails with "missing query", the chat invoker on a workflow app runs it;
- a Completion app invoked by a plugin always fails with the bare 500 (Dify calls its generator
  without the `query` it reads first), whatever invoker was called;
- a failure inside a running app is the app's own `event: error` (code, status, message).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx

from endpoint_kit._errors import EndpointError, internal_error

logger = logging.getLogger("endpoint_kit")

# The app families a plugin can call: one invoker each in the SDK (`session.app.chat`, ...).
MODES = ("chat", "workflow", "completion")

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

# The Service API's answer when an app's mode does not fit the route (Dify's `controllers/service_api/app`).
_MODE_MISMATCH = {
    "chat": (400, "not_chat_app", "Please check if your app mode matches the right API route."),
    "workflow": (400, "not_workflow_app", "Please check if your app mode matches the right API route."),
    "completion": (400, "app_unavailable", "App unavailable, please check your app configurations."),
}


def app_not_found() -> EndpointError:
    return EndpointError(404, "app_not_found", "App not found.")


def conversation_not_found() -> EndpointError:
    return EndpointError(404, "not_found", "Conversation Not Exists.")


def mode_mismatch(mode: str) -> EndpointError:
    """The Service API's 400 for an app called as `mode` ("chat", "workflow", "completion") that is not one."""
    return EndpointError(*_MODE_MISMATCH[mode])


def completion_apps_unsupported(certain: bool) -> EndpointError:
    """Dify fails every Completion app invoked by a plugin; 501: no retry or other request can succeed,
    the feature is missing upstream. `certain` when the app is known to be a Completion app."""
    why = (
        "Dify cannot run Completion (text generator) apps for plugins: its plugin invocation leaves out "
        "the query such apps need, so the app fails inside Dify before it starts."
    )
    instead = "Use a Workflow app (same inputs, an LLM node) or a Chatbot app instead."
    if certain:
        return EndpointError(501, "completion_apps_unsupported", f"{why} {instead}")
    return EndpointError(
        501,
        "completion_apps_unsupported",
        f"Dify failed before starting this app (500 Internal Server Error). If it is a Completion app: "
        f"{why} {instead} Otherwise the app's logs in Dify say what failed.",
    )


def dify_error(error: Exception, mode: str | None = None, *, conversation_id: str | None = None) -> EndpointError:
    """The EndpointError for an exception raised by a call to Dify (an app, fetch_app, an upload).

    `mode` is the app family the call expected (None: any); `conversation_id` the one it named.
    Texts that are not Dify's answers (daemon internals) are logged, never shown to the caller.
    """
    text = str(error)
    match = _DIFY_ERROR.search(text)
    if match:
        status, code, message = _embedded_error(match)
    else:
        status, code, message = 500, "internal_server_error", text
    if message in _APP_MISSING or text.endswith(_APP_MISSING[-1]):
        return app_not_found()
    if message == "missing query" and mode in ("workflow", "completion"):  # a chat app, called as another
        return mode_mismatch(mode)
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


def app_error(
    error: Exception,
    mode: str | None,
    *,
    blocking: bool,
    conversation_id: str | None = None,
    app_mode: str | None = None,
) -> EndpointError:
    """A failed app invocation: dify_error, plus what Dify's bare 500 means there.

    Completion apps always fail with that 500, whatever invoker was called (Dify dispatches by the
    app's mode). So unless the app is known to be of another mode (`app_mode`, Dify's name of the
    app's mode when the caller learnt it), the answer is 501 completion_apps_unsupported: certain
    when a completion app was called, worded as the likely cause otherwise. For an app known to be
    of another mode, it is a failure inside Dify (in blocking mode possibly inside the app's run).
    """
    translated = dify_error(error, mode, conversation_id=conversation_id)
    if not _is_bare_500(error):
        return translated
    if app_mode is None or app_mode == "completion":
        return completion_apps_unsupported(certain=mode == "completion" or app_mode == "completion")
    where = "while running the app" if blocking else "before starting the app"
    return EndpointError(
        500,
        "internal_server_error",
        f"Dify failed {where} (500 Internal Server Error, no details); the app's logs in Dify say why.",
        app_may_have_run=True,
    )


def as_endpoint_error(error: Exception) -> EndpointError:
    """An EndpointError passes through unchanged; anything else is translated with dify_error."""
    return error if isinstance(error, EndpointError) else dify_error(error)


def error_event(error: EndpointError) -> dict[str, Any]:
    """The event a stream ends with when it fails after the response started: Dify's own error shape."""
    return {"event": "error", **error.to_dict()}


def from_error_event(event: dict[str, Any]) -> EndpointError:
    """The EndpointError an app's own `event: error` stands for (its status, code and message)."""
    status = event.get("status")
    status = status if isinstance(status, int) and 400 <= status <= 599 else 500
    return EndpointError(
        status, str(event.get("code") or "unknown"), str(event.get("message") or ""), app_may_have_run=True
    )


def _is_bare_500(error: Exception) -> bool:
    match = _DIFY_ERROR.search(str(error))
    return match is not None and _embedded_error(match)[0] == 500


def _embedded_error(match: re.Match[str]) -> tuple[int, str, str]:
    status = int(match.group(1))
    try:
        body = json.loads(match.group(2))
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return status, str(body.get("code") or "unknown"), str(body.get("message") or "")
