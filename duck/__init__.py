"""Duck's shared helpers: endpoint handlers parse, authorize, invoke and encode with these."""

from duck import invoke
from duck.auth import allowed_app, authenticate, authorize, sign
from duck.handler import handler, public_handler, runtime, upload_handler
from duck.models import ChatRequest, CompletionRequest, RunRequest, WorkflowRequest, parse_body, validate
from duck.responses import json_response, respond, text_stream
from duck.routes import plugin_identity
from duck.settings import Settings
from endpoint_kit import EndpointError

NAME, VERSION = plugin_identity()

__all__ = [
    "NAME",
    "VERSION",
    "ChatRequest",
    "CompletionRequest",
    "EndpointError",
    "RunRequest",
    "Settings",
    "WorkflowRequest",
    "allowed_app",
    "authenticate",
    "authorize",
    "handler",
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
