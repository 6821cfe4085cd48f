"""The wrapper every handler shares: settings, auth, body limit, errors as JSON, CORS, one log line.

    class Hook(Endpoint):
        @endpoint(auth=key_auth())
        def _invoke(self, request, values, settings: Settings) -> Response: ...

In order, for each request: the settings mapping becomes a Settings; a body over the limit is refused
(413, from Content-Length, before anything reads it); the route's auth policy runs; the handler runs.
Any EndpointError becomes `render_error`'s answer; a werkzeug 4xx (raised while reading a form, say)
becomes the same JSON; anything else is logged once and answered as a JSON 500, never a stack trace.
Then every answer gets CORS headers (when the plugin has a `cors_allowed_origins` setting), an
`x-request-id`, `x-should-retry: false` when a retry could repeat a run, and bodies are cut into pieces
the daemon accepts.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug import Request, Response
from werkzeug.exceptions import HTTPException

from endpoint_kit._auth import Policy
from endpoint_kit._body import too_large
from endpoint_kit._cors import allowed_origins, cors_headers
from endpoint_kit._errors import NO_RETRY, EndpointError, internal_error
from endpoint_kit._limits import max_body_bytes as default_body_limit
from endpoint_kit._responses import error_response, within_chunk_limit
from endpoint_kit._settings import Settings

logger = logging.getLogger("endpoint_kit")

Handler = Callable[[Any, Request, Mapping[str, str], Settings], Response]
SdkInvoke = Callable[[Any, Request, Mapping[str, str], Mapping[str, Any]], Response]


def endpoint(
    *,
    auth: Policy,
    max_body_bytes: int | Callable[[Settings], int] = default_body_limit,
    render_error: Callable[[EndpointError], Response] = error_response,
    cors_setting: str | None = "cors_allowed_origins",
) -> Callable[[Handler], SdkInvoke]:
    """A decorator for `Endpoint._invoke(self, request, values, settings: Settings) -> Response`.

    `auth`: key_auth(), signature_auth(...), no_auth() or any `(request, settings) -> None` that raises.
    `max_body_bytes`: a number, or a function of the settings (default: the `max_body_bytes` setting,
    1 MiB when unset, within the runtime's ceiling). `render_error`: how an EndpointError is drawn
    (default: the Service API's {"code", "message", "status"}). `cors_setting`: the list setting naming
    allowed origins (None: no CORS headers).
    """

    _check_policy(auth)

    def decorator(handler: Handler) -> SdkInvoke:
        @functools.wraps(handler)
        def _invoke(
            self: Any, request: Request, values: Mapping[str, str], raw_settings: Mapping[str, Any]
        ) -> Response:
            started = time.perf_counter()
            settings = Settings(raw_settings, runtime(getattr(self, "session", None)))
            try:
                limit = max_body_bytes(settings) if callable(max_body_bytes) else max_body_bytes
                if (request.content_length or 0) > limit:  # the daemon always sends an exact Content-Length
                    raise too_large(limit)
                request.max_content_length = limit  # werkzeug refuses to read past it (413) otherwise
                auth(request, settings)
                response = handler(self, request, values, settings)
            except Exception as e:
                response = _error_response(render_error, e, request)
            if cors_setting:
                response.headers.update(cors_headers(request, allowed_origins(settings, cors_setting)))
            response = within_chunk_limit(response)
            # Every answer names itself, as OpenAI's do: a caller can quote it, and the log line carries it.
            request_id = "req_" + uuid.uuid4().hex
            response.headers["x-request-id"] = request_id
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info(
                "%s %s %d %.1fms %s", request.method, request.path, response.status_code, elapsed_ms, request_id
            )
            return response

        return _invoke

    return decorator


def runtime(session: object) -> str:
    """How the plugin runs: local, remote (debugging) or serverless, as the SDK was told (INSTALL_METHOD)."""
    method = getattr(session, "install_method", None)
    return str(getattr(method, "value", method) or "local")


def _error_response(render_error: Callable[[EndpointError], Response], error: Exception, request: Request) -> Response:
    """The one place errors become responses."""
    if isinstance(error, HTTPException) and error.code and 400 <= error.code < 500:
        # werkzeug refusing the request while reading it (past max_content_length, a malformed form, ...):
        # the caller's 4xx, not a crash.
        error = EndpointError(error.code, _snake(error.name), error.description or error.name)
    elif not isinstance(error, EndpointError):
        logger.exception("unhandled error in %s %s", request.method, request.path)
        error = internal_error()
    response = render_error(error)
    if error.no_retry:  # the `openai` SDK and others retry 5xx on their own: this one must not be
        response.headers.update(NO_RETRY)
    return response


def _check_policy(auth: Callable[..., object]) -> None:
    """Fail when the plugin loads, not on each request: `auth=no_auth` (not called) is a common slip."""
    try:
        inspect.signature(auth).bind(None, None)
    except (TypeError, ValueError):
        raise TypeError(
            f"auth must be a policy taking (request, settings), such as key_auth() or no_auth(); got {auth!r}"
        ) from None


def _snake(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_")
