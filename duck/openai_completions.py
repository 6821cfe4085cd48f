"""POST /v1/completions: OpenAI's legacy completions (LlamaIndex's default): a prompt in, the app's answer as text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from werkzeug import Response

from duck import openai
from duck.models import Text
from duck.openai_memory import Turn
from duck.settings import DuckSettings
from endpoint_kit import as_endpoint_error, json_response, stream_response


class TextCompletionRequest(BaseModel):
    """The fields Duck uses; sampling parameters (temperature, max_tokens, ...) belong to the app and are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model: Annotated[Text, Field(min_length=1)]
    prompt: (
        Annotated[Text, Field(min_length=1)]
        | Annotated[list[Annotated[Text, Field(min_length=1)]], Field(min_length=1, max_length=1)]
    )
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    user: Annotated[Text, Field(max_length=255)] | None = None
    # Refused when they would change the answer's meaning.
    n: int | None = None
    best_of: int | None = None
    echo: bool | None = None
    suffix: str | None = None
    logprobs: int | None = None

    def text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]


def start(session, app_id: str, body: TextCompletionRequest, settings: DuckSettings) -> openai.Run:
    if (body.n or 1) != 1 or (body.best_of or 1) != 1:
        raise openai.unsupported("n" if (body.n or 1) != 1 else "best_of", "More than one choice")
    if body.echo:
        raise openai.unsupported("echo", "Echoing the prompt")
    if body.suffix:
        raise openai.unsupported("suffix", "Insertion with a suffix")
    if body.logprobs:
        raise openai.unsupported("logprobs", "Log probabilities")
    # A completion has no history: each prompt is a new conversation, whatever the memory mode.
    return openai.run(session, app_id, settings, [Turn("user", body.text())], body.user, memory=False)


class _TextCompletion:
    def __init__(self, model: str):
        self.answer = openai.Answer()
        self.id = openai.new_id("cmpl-")
        self.model = model

    def object(self, text: str, finish_reason: str | None, usage: bool) -> dict:
        body = {
            "id": self.id,
            "object": "text_completion",
            "created": self.answer.created,
            "model": self.model,
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}],
        }
        if usage:
            body["usage"] = self.answer.usage_or_zero()
        return body


def respond(body: TextCompletionRequest, started: openai.Run) -> Response:
    if body.stream:
        include_usage = bool((body.stream_options or {}).get("include_usage"))
        return stream_response(
            started.events,
            lambda events: stream(events, body.model, include_usage),
            "text/event-stream",
            openai.SSE_PING,
        )
    return json_response(blocking(started, body.model))


def blocking(started: openai.Run, model: str) -> dict:
    completion = _TextCompletion(model)
    completion.answer.read_all(started.events)
    return completion.object(completion.answer.text, completion.answer.finish_reason, usage=True)


def stream(events: Iterable[dict], model: str, include_usage: bool) -> Iterator[bytes]:
    """SSE frames of text_completion objects, ending with `data: [DONE]`."""
    completion = _TextCompletion(model)
    try:
        for event in events:
            text = completion.answer.text_of(event)
            if text:
                yield openai.sse(completion.object(text, None, usage=False))
        yield openai.sse(completion.object("", completion.answer.finish_reason, usage=False))
        if include_usage:
            yield openai.sse({**completion.object("", None, usage=True), "choices": []})
    except Exception as e:  # the status is already sent: the error becomes the last frame
        yield openai.sse(openai.server_error_body(as_endpoint_error(e)))
    yield b"data: [DONE]\n\n"
