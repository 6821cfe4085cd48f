"""POST /v1/chat/completions: OpenAI's chat completions over any Dify app."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from werkzeug import Response

from duck import openai
from duck.models import Text
from duck.openai_memory import Turn
from duck.settings import DuckSettings
from endpoint_kit import as_endpoint_error, json_response, stream_response


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Text | list[ContentPart] | None = None
    tool_calls: list[Any] | None = None

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
    # Refused when they would change the answer's meaning (see `refuse_unsupported`).
    n: int | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    response_format: dict[str, Any] | None = None
    modalities: list[str] | None = None

    def dify_conversation_id(self) -> str | None:
        return self.conversation_id or (self.metadata or {}).get("conversation_id") or None


def refuse_unsupported(body: ChatCompletionRequest) -> None:
    """400 for a parameter whose meaning a Dify app cannot honour, rather than silently answering otherwise."""
    if body.n is not None and body.n != 1:
        raise openai.unsupported("n", "More than one choice (n > 1)")
    if body.tools or body.functions:
        raise openai.unsupported("tools" if body.tools else "functions", "Client-side tools")
    if body.tool_choice not in (None, "none", "auto"):
        raise openai.unsupported("tool_choice", "Forcing a tool")
    if body.logprobs or body.top_logprobs:
        raise openai.unsupported("logprobs", "Log probabilities")
    if body.response_format and body.response_format.get("type") not in (None, "text"):
        raise openai.unsupported("response_format", f"response_format {body.response_format.get('type')!r}")
    if body.modalities and set(body.modalities) - {"text"}:
        raise openai.unsupported("modalities", "Output other than text")
    for index, message in enumerate(body.messages):
        if message.role in ("tool", "function") or message.tool_calls:
            raise openai.unsupported(f"messages[{index}]", "Tool calls and tool results")
        if isinstance(message.content, list) and any(part.type != "text" for part in message.content):
            kinds = sorted({part.type for part in message.content if part.type != "text"})
            raise openai.unsupported(f"messages[{index}].content", f"Content of type {', '.join(kinds)}")


def turns(body: ChatCompletionRequest) -> list[Turn]:
    return [Turn(message.role, message.text()) for message in body.messages]


def start(session, app_id: str, body: ChatCompletionRequest, settings: DuckSettings) -> openai.Run:
    refuse_unsupported(body)
    return openai.run(session, app_id, settings, turns(body), body.user, body.dify_conversation_id())


def respond(session, body: ChatCompletionRequest, started: openai.Run) -> Response:
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return stream_response(
            started.events,
            lambda events: stream(session, started, events, body.model, include_usage),
            "text/event-stream",
            openai.SSE_PING,
        )
    return json_response(blocking(session, started, body.model))


class _Completion:
    """One chat completion's id, creation time and model around the folded answer."""

    def __init__(self, model: str):
        self.answer = openai.Answer()
        self.id = openai.new_id("chatcmpl-")
        self.model = model

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.answer.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            "conversation_id": self.answer.conversation_id,
        }

    def whole(self) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.answer.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.answer.text},
                    "finish_reason": self.answer.finish_reason,
                }
            ],
            "usage": self.answer.usage_or_zero(),
            "conversation_id": self.answer.conversation_id,
        }


def blocking(session, started: openai.Run, model: str) -> dict:
    completion = _Completion(model)
    completion.answer.read_all(started.events)
    openai.remember(session, started, completion.answer)
    return completion.whole()


def stream(session, started: openai.Run, events: Iterable[dict], model: str, include_usage: bool) -> Iterator[bytes]:
    """SSE frames of chat.completion.chunk objects, ending with `data: [DONE]`.

    Sent text cannot be taken back: when Dify's moderation replaces the answer, the replacement comes
    in a chunk marked `"message_replace": true`, and the stream finishes with `content_filter`.
    """
    completion = _Completion(model)
    try:
        opened = False
        for event in events:
            text = completion.answer.text_of(event)
            if not opened:  # OpenAI's first chunk names the role
                yield openai.sse(completion.chunk({"role": "assistant", "content": ""}))
                opened = True
            if event.get("event") in ("message_replace", "text_replace"):
                yield openai.sse({**completion.chunk({"content": text}), "message_replace": True})
            elif text:
                yield openai.sse(completion.chunk({"content": text}))
        yield openai.sse(completion.chunk({}, completion.answer.finish_reason))
        if include_usage:
            yield openai.sse({**completion.chunk({}), "choices": [], "usage": completion.answer.usage_or_zero()})
        openai.remember(session, started, completion.answer)
    except Exception as e:  # the status is already sent: the error becomes the last chunk
        yield openai.sse(openai.server_error_body(as_endpoint_error(e)))
    yield b"data: [DONE]\n\n"
