"""The one error type handlers raise: it becomes a JSON answer in the Dify Service API's shape."""

from __future__ import annotations

# Clients that retry on their own (the `openai` SDK retries 408/409/429/5xx) obey this header:
# a retry after the app may have run would run it again.
NO_RETRY = {"x-should-retry": "false"}


class EndpointError(Exception):
    """An HTTP error with a Service-API-style code and a message safe to show callers.

    `app_may_have_run` marks errors raised once Dify may have started the app (a failure inside
    the app, a timeout, a mode mismatch seen in the app's first event): their answers carry
    `x-should-retry: false` (added by the handler wrapper, where errors become responses), as every 5xx does.
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

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "status": self.status}

    @property
    def no_retry(self) -> bool:
        """True when a client must not retry on its own: the app may have run, or a 5xx would recur."""
        return self.app_may_have_run or self.status >= 500

    def after_run(self) -> EndpointError:
        """This error, marked as raised once the app may have run."""
        self.app_may_have_run = True
        return self


def invalid_param(message: str) -> EndpointError:
    return EndpointError(400, "invalid_param", message)


def internal_error() -> EndpointError:
    return EndpointError(500, "internal_server_error", "Internal Server Error, please contact support.")
