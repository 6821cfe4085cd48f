"""Duck's shared helpers: endpoint handlers parse, authorize, invoke and encode with these."""

from duck import invoke
from duck.auth import allowed_app, sign
from duck.handler import fallback_handler, handler, hook_handler, public_handler, upload_handler
from duck.models import ChatRequest, CompletionRequest, RunRequest, WorkflowRequest, parse_body, validate
from duck.routes import plugin_identity
from duck.settings import DuckSettings
from endpoint_kit import EndpointError, app_response, json_response, runtime, text_response

NAME, VERSION = plugin_identity()
respond, text_stream = app_response, text_response  # the names Duck's handlers call

__all__ = [
    "NAME",
    "VERSION",
    "ChatRequest",
    "CompletionRequest",
    "DuckSettings",
    "EndpointError",
    "RunRequest",
    "WorkflowRequest",
    "allowed_app",
    "fallback_handler",
    "handler",
    "hook_handler",
    "invoke",
    "json_response",
    "parse_body",
    "public_handler",
    "respond",
    "runtime",
    "sign",
    "text_stream",
    "upload_handler",
    "validate",
]
