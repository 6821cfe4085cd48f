"""Duck's shared helpers: endpoint handlers parse, authorize, invoke and encode with these."""

from duck import invoke
from duck.auth import allowed_app, sign
from duck.handler import fallback_handler, handler, hook_handler, public_handler, upload_handler
from duck.models import ChatRequest, CompletionRequest, RunRequest, WorkflowRequest, parse_body, validate
from duck.routes import plugin_identity
from duck.settings import DuckSettings
from endpoint_kit import EndpointError, json_response, runtime

NAME, VERSION = plugin_identity()

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
    "runtime",
    "sign",
    "upload_handler",
    "validate",
]
