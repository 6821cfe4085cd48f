"""Duck's handlers: endpoint_kit's wrapper with Duck's auth policy, handing the handler DuckSettings."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from werkzeug import Request, Response

from duck.auth import caller, key_configured
from duck.deliveries import hook_caller
from duck.files import MULTIPART_OVERHEAD
from duck.settings import DuckSettings, duck_settings
from endpoint_kit import (
    EndpointError,
    Policy,
    Settings,
    endpoint,
    error_response,
    max_body_bytes,
    max_upload_bytes,
    no_auth,
)

DuckHandler = Callable[[object, Request, Mapping, DuckSettings], Response]


def route(
    auth: Policy = caller,
    body_limit: Callable[[Settings], int] = max_body_bytes,
    render_error: Callable[[EndpointError], Response] = error_response,
):
    """A decorator for `_invoke(self, request, values, settings: DuckSettings)`."""

    def decorator(fn: DuckHandler):
        @endpoint(auth=auth, max_body_bytes=body_limit, render_error=render_error)
        @functools.wraps(fn)
        def _invoke(self, r: Request, values: Mapping, settings: Settings) -> Response:
            return fn(self, r, values, duck_settings(settings))

        return _invoke

    return decorator


handler = route()  # the key or Duck's signature; errors in the Service API's shape
upload_handler = route(body_limit=lambda settings: max_upload_bytes(settings) + MULTIPART_OVERHEAD)
hook_handler = route(auth=hook_caller)  # also the configured webhook sender's own signature
fallback_handler = route(auth=key_configured)  # 404/405/preflights to anyone, once a key is set
public_handler = route(auth=no_auth())  # needs no key and no settings: /health, /openapi.json, /playground
