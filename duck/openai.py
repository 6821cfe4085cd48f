"""What every OpenAI-compatible route shares: errors in OpenAI's shape, models, running an app, folding its events.

The routes themselves live beside this module: openai_chat.py (/v1/chat/completions),
openai_completions.py (/v1/completions), openai_responses.py (/v1/responses); openai_memory.py decides
which Dify conversation a stateless caller's history continues.
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from werkzeug import Response

from duck import app_modes, invoke, openai_memory, routes
from duck.auth import key_configured
from duck.handler import route
from duck.models import ChatRequest, validate
from duck.openai_memory import Turn
from duck.settings import DuckSettings
from endpoint_kit import SSE, EndpointError, as_endpoint_error, from_error_event, json_bytes

# OpenAI's own parameters that would change what a request means, and that a Dify app cannot honour.
UNSUPPORTED = "Duck runs a Dify app, whose own model settings and tools apply"


def error_body(error: EndpointError) -> dict:
    """OpenAI's error shape, {"error": {"message", "type", "param", "code"}}.

    Errors after the app started (5xx, and failures inside a stream) are typed `server_error`, as OpenAI
    types them, so clients do not mistake a failed model for a bad request.
    """
    param = getattr(error, "param", None)
    if error.status == 401:
        kind, code = "invalid_request_error", "invalid_api_key"
    elif error.code == "app_not_found":
        kind, code, param = "invalid_request_error", "model_not_found", param or "model"
    elif error.status < 500:
        kind, code = "invalid_request_error", error.code
    else:
        kind, code = "server_error", error.code
    return {"error": {"message": error.message, "type": kind, "param": param, "code": code}}


def server_error_body(error: EndpointError) -> dict:
    """The error a stream ends with: whatever Dify called it, the model failed after the answer started."""
    body = error_body(error)
    body["error"]["type"] = "server_error"
    return body


class ParamError(EndpointError):
    """A 400 that names the offending request parameter, as OpenAI's errors do."""

    def __init__(self, param: str, message: str, code: str = "invalid_value", status: int = 400):
        super().__init__(status, code, message)
        self.param = param


def unsupported(param: str, what: str) -> ParamError:
    return ParamError(param, f"{what} is not supported: {UNSUPPORTED}.", "unsupported_parameter")


def error_response(error: EndpointError) -> Response:
    return Response(
        json_bytes(error_body(error)), status=error.status, headers=error.headers, content_type="application/json"
    )


handler = route(render_error=error_response)  # the key or Duck's signature; errors in OpenAI's shape
fallback_handler = route(auth=key_configured, render_error=error_response)


def served(settings: DuckSettings) -> tuple[str, ...]:
    """The pinned app, else the allow-list (empty: any app id)."""
    return (settings.app_id,) if settings.app_id else settings.openai_models


def resolve_model(model: str, settings: DuckSettings) -> str:
    """The app to run: the pinned app, or an app of the allow-list (any app when there is none)."""
    allowed = served(settings)
    if allowed and model not in allowed:
        raise EndpointError(
            404, "app_not_found", f"The model '{model}' does not exist or you do not have access to it."
        )
    return model


def new_id(prefix: str) -> str:
    """A unique id in OpenAI's style (prefix + 32 hex digits)."""
    return prefix + uuid.uuid4().hex


def inputs(text: str, settings: DuckSettings) -> dict:
    # Chat apps drop inputs outside their form, so sending this to every app type is harmless.
    return {settings.openai_input_variable: text} if settings.openai_input_variable else {}


@dataclass
class Run:
    """An app run for an OpenAI route: its events, and what to remember once it answered."""

    events: Iterator[dict]
    plan: openai_memory.Plan


def run(
    session,
    app_id: str,
    settings: DuckSettings,
    turns: list[Turn],
    user: str | None,
    conversation_id: str | None = None,
    memory: bool = True,
) -> Run:
    """Start the app (any type) in streaming mode; its first event is known when this returns."""
    plan = openai_memory.plan(session.storage, settings, app_id, turns, user, conversation_id, memory)
    if not plan.query:
        raise EndpointError(400, "invalid_param", "The last user message has no text (Duck sends text only).")
    # validate(), not the constructor: an empty or NUL-bearing query, or a conversation id that is not a UUID,
    # is the caller's 400, never a 500.
    request = validate(
        ChatRequest,
        {
            "query": plan.query,
            "inputs": inputs(plan.query, settings),
            "conversation_id": plan.conversation_id,
            "user": user,
        },
    )
    return Run(invoke.chat(session, app_id, request, expect="any"), plan)


@dataclass
class Answer:
    """Folds Dify events of any app type into OpenAI's text, usage and conversation id."""

    conversation_id: str | None = None
    usage: dict | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    parts: list[str] = field(default_factory=list)
    replaced: bool = False  # Dify's output moderation replaced the answer: the text sent before is void
    _streamed_text: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def text_of(self, event: dict) -> str:
        """The text an event adds to the answer ('' for events that add none); raises on an error event."""
        kind = event.get("event")
        if event.get("conversation_id"):
            self.conversation_id = event["conversation_id"]
        if kind == "error":
            raise from_error_event(event)
        text = ""
        if kind in ("message", "agent_message"):
            self._streamed_text = True
            text = str(event.get("answer") or "")
        elif kind == "message_replace":  # output moderation replaced the whole answer
            self.parts, self.replaced = [], True
            text = str(event.get("answer") or "")
        elif kind == "text_chunk":
            self._streamed_text = True
            text = str((event.get("data") or {}).get("text") or "")
        elif kind == "text_replace":  # the same, in a workflow's streamed text
            self.parts, self.replaced, self._streamed_text = [], True, True
            text = str((event.get("data") or {}).get("text") or "")
        elif kind == "message_end":
            self.usage = split_usage((event.get("metadata") or {}).get("usage") or {})
        elif kind == "workflow_finished":
            data = event.get("data") or {}
            if self.usage is None and data.get("total_tokens") is not None:
                self.usage = total_only_usage(data["total_tokens"])
            if not self._streamed_text and "conversation_id" not in event:
                text = invoke.output_text(data.get("outputs") or {})
        if text:
            self.parts.append(text)
        return text

    @property
    def finish_reason(self) -> str:
        """OpenAI's `content_filter` when moderation replaced the answer, else `stop`."""
        return "content_filter" if self.replaced else "stop"

    def read_all(self, events: Iterable[dict]) -> Answer:
        """Fold a whole answer (blocking callers); any failure, mid-stream ones included, is a EndpointError."""
        try:
            for event in events:
                self.text_of(event)
        except Exception as e:
            raise as_endpoint_error(e) from None
        return self

    def usage_or_zero(self) -> dict:
        return self.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


def split_usage(usage: dict) -> dict:
    """Dify's message usage (chat, agent, chatflow and completion apps report prompt and completion apart)."""
    prompt, completion = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": _count(usage.get("total_tokens")) or prompt + completion,
    }


def total_only_usage(total: object) -> dict:
    """Workflow apps report a total only: it is not split, rather than all called completion."""
    return {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": _count(total)}


def _count(value: object) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def remember(session, started: Run, answer: Answer) -> None:
    """After a whole answer: the caller's next history that extends this one continues the conversation."""
    openai_memory.remember(session.storage, started.plan, answer.text, answer.conversation_id)


def sse(data: dict, event: str | None = None) -> bytes:
    """One Server-Sent Event frame (with an `event:` line when named, as the Responses API sends)."""
    head = b"event: " + event.encode() + b"\n" if event else b""
    return head + SSE.encode(data)


SSE_PING = b": ping\n\n"  # the keep-alive of OpenAI streams: an SSE comment, which clients skip


def models(session, settings: DuckSettings) -> dict:
    return {"object": "list", "data": [model(session, app_id) for app_id in served(settings)]}


def model(session, app_id: str) -> dict:
    """A model object: `created` is when Duck first saw the app answer, else when this plugin was built."""
    seen = app_modes.lookup(session.storage, app_id)
    return {"id": app_id, "object": "model", "created": seen["seen"] if seen else _PLUGIN_CREATED, "owned_by": "dify"}


def _plugin_created() -> int:
    created = routes.load("manifest.yaml").get("created_at")
    if isinstance(created, datetime.datetime):
        return int(created.timestamp())
    try:
        return int(datetime.datetime.fromisoformat(str(created).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


_PLUGIN_CREATED = _plugin_created()
