"""The OpenAPI 3.1 description of every route, built from the models the handlers validate with."""

from __future__ import annotations

import copy
import functools
import re
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel
from werkzeug import Request, Response

from duck import openai_chat, openai_completions, openai_responses, service_api, static
from duck.models import ChatRequest, CompletionRequest, RunRequest, WorkflowRequest
from duck.routes import plugin_identity

ERROR = {
    "type": "object",
    "required": ["code", "message", "status"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "status": {"type": "integer"}},
}
OPENAI_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
ANY_OBJECT = {"type": "object"}
STREAM = {
    "type": "object",
    "description": "One Server-Sent Event: `data` holds the app event's JSON; keep-alives are `event: ping`",
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}},
}
NDJSON_STREAM = {"type": "string", "description": "One event JSON object per line"}

# (path, method, summary, request body model, response family). A test keeps this equal to the YAML routes.
ROUTES: list[tuple[str, str, str, type[BaseModel] | None, str]] = [
    ("/apps/{app_id}/chat-messages", "post", "Send a chat message (Chatbot, Agent, Chatflow apps)", ChatRequest, "run"),
    ("/apps/{app_id}/workflows/run", "post", "Run a workflow app", WorkflowRequest, "run"),
    ("/apps/{app_id}/completion-messages", "post", "Run a completion app", CompletionRequest, "run"),
    ("/apps/{app_id}/run", "post", "Run any app; the answer has the app's own shape", RunRequest, "run"),
    ("/apps/{app_id}/parameters", "get", "The app's input form and features", None, "json"),
    ("/apps/{app_id}/files/upload", "post", "Upload a file (multipart, part `file`) for a file input", None, "upload"),
    ("/duck/{app_id}", "get", "A chat answer as streamed plain text (the hello world)", None, "text"),
    ("/health", "get", "Liveness", None, "public"),
    ("/apps/{app_id}/info", "get", "What Duck knows of the app: its mode once an answer showed it", None, "json"),
    (
        "/apps/{app_id}/conversations",
        "get",
        "The conversations Duck started for `user` (query), newest first",
        None,
        "conversations",
    ),
    (
        "/apps/{app_id}/conversations/{conversation_id}",
        "delete",
        "Forget a conversation `user` started",
        service_api.ConversationDelete,
        "delete",
    ),
    *[
        (
            "/apps/{app_id}" + re.sub(r"<(\w+)>", r"{\1}", path),
            method.lower(),
            f"Not served: {reason}",
            None,
            "not-supported",
        )
        for (path, method), reason in service_api.NOT_SUPPORTED.items()
    ],
    ("/v1/chat/completions", "post", "OpenAI-compatible chat completion", openai_chat.ChatCompletionRequest, "openai"),
    ("/v1/models", "get", "The apps served as OpenAI models", None, "openai-json"),
    ("/v1/models/{model_id}", "get", "One app served as an OpenAI model", None, "openai-model"),
    (
        "/v1/responses",
        "post",
        "OpenAI Responses API (one assistant message per response)",
        openai_responses.ResponsesRequest,
        "openai",
    ),
    (
        "/v1/completions",
        "post",
        "OpenAI legacy completion: the prompt in, the app's answer as text",
        openai_completions.TextCompletionRequest,
        "openai",
    ),
    ("/openapi.json", "get", "This document", None, "public"),
    (
        "/hooks/{app_id}",
        "post",
        "A webhook delivery (GitHub, Stripe, Slack, Discord, Shopify, Standard Webhooks), "
        "signed by its sender, run once",
        None,
        "hook",
    ),
    (
        "/playground",
        "get",
        "A page to try the apps in a browser (no key to load it; its calls carry the key typed in)",
        None,
        "page",
    ),
    ("/playground/{asset}", "get", "The playground page's script and style sheet", None, "asset"),
]


def document(server_url: str | None = None) -> dict:
    """The whole document; `server_url` is the endpoint's public base URL when known.

    Otherwise the server is "." (OpenAPI: relative to where the document was fetched), which is
    still the endpoint's base URL, rather than the default "/" (the host's root).
    """
    doc = copy.deepcopy(_document())
    doc["servers"] = [{"url": server_url or "."}]
    return doc


def public_base_url(request: Request) -> str | None:
    """The endpoint's public URL, from the daemon's Dify-Hook-Url, and only when it is consistent.

    The daemon builds that header from the request's Host (or X-Original-Host, which also becomes
    the Host) and keeps a caller's own Dify-Hook-Url (`internal/service/endpoint.go`, copyRequest).
    So a value naming another host than the request's, or another path, is refused: a caller then
    cannot make the document send other readers' keys elsewhere through a shared cache. No other
    header (X-Forwarded-Host, Forwarded, ...) is ever used.
    """
    parts = urlsplit(request.headers.get("Dify-Hook-Url", ""))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.netloc != request.host:
        return None
    if not parts.path.endswith(request.path):
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path.removesuffix(request.path), "", ""))


def cacheable(request: Request, response: Response) -> Response:
    """Cache-Control and an ETag; 304 when the caller's If-None-Match still matches."""
    response.headers["Cache-Control"] = "public, max-age=300"
    response.add_etag()
    response.make_conditional(request)
    if response.status_code == 304:
        response.set_data(b"")  # the SDK sends `response.response` as it is: werkzeug would drop it only under WSGI
    return response


@functools.cache
def _document() -> dict:
    name, version = plugin_identity()
    schemas: dict = {"Error": ERROR, "OpenAIError": OPENAI_ERROR}
    paths: dict = {}
    for path, method, summary, model, family in ROUTES:
        operation: dict = {
            "summary": summary,
            "operationId": _operation_id(method, path),
            "responses": _responses(family),
        }
        parameters = _parameters(path, family)
        if parameters:
            operation["parameters"] = parameters
        if family in ("public", "page", "asset"):
            operation["security"] = []
        if family == "hook":
            operation["security"] = []  # the sender's own signature, checked per webhook_provider
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": ANY_OBJECT},
                    "application/x-www-form-urlencoded": {"schema": ANY_OBJECT},
                },
            }
        if family == "upload":
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    }
                },
            }
        if model is not None:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
            }
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": name,
            "version": version,
            "description": "Dify apps over HTTP, compatible with Dify's Service API and OpenAI's chat API.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }


def _operation_id(method: str, path: str) -> str:
    words = path.replace("{", "").replace("}", "").replace(".", "_").replace("-", "_").strip("/").split("/")
    return method + "_" + "_".join(words)


_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"}  # Dify's ids are UUIDs
_PATH_PARAMETERS = {
    "app_id": _ID,
    "model_id": _ID,
    "conversation_id": _ID,
    "message_id": _ID,
    "task_id": _ID,
    "workflow_run_id": _ID,
    "asset": {"type": "string", "enum": sorted(static.ASSETS)},
}


def _parameters(path: str, family: str) -> list[dict]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _PATH_PARAMETERS.get(name, {"type": "string", "minLength": 1}),
        }
        for name in re.findall(r"\{(\w+)\}", path)
    ]
    if family == "text":
        parameters.append({"name": "query", "in": "query", "required": True, "schema": {"type": "string"}})
    if family == "conversations":
        parameters += [
            {"name": "user", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
            {"name": "last_id", "in": "query", "schema": {"type": "string"}},
        ]
    return parameters


def _errors(schema_name: str, statuses: list[int]) -> dict:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}
    return {str(status): {"description": _DESCRIPTIONS[status], "content": content} for status in statuses}


_DESCRIPTIONS = {
    400: "Invalid request, or the app's mode does not match the route",
    401: "Missing or wrong key",
    403: "Origin not allowed",
    404: "App, conversation or route not found",
    405: "Wrong method",
    409: "The same delivery is still running",
    413: "Body over the limit",
    415: "Body is not JSON",
    429: "Rate limited by Dify",
    500: "Internal error",
    501: "Not served through a plugin: a Completion app, or a Service API route (the message says why)",
    502: "The app produced nothing",
    503: "Endpoint not configured",
    504: "The app did not answer in time",
}
_RUN_ERRORS = [400, 401, 404, 413, 415, 429, 500, 501, 502, 503, 504]
_OPENAI_ERRORS = {"openai": _RUN_ERRORS, "openai-json": [401, 413, 503], "openai-model": [401, 404, 413, 503]}


def _responses(family: str) -> dict:
    if family == "run":
        ok = {
            "description": "The app's answer: JSON when blocking, a stream when streaming",
            "content": {
                "application/json": {"schema": ANY_OBJECT},
                "text/event-stream": {"schema": STREAM},
                "application/x-ndjson": {"schema": NDJSON_STREAM},
            },
        }
        return {"200": ok, **_errors("Error", _RUN_ERRORS)}
    if family == "hook":
        return {
            "200": {
                "description": "The app's answer in the sender's shape (`Idempotent-Replayed: true` on a "
                "repeated delivery)",
                "content": {"application/json": {"schema": ANY_OBJECT}},
            },
            **_errors("Error", [400, 401, 404, 409, 413, 429, 500, 501, 502, 503, 504]),
        }
    if family == "upload":
        return {
            "201": {
                "description": "The stored file; `value` goes into inputs",
                "content": {"application/json": {"schema": ANY_OBJECT}},
            },
            **_errors("Error", [400, 401, 404, 413, 415, 500, 503]),
        }
    if family == "json":
        return {
            "200": {"description": "OK", "content": {"application/json": {"schema": ANY_OBJECT}}},
            **_errors("Error", [401, 404, 413, 429, 500, 503, 504]),
        }
    if family == "text":
        return {
            "200": {"description": "The answer, streamed", "content": {"text/plain": {"schema": {"type": "string"}}}},
            **_errors("Error", [400, 401, 404, 413, 429, 500, 501, 502, 503, 504]),
        }
    if family == "public":
        return {
            "200": {"description": "OK", "content": {"application/json": {"schema": ANY_OBJECT}}},
            **_errors("Error", [413]),
        }
    if family == "conversations":
        return {
            "200": {
                "description": "`{limit, has_more, data: [{id, name, created_at, ...}]}`",
                "content": {"application/json": {"schema": ANY_OBJECT}},
            },
            **_errors("Error", [400, 401, 404, 413, 503]),
        }
    if family == "delete":
        return {"204": {"description": "Forgotten"}, **_errors("Error", [400, 401, 404, 413, 415, 503])}
    if family == "not-supported":
        return _errors("Error", [401, 404, 413, 501, 503])
    if family == "page":
        return {
            "200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}},
            **_errors("Error", [413, 503]),
        }
    if family == "asset":
        return {
            "200": {
                "description": "The file",
                "content": {
                    "text/javascript": {"schema": {"type": "string"}},
                    "text/css": {"schema": {"type": "string"}},
                },
            },
            **_errors("Error", [404, 413, 503]),
        }
    ok_content = {"application/json": {"schema": ANY_OBJECT}}
    if family == "openai":
        ok_content["text/event-stream"] = {
            "schema": {**STREAM, "description": "chat.completion.chunk frames, then `data: [DONE]`"}
        }
    return {"200": {"description": "OK", "content": ok_content}, **_errors("OpenAIError", _OPENAI_ERRORS[family])}
