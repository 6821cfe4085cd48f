"""The wrapper every Duck handler shares: settings, body limit, CORS, errors as JSON, one log line."""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping

from werkzeug import Request, Response

from duck.cors import cors_headers
from duck.errors import DuckError, internal_error
from duck.files import MULTIPART_OVERHEAD
from duck.responses import error_response, within_chunk_limit
from duck.settings import Settings, parse_settings

logger = logging.getLogger("duck")

Handler = Callable[[object, Request, Mapping, Settings], Response]


def make_handler(render_error: Callable[[DuckError], Response],
                 body_limit: Callable[[Settings], int] = lambda settings: settings.max_body_bytes,
                 require_key: bool = True):
    """A decorator for `_invoke`: parsed Settings in, any DuckError out as `render_error` draws it."""

    def decorator(fn: Handler) -> Callable[[object, Request, Mapping, Mapping], Response]:
        @functools.wraps(fn)
        def _invoke(self, r: Request, values: Mapping, raw_settings: Mapping) -> Response:
            started = time.perf_counter()
            settings = None
            try:
                settings = parse_settings(raw_settings, runtime(self.session), require_key)
                refuse_oversize_body(r, body_limit(settings))
                response = fn(self, r, values, settings)
            except DuckError as e:
                response = render_error(e)
            except Exception:
                logger.exception("unhandled error in %s %s", r.method, r.path)
                response = render_error(internal_error())
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


def refuse_oversize_body(request: Request, limit: int) -> None:
    """413 before anything reads the body (the daemon always sends an exact Content-Length)."""
    if (request.content_length or 0) > limit:
        raise DuckError(413, "request_entity_too_large", f"The request body exceeds {limit} bytes.")
