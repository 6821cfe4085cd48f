"""OpenAI-compatible chat completions over any Dify app: request model, events to chunks, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from werkzeug import Response

from duck import encoders, invoke
from duck.dify_errors import as_duck_error, from_error_event
from duck.errors import DuckError
from duck.handler import make_handler
from duck.models import ChatRequest, Text
from duck.responses import STREAM_HEADERS, json_response
from duck.settings import Settings


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Text | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The fields Duck uses; sampling parameters (temperature, ...) belong to the app and are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model: Annotated[Text, Field(min_length=1)]
    messages: Annotated[list[Message], Field(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: Annotated[Text, Field(max_length=255)] | None = None
    metadata: dict[str, str] | None = None
    conversation_id: Annotated[Text, Field(max_length=64)] | None = None

    def dify_conversation_id(self) -> str | None:
        return self.conversation_id or (self.metadata or {}).get("conversation_id") or None


def error_body(error: DuckError) -> dict:
    """OpenAI's error shape, {"error": {"message", "type", "param", "code"}}."""
    if error.status == 401:
        kind, code = "invalid_request_error", "invalid_api_key"
    elif error.code == "app_not_found":
        kind, code = "invalid_request_error", "model_not_found"
    elif error.status < 500:
        kind, code = "invalid_request_error", error.code
    else:
        kind, code = "server_error", error.code
    return {"error": {"message": error.message, "type": kind, "param": None, "code": code}}


def error_response(error: DuckError) -> Response:
    return Response(encoders.dumps(error_body(error)), status=error.status, headers=error.headers,
                    content_type="application/json")


handler = make_handler(error_response)


def _served(settings: Settings) -> tuple[str, ...]:
    """The pinned app, else the allow-list (empty: any app id)."""
    return (settings.app_id,) if settings.app_id else settings.openai_models


def resolve_model(body: ChatCompletionRequest, settings: Settings) -> str:
    """The app to run: the pinned app, or an app of the allow-list (any app when there is none)."""
    allowed = _served(settings)
    if allowed and body.model not in allowed:
        raise DuckError(404, "app_not_found", f"The model '{body.model}' does not exist or you do not have access to it.")
    return body.model


def models(settings: Settings) -> dict:
    return {"object": "list",
            "data": [{"id": i, "object": "model", "created": 0, "owned_by": "dify"} for i in _served(settings)]}


def prompt(body: ChatCompletionRequest, settings: Settings) -> str:
    """The app's query: the last user message, or the whole transcript when configured so.

    A continued Dify conversation already holds the earlier turns, so it gets the last message only.
    """
    users = [m for m in body.messages if m.role == "user"]
    if not users:
        raise DuckError(400, "invalid_param", "messages must contain at least one user message.")
    if settings.openai_memory != "transcript" or body.dify_conversation_id():
        return users[-1].text()
    return "\n\n".join(f"{m.role}: {m.text()}" for m in body.messages if m.text())


def inputs(text: str, settings: Settings) -> dict:
    # Chat apps drop inputs outside their form, so sending this to every app type is harmless.
    return {settings.openai_input_variable: text} if settings.openai_input_variable else {}


class Completion:
    """Folds Dify events of any app type into OpenAI's text, usage and conversation id."""

    def __init__(self, model: str):
        self.id = "chatcmpl-" + str(int(time.time() * 1000))
        self.model = model
        self.created = int(time.time())
        self.usage: dict | None = None
        self.conversation_id: str | None = None
        self.streamed_text = False

    def text_of(self, event: dict) -> str:
        """The text an event adds to the answer ('' for events that add none)."""
        kind = event.get("event")
        if event.get("conversation_id"):
            self.conversation_id = event["conversation_id"]
        if event.get("message_id"):
            self.id = f"chatcmpl-{event['message_id']}"
        if kind == "error":
            raise from_error_event(event)
        if kind in ("message", "agent_message"):
            self.streamed_text = True
            return str(event.get("answer") or "")
        if kind == "text_chunk":
            self.streamed_text = True
            return str((event.get("data") or {}).get("text") or "")
        if kind == "message_end":
            self.usage = _usage((event.get("metadata") or {}).get("usage") or {})
        if kind == "workflow_finished":
            data = event.get("data") or {}
            if self.usage is None and data.get("total_tokens") is not None:
                self.usage = {"prompt_tokens": 0, "completion_tokens": data["total_tokens"],
                              "total_tokens": data["total_tokens"]}
            if not self.streamed_text and "conversation_id" not in event:
                return invoke.output_text(data.get("outputs") or {})
        return ""

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                "conversation_id": self.conversation_id}

    def whole(self, text: str) -> dict:
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": self.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "conversation_id": self.conversation_id}


def run(session, app_id: str, body: ChatCompletionRequest, settings: Settings):
    """Start the app (any type) in streaming mode; its first event is known when this returns."""
    text = prompt(body, settings)
    request = ChatRequest(query=text, inputs=inputs(text, settings), conversation_id=body.dify_conversation_id(),
                          user=body.user)
    return invoke.chat(session, app_id, request, expect=None)


def respond(body: ChatCompletionRequest, events: Iterator[dict]) -> Response:
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return Response(stream(events, body.model, include_usage), content_type="text/event-stream; charset=utf-8",
                        headers=STREAM_HEADERS)
    return json_response(blocking(events, body.model))


def blocking(events: Iterator[dict], model: str) -> dict:
    completion = Completion(model)
    try:
        text = "".join(completion.text_of(event) for event in events)
    except Exception as e:
        raise as_duck_error(e) from None
    return completion.whole(text)


def stream(events: Iterator[dict], model: str, include_usage: bool) -> Iterator[bytes]:
    """SSE frames of chat.completion.chunk objects, ending with `data: [DONE]`."""
    completion = Completion(model)
    try:
        opened = False
        for event in encoders.with_keepalive(events):
            if event is encoders.PING:
                yield b": ping\n\n"  # an SSE comment: OpenAI clients skip it
                continue
            text = completion.text_of(event)
            if not opened:  # OpenAI's first chunk names the role; ids are known from the first event
                yield _frame(completion.chunk({"role": "assistant", "content": ""}))
                opened = True
            if text:
                yield _frame(completion.chunk({"content": text}))
        yield _frame(completion.chunk({}, "stop"))
        if include_usage:
            yield _frame({**completion.chunk({}), "choices": [], "usage": completion.usage})
    except Exception as e:  # the status is already sent: the error becomes the last chunk
        yield _frame(error_body(as_duck_error(e)))
    yield b"data: [DONE]\n\n"


def _frame(data: dict) -> bytes:
    return encoders.SSE.encode(data)


def _usage(usage: dict) -> dict:
    return {key: int(usage.get(key) or 0) for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
