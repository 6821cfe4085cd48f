"""Errors that become JSON answers in the Service API's shape."""

from __future__ import annotations

# Clients that retry on their own (the `openai` SDK retries 408/409/429/5xx) obey this header:
# a retry after the app may have run would run it again.
NO_RETRY = {"x-should-retry": "false"}


class DuckError(Exception):
    """An HTTP error with a Service-API-style code and a message safe to show callers.

    `app_may_have_run` marks errors raised once Dify may have started the app (a failure inside
    the app, a timeout, a mode mismatch seen in the app's first event): their answers carry
    `x-should-retry: false` (added by duck.handler, where errors become responses), as every 5xx does.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        app_may_have_run: bool = False,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.app_may_have_run = app_may_have_run

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "status": self.status}

    @property
    def no_retry(self) -> bool:
        """True when a client must not retry on its own: the app may have run, or a 5xx would recur."""
        return self.app_may_have_run or self.status >= 500

    def after_run(self) -> DuckError:
        """This error, marked as raised once the app may have run."""
        self.app_may_have_run = True
        return self


def invalid_param(message: str) -> DuckError:
    return DuckError(400, "invalid_param", message)


def app_not_found() -> DuckError:
    return DuckError(404, "app_not_found", "App not found.")


def conversation_not_found() -> DuckError:
    return DuckError(404, "not_found", "Conversation Not Exists.")


def internal_error() -> DuckError:
    return DuckError(500, "internal_server_error", "Internal Server Error, please contact support.")


def completion_apps_unsupported(certain: bool) -> DuckError:
    """Dify fails every Completion app invoked by a plugin (see duck.dify_errors); 501: no retry or
    other request can succeed, the feature is missing upstream. `certain` on the completion route."""
    why = (
        "Dify cannot run Completion (text generator) apps for plugins: its plugin invocation leaves out "
        "the query such apps need, so the app fails inside Dify before it starts."
    )
    instead = "Use a Workflow app (same inputs, an LLM node) or a Chatbot app instead."
    if certain:
        return DuckError(501, "completion_apps_unsupported", f"{why} {instead}")
    return DuckError(
        501,
        "completion_apps_unsupported",
        f"Dify failed before starting this app (500 Internal Server Error). If it is a Completion app: "
        f"{why} {instead} Otherwise the app's logs in Dify say what failed.",
    )


# The Service API's answer when an app's mode does not match the route it was called on.
_MODE_MISMATCH = {
    "chat": (400, "not_chat_app", "Please check if your app mode matches the right API route."),
    "workflow": (400, "not_workflow_app", "Please check if your app mode matches the right API route."),
    "completion": (400, "app_unavailable", "App unavailable, please check your app configurations."),
}
MODE_ROUTES = tuple(_MODE_MISMATCH)


def mode_mismatch(expect: str) -> DuckError:
    return DuckError(*_MODE_MISMATCH[expect])
