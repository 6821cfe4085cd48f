"""POST /v1/responses: OpenAI's Responses API over any Dify app (the default of @ai-sdk/openai).

A response holds one assistant message. Streaming sends the Responses API's event sequence:
response.created, response.in_progress, output_item.added, content_part.added, output_text.delta...,
output_text.done, content_part.done, output_item.done, response.completed (or response.failed).
`previous_response_id`, an `item_reference` to an earlier answer, or `conversation` continue the
same Dify conversation: response ids are mapped to conversations in plugin storage, bounded.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from werkzeug import Response

from duck import openai
from duck.models import Text
from duck.openai_memory import Turn
from duck.settings import DuckSettings
from endpoint_kit import BoundedMap, as_endpoint_error, json_response, stream_response

logger = logging.getLogger("duck")

# About 1,000 response ids (each entry about 120 bytes of storage), kept 30 days at most.
_BUCKETS, _PER_BUCKET, _TTL_SECONDS = 16, 64, 30 * 24 * 3600
_TEXT_PARTS = ("input_text", "output_text", "text")
_ROLES = ("user", "assistant", "system", "developer")


class ResponsesRequest(BaseModel):
    """The fields Duck uses; sampling parameters (temperature, ...) belong to the app and are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model: Annotated[Text, Field(min_length=1)]
    input: Text | Annotated[list[dict[str, Any]], Field(min_length=1)]
    instructions: Text | None = None
    stream: bool = False
    previous_response_id: Annotated[Text, Field(min_length=1, max_length=128)] | None = None
    conversation: Annotated[Text, Field(min_length=1, max_length=64)] | dict[str, Any] | None = None
    user: Annotated[Text, Field(max_length=255)] | None = None
    metadata: dict[str, str] | None = None
    store: bool = True
    # Refused when they would change the answer's meaning (see `refuse_unsupported`).
    tools: list[Any] | None = None
    tool_choice: Any = None
    text: dict[str, Any] | None = None
    background: bool | None = None
    top_logprobs: int | None = None
    prompt: Any = None  # a prompt template stored at OpenAI: it would replace the app's instructions

    def conversation_id(self) -> str | None:
        if isinstance(self.conversation, dict):
            value = self.conversation.get("id")
            if not isinstance(value, str) or not value or len(value) > 64:
                raise openai.ParamError("conversation", "conversation.id must be a conversation id string.")
            return value
        return self.conversation


def refuse_unsupported(body: ResponsesRequest) -> None:
    if body.tools:
        raise openai.unsupported("tools", "Client-side tools")
    if body.tool_choice not in (None, "none", "auto"):
        raise openai.unsupported("tool_choice", "Forcing a tool")
    text_format = (body.text or {}).get("format") or {}
    if not isinstance(text_format, dict):
        raise openai.ParamError("text.format", 'text.format must be an object such as {"type": "text"}.')
    text_format = text_format.get("type")
    if text_format not in (None, "text"):
        raise openai.unsupported("text.format", f"text.format {text_format!r}")
    if body.background:
        raise openai.unsupported("background", "Background responses")
    if body.top_logprobs:
        raise openai.unsupported("top_logprobs", "Log probabilities")
    if body.prompt:
        raise openai.unsupported("prompt", "A stored prompt template")


def parse_input(body: ResponsesRequest) -> tuple[list[Turn], list[tuple[int, str]]]:
    """The history as turns (instructions first), and the item references with their position in it."""
    turns = [Turn("system", body.instructions)] if body.instructions else []
    references: list[tuple[int, str]] = []
    if isinstance(body.input, str):
        return [*turns, Turn("user", body.input)], references
    for index, item in enumerate(body.input):
        kind = item.get("type", "message")
        if kind == "item_reference":
            reference = item.get("id")
            if not isinstance(reference, str) or not reference:
                raise openai.ParamError(f"input[{index}].id", "An item_reference needs the id of an earlier item.")
            references.append((len(turns), reference))
            turns.append(Turn("assistant", ""))
        elif kind == "message":
            turns.append(_message_turn(index, item))
        else:
            raise openai.unsupported(f"input[{index}]", f"Input items of type {kind!r}")
    return turns, references


def _message_turn(index: int, item: dict) -> Turn:
    role, content = item.get("role"), item.get("content")
    if role not in _ROLES:
        raise openai.ParamError(f"input[{index}].role", f"input[{index}].role must be one of {', '.join(_ROLES)}.")
    if isinstance(content, str):
        return Turn(role, content)
    if not isinstance(content, list):
        raise openai.ParamError(f"input[{index}].content", f"input[{index}].content must be a string or a list.")
    texts = []
    for part_index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "refusal":
            continue
        else:
            raise openai.unsupported(f"input[{index}].content[{part_index}]", f"Content of type {kind!r}")
    return Turn(role, "".join(texts))


def responses_map(storage) -> BoundedMap:
    return BoundedMap(storage, "openai-responses", buckets=_BUCKETS, per_bucket=_PER_BUCKET, ttl_seconds=_TTL_SECONDS)


def _map_key(settings: DuckSettings, response_id: str) -> str:
    # Scoped by the key's hash: another endpoint of the same plugin cannot resolve this endpoint's ids.
    return hashlib.sha256(settings.api_key.encode()).hexdigest() + "\0" + response_id


def _conversation_of(session, settings: DuckSettings, app_id: str, response_id: str, param: str) -> str:
    known = responses_map(session.storage).get(_map_key(settings, response_id))
    if isinstance(known, list) and len(known) == 2 and known[0] == app_id and known[1]:
        return known[1]
    if param == "previous_response_id":
        raise openai.ParamError(
            param, f"Previous response with id '{response_id}' not found.", "previous_response_not_found", 404
        )
    raise openai.ParamError(
        param, f"Item with id '{response_id.replace('resp_', 'msg_', 1)}' not found.", "item_not_found", 404
    )


def start(session, app_id: str, body: ResponsesRequest, settings: DuckSettings) -> openai.Run:
    """Resolve which conversation this continues, then start the app; its first event has arrived."""
    refuse_unsupported(body)
    turns, references = parse_input(body)
    conversation_id = body.conversation_id()
    if not conversation_id and body.previous_response_id:
        conversation_id = _conversation_of(session, settings, app_id, body.previous_response_id, "previous_response_id")
    if references:
        position, reference = references[-1]
        response_id = "resp_" + reference.removeprefix("msg_")
        found = _conversation_of(session, settings, app_id, response_id, f"input[{position}]")
        if all(turn.role == "user" for turn in turns[position + 1 :]):
            conversation_id = conversation_id or found
    return openai.run(session, app_id, settings, turns, body.user, conversation_id, memory=not references)


class _Response:
    """One Responses API response object around the folded answer."""

    def __init__(self, body: ResponsesRequest):
        token = openai.new_id("")
        self.id, self.item_id = "resp_" + token, "msg_" + token  # an item names its response
        self.body = body
        self.answer = openai.Answer()

    def item(self, status: str) -> dict:
        content = [] if status == "in_progress" else [self.part()]
        return {"id": self.item_id, "type": "message", "status": status, "role": "assistant", "content": content}

    def part(self, text: str | None = None) -> dict:
        return {
            "type": "output_text",
            "text": self.answer.text if text is None else text,
            "annotations": [],
            "logprobs": [],
        }

    def usage(self) -> dict | None:
        usage = self.answer.usage
        if usage is None:
            return None
        return {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage["total_tokens"],
        }

    def object(self, status: str, output: list, error: dict | None = None) -> dict:
        body = self.body
        conversation = {"id": self.answer.conversation_id} if self.answer.conversation_id else None
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.answer.created,
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": None,
            "instructions": body.instructions,
            "max_output_tokens": None,
            "model": body.model,
            "output": output,
            "parallel_tool_calls": False,
            "previous_response_id": body.previous_response_id,
            "reasoning": {"effort": None, "summary": None},
            "store": body.store,
            "temperature": None,
            "text": {"format": {"type": "text"}},
            "tool_choice": "none",
            "tools": [],
            "top_p": None,
            "truncation": "disabled",
            "usage": self.usage() if status == "completed" else None,
            "user": body.user,
            "metadata": body.metadata or {},
            "conversation": conversation,
        }

    def record(self, session, settings: DuckSettings, app_id: str) -> None:
        """Map this response id to its Dify conversation, so previous_response_id can continue it."""
        if not self.body.store or not self.answer.conversation_id:
            return
        try:
            responses_map(session.storage).put(_map_key(settings, self.id), [app_id, self.answer.conversation_id])
        except Exception:
            logger.warning("could not record a response id", exc_info=True)


def respond(session, settings: DuckSettings, app_id: str, body: ResponsesRequest, started: openai.Run) -> Response:
    if body.stream:
        return stream_response(
            started.events,
            lambda events: stream(session, settings, app_id, body, started, events),
            "text/event-stream",
            openai.SSE_PING,
        )
    return json_response(blocking(session, settings, app_id, body, started))


def blocking(session, settings: DuckSettings, app_id: str, body: ResponsesRequest, started: openai.Run) -> dict:
    response = _Response(body)
    response.answer.read_all(started.events)
    openai.remember(session, started, response.answer)
    response.record(session, settings, app_id)
    return response.object("completed", [response.item("completed")])


def stream(
    session, settings: DuckSettings, app_id: str, body: ResponsesRequest, started: openai.Run, events: Iterable[dict]
) -> Iterator[bytes]:
    """The Responses API's streaming events, each framed as `event: <type>` plus `data: <json>`."""
    response = _Response(body)
    sequence = iter(range(1 << 62))

    def event(kind: str, **fields) -> bytes:
        return openai.sse({"type": kind, "sequence_number": next(sequence), **fields}, event=kind)

    where = {"item_id": response.item_id, "output_index": 0, "content_index": 0}
    opened = False
    try:
        for app_event in events:
            text = response.answer.text_of(app_event)
            if not opened:  # ids and the conversation are known from the first event
                opened = True
                yield event("response.created", response=response.object("in_progress", []))
                yield event("response.in_progress", response=response.object("in_progress", []))
                yield event("response.output_item.added", output_index=0, item=response.item("in_progress"))
                yield event(
                    "response.content_part.added",
                    item_id=response.item_id,
                    output_index=0,
                    content_index=0,
                    part=response.part(""),
                )
            if text:
                yield event("response.output_text.delta", **where, delta=text, logprobs=[])
        yield event("response.output_text.done", **where, text=response.answer.text, logprobs=[])
        yield event("response.content_part.done", **where, part=response.part())
        yield event("response.output_item.done", output_index=0, item=response.item("completed"))
        openai.remember(session, started, response.answer)
        response.record(session, settings, app_id)
        yield event("response.completed", response=response.object("completed", [response.item("completed")]))
    except Exception as e:  # the status is already sent: the response fails as the Responses API says so
        if not opened:  # a silent app failed: clients (the official SDK's helper) need `response.created` first
            yield event("response.created", response=response.object("in_progress", []))
        error = openai.server_error_body(as_endpoint_error(e))["error"]
        failed = response.object(
            "failed", [response.item("incomplete")], {"code": "server_error", "message": error["message"]}
        )
        yield event("response.failed", response=failed)
