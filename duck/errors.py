"""Errors that become JSON answers in the Service API's shape."""

from __future__ import annotations


class DuckError(Exception):
    """An HTTP error with a Service-API-style code and a message safe to show callers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "status": self.status}


def invalid_param(message: str) -> DuckError:
    return DuckError(400, "invalid_param", message)


def app_not_found() -> DuckError:
    return DuckError(404, "app_not_found", "App not found.")


def conversation_not_found() -> DuckError:
    return DuckError(404, "not_found", "Conversation Not Exists.")


def internal_error() -> DuckError:
    return DuckError(500, "internal_server_error", "Internal Server Error, please contact support.")


# The Service API's answer when an app's mode does not match the route it was called on.
MODE_MISMATCH = {
    "chat": DuckError(400, "not_chat_app", "Please check if your app mode matches the right API route."),
    "workflow": DuckError(400, "not_workflow_app", "Please check if your app mode matches the right API route."),
    "completion": DuckError(400, "app_unavailable", "App unavailable, please check your app configurations."),
}
