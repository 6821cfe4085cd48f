"""Failures the host reports back to the plugin, as Dify's inner API and the daemon word them."""

import json


class InvocationError(Exception):
    """A reverse invocation failed; the message reaches the plugin as the daemon's error text."""


class InnerApiError(Exception):
    """Dify's inner API answered an app call with an HTTP error, before any event.

    The body is what Dify's error handlers build (api/libs/external_api.py,
    register_external_error_handlers), serialised by flask-restx's output_json: `json.dumps(data) + "\\n"`.
    """

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body

    def as_invocation_error(self) -> InvocationError:
        # Daemon: RequestAndParseStream (pkg/utils/http_requests/http_warpper.go) reads the whole body
        # into "request failed with status code: %d and respond with: %s"; executeDifyInvocationAppTask
        # (internal/core/io_tunnel/backwards_invocation/task.go) prefixes "invoke app failed: ".
        text = json.dumps(self.body) + "\n"
        return InvocationError(
            f"invoke app failed: request failed with status code: {self.status} and respond with: {text}"
        )


def value_error(message: str) -> InnerApiError:
    """A ValueError raised by Dify: external_api.py `handle_value_error` answers 400 invalid_param."""
    return InnerApiError(400, {"code": "invalid_param", "message": message, "status": 400})


def internal_server_error() -> InnerApiError:
    """Any other exception: external_api.py `handle_general_exception`'s generic 500 body."""
    return InnerApiError(500, {"message": "Internal Server Error", "code": "unknown", "status": 500})


def dify_http_error(status: int, code: str, message: str) -> InvocationError:
    """The daemon's text for an inner-API error with this status, code and message."""
    return InnerApiError(status, {"code": code, "message": message, "status": status}).as_invocation_error()


def read_app_failed(reason: str) -> InvocationError:
    """A failure after the app's stream started: task.go `executeDifyInvocationAppTask` says "read app failed"."""
    return InvocationError(f"read app failed: {reason}")


# The daemon's calldify `Request` decodes fetch/app/info's body as {data, error} without looking at the
# status; Dify's error bodies have neither key, so every failure reads "data is nil" (calldify/http_request.go),
# prefixed in task.go `executeDifyInvocationFetchAppTask`.
FETCH_APP_FAILED = "fetch app failed: data is nil"
PERMISSION_DENIED_APP = "permission denied, you need to enable app access in plugin manifest"
PERMISSION_DENIED_STORAGE = "permission denied, you need to enable storage access in plugin manifest"


class PluginDied(Exception):
    """The plugin cannot take the request (not running): the relay answers as a failed write does."""


class DaemonRefused(Exception):
    """The daemon answers this request itself, without calling the plugin: `status` and its JSON `body`."""

    def __init__(self, status: int, body: dict):
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
