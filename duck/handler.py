"""The wrapper every Duck handler shares: settings, body limit, CORS, errors as JSON, one log line."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping

from werkzeug import Request, Response
from werkzeug.exceptions import HTTPException

from duck.cors import cors_headers
from duck.files import MULTIPART_OVERHEAD
from duck.responses import error_response, within_chunk_limit
from duck.settings import Settings, parse_settings
from endpoint_kit import NO_RETRY, EndpointError, internal_error

logger = logging.getLogger("duck")

Handler = Callable[[object, Request, Mapping, Settings], Response]


def make_handler(
    render_error: Callable[[EndpointError], Response],
    body_limit: Callable[[Settings], int] = lambda settings: settings.max_body_bytes,
    require_key: bool = True,
):
    """A decorator for `_invoke`: parsed Settings in, any EndpointError out as `render_error` draws it."""

    def decorator(fn: Handler) -> Callable[[object, Request, Mapping, Mapping], Response]:
        @functools.wraps(fn)
        def _invoke(self, r: Request, values: Mapping, raw_settings: Mapping) -> Response:
            started = time.perf_counter()
            settings = None
            try:
                settings = parse_settings(raw_settings, runtime(self.session), require_key)
                refuse_oversize_body(r, body_limit(settings))
                response = fn(self, r, values, settings)
            except Exception as e:
                response = _error_response(render_error, e, r)
            if settings is not None:
                response.headers.update(cors_headers(r, settings))
            response = within_chunk_limit(response)
            # Every answer names itself, as OpenAI's do: a caller can quote it, and the log line carries it.
            request_id = "req_" + uuid.uuid4().hex
            response.headers["x-request-id"] = request_id
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.info("%s %s %d %.1fms %s", r.method, r.path, response.status_code, elapsed_ms, request_id)
            return response

        return _invoke

    return decorator


handler = make_handler(error_response)  # errors in the Service API's shape
upload_handler = make_handler(error_response, lambda settings: settings.max_upload_bytes + MULTIPART_OVERHEAD)
public_handler = make_handler(error_response, require_key=False)  # routes that need no key and no settings


def runtime(session) -> str:
    """How the plugin runs: local, remote (debugging) or serverless, as the SDK was told (INSTALL_METHOD)."""
    method = getattr(session, "install_method", None)
    return str(getattr(method, "value", method) or "local")


def _error_response(render_error: Callable[[EndpointError], Response], error: Exception, r: Request) -> Response:
    """The one place errors become responses."""
    if isinstance(error, HTTPException) and error.code and 400 <= error.code < 500:
        # werkzeug refusing the request while reading it (form parts over max_form_parts, a text field
        # over max_form_memory_size, ...): the caller's 4xx, not a crash.
        error = EndpointError(error.code, _snake(error.name), error.description or error.name)
    elif not isinstance(error, EndpointError):
        logger.exception("unhandled error in %s %s", r.method, r.path)
        error = internal_error()
    response = render_error(error)
    if error.no_retry:  # the `openai` SDK and others retry 5xx on their own: this one must not be
        response.headers.update(NO_RETRY)
    return response


def refuse_oversize_body(request: Request, limit: int) -> None:
    """413 before anything reads the body (the daemon always sends an exact Content-Length)."""
    if (request.content_length or 0) > limit:
        raise EndpointError(413, "request_entity_too_large", f"The request body exceeds {limit} bytes.")


def _snake(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_")
