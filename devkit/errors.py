"""Failures the host reports back to the plugin, as the daemon words them."""

import json


class InvocationError(Exception):
    """A reverse invocation failed; the message reaches the plugin as the daemon's error text."""


def dify_http_error(status: int, code: str, message: str) -> InvocationError:
    """The text the daemon produces when Dify's inner API answers an app call with an error."""
    body = json.dumps({"code": code, "message": message, "status": status})
    return InvocationError(f"invoke app failed: request failed with status code: {status} and respond with: {body}")


PERMISSION_DENIED_APP = "permission denied, you need to enable app access in plugin manifest"
PERMISSION_DENIED_STORAGE = "permission denied, you need to enable storage access in plugin manifest"
