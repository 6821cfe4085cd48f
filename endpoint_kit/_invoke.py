"""Calling a Dify app from a handler, with Dify's failures made HTTP errors before the response starts.

A handler's status and headers are fixed once it returns, so both calls here wait for the app's first
event (or its failure) before the handler builds its response: `run_app` for the whole blocking answer,
`stream_app` for the first event of a stream, at most KEEPALIVE_SECONDS. An app that fails, or whose
first event is an error or shows the wrong kind of app, raises an EndpointError with the right status.
An app still silent after the wait gets a 200 stream whose first event is checked when it comes; any
failure after that becomes the stream's last event (see _encoders.py).

The SDK's invokers (`session.app.chat/.workflow/.completion.invoke`) all send the same request; Dify
dispatches by the app's stored mode (api/core/plugin/backwards_invocation/app.py), so the kind of
answer is checked against the `mode` asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from endpoint_kit._dify_errors import MODES, app_error, as_endpoint_error, dify_error, from_error_event, mode_mismatch
from endpoint_kit._encoders import Event
from endpoint_kit._errors import EndpointError, internal_error, invalid_param
from endpoint_kit._streaming import KEEPALIVE_SECONDS, AppStream, Source

logger = logging.getLogger("endpoint_kit")

ANY = "any"  # Dify picks by the app's mode: the chat invoker when there is a query, the workflow one otherwise
# Dify refuses blocking calls of Agent apps before running anything
# (api/core/app/apps/agent_chat/app_generator.py): run_app streams them instead.
_AGENT_BLOCKING = "does not support blocking mode"

OnFirst = Callable[[Event], None]


def stream_app(
    session: Any,
    mode: str,
    app_id: str,
    *,
    inputs: dict[str, Any] | None = None,
    query: str | None = None,
    conversation_id: str | None = None,
    user: str | None = None,
    on_first: OnFirst | None = None,
    app_mode: str | None = None,
) -> AppStream:
    """Start the app in streaming mode; returns once its first event came (or KEEPALIVE_SECONDS passed).

    `session` is the handler's `self.session`; `mode` is "chat" (Chatbot, Agent, Chatflow apps),
    "workflow", "completion", or "any". Iterate the answer for Dify's event dicts, exactly as Dify
    sends them. Raises EndpointError when the app fails before its first event, when that event is
    an `event: error`, or when it shows another kind of app than `mode`.

    `on_first(event)` runs once with the first event (for a slow app, after the response started):
    what to remember once the app answered, e.g. a new conversation id. It raising EndpointError
    fails the call; other exceptions are logged, never the caller's error. `app_mode`, Dify's name of
    the app's mode when the caller learnt it, only sharpens the answer to Dify's bare 500.
    """
    call = _invoker(session, mode, app_id, inputs, query, conversation_id, user)
    failed = _translator(mode, conversation_id, app_mode)
    return _stream(lambda: call("streaming"), mode, on_first, failed)


def run_app(
    session: Any,
    mode: str,
    app_id: str,
    *,
    inputs: dict[str, Any] | None = None,
    query: str | None = None,
    conversation_id: str | None = None,
    user: str | None = None,
    on_first: OnFirst | None = None,
    app_mode: str | None = None,
) -> dict[str, Any]:
    """Run the app in blocking mode; returns Dify's blocking answer (a dict). Arguments as stream_app.

    Agent apps only stream: their events are folded into the blocking chat answer's shape.
    Raises EndpointError for any failure, including a failed run inside a chat app.
    """
    call = _invoker(session, mode, app_id, inputs, query, conversation_id, user)
    failed = _translator(mode, conversation_id, app_mode)
    try:
        answer = call("blocking")
    except Exception as e:
        if _AGENT_BLOCKING not in str(e):
            raise failed(e, blocking=True) from None
        stream = _stream(lambda: call("streaming"), mode, on_first, failed)
        try:
            return fold_chat_events(stream)
        except Exception as e:
            raise as_endpoint_error(e).after_run() from None
    if not isinstance(answer, dict):
        raise internal_error().after_run()
    _first_checked(answer, mode, on_first)
    return answer


# What a caller may send for an app, as Dify's Service API names it: each optional, of these types.
_APP_FIELDS: dict[str, type] = {"query": str, "inputs": dict, "conversation_id": str, "user": str}


def app_fields(body: object) -> dict[str, Any]:
    """The app call a JSON body asks for, as keyword arguments of stream_app and run_app.

    `query`, `inputs`, `conversation_id` and `user` are each optional (null counts as absent); other
    fields are ignored. A body that is not an object, or a field of another type, is 400 invalid_param.
    """
    if not isinstance(body, dict):
        raise invalid_param("The body must be a JSON object.")
    fields = {name: body[name] for name in _APP_FIELDS if body.get(name) is not None}
    for name, value in fields.items():
        if not isinstance(value, _APP_FIELDS[name]):
            raise invalid_param(f"{name} must be {'an object' if _APP_FIELDS[name] is dict else 'a string'}.")
    return fields


def app_parameters(session: Any, app_id: str) -> dict[str, Any]:
    """The app's parameters as Dify's `fetch_app` returns them (`user_input_form`, `opening_statement`, ...)."""
    try:
        return dict(session.app.fetch_app(app_id))
    except Exception as e:
        raise dify_error(e) from None


def app_kind(event: Event) -> str | None:
    """Which app family produced this event or blocking answer: "chat", "workflow", "completion" or None."""
    if "conversation_id" in event:
        return "chat"
    if "workflow_run_id" in event:
        return "workflow"
    if "message_id" in event:
        return "completion"
    return None


def fold_chat_events(events: Iterator[Event] | AppStream) -> dict[str, Any]:
    """A chat app's events folded into Dify's blocking chat answer (for Agent apps, which only stream)."""
    answer: list[str] = []
    # Dify documents the blocking chat answer's mode as "fixed as chat" (Service API docs, template_chat.en.mdx):
    # agent apps never answer blocking, so the folded answer takes the chat shape and the value clients know.
    result: dict[str, Any] = {"event": "message", "mode": "chat", "answer": "", "metadata": {}}
    for event in events:
        kind = event.get("event")
        if kind == "error":
            raise from_error_event(event)
        for key in ("task_id", "message_id", "conversation_id", "created_at"):
            if key in event:
                result[key] = event[key]
        if kind in ("message", "agent_message"):
            answer.append(str(event.get("answer") or ""))
        elif kind == "message_replace":  # Dify's output moderation replaced the answer so far
            answer = [str(event.get("answer") or "")]
        elif kind == "message_end":
            result["metadata"] = event.get("metadata") or {}
    result["id"] = result.get("message_id")
    result["answer"] = "".join(answer)
    return result


def _invoker(
    session: Any,
    mode: str,
    app_id: str,
    inputs: dict[str, Any] | None,
    query: str | None,
    conversation_id: str | None,
    user: str | None,
) -> Callable[[str], Any]:
    """The SDK call for `mode`, taking the response mode ("streaming" or "blocking")."""
    if mode not in (*MODES, ANY):
        raise ValueError(f"mode must be one of {(*MODES, ANY)}, not {mode!r}")
    inputs = inputs or {}
    if mode == "chat" or (mode == ANY and query is not None):
        chat = session.app.chat
        return lambda response_mode: chat.invoke(app_id, query or "", inputs, response_mode, conversation_id, user)
    invoker = session.app.completion if mode == "completion" else session.app.workflow
    return lambda response_mode: invoker.invoke(app_id, inputs, response_mode, user)


def _translator(mode: str, conversation_id: str | None, app_mode: str | None) -> Callable[..., EndpointError]:
    def failed(error: Exception, *, blocking: bool) -> EndpointError:
        expect = mode if mode in MODES else None
        return app_error(error, expect, blocking=blocking, conversation_id=conversation_id, app_mode=app_mode)

    return failed


def _stream(
    call: Callable[[], Any], mode: str, on_first: OnFirst | None, failed: Callable[..., EndpointError]
) -> AppStream:
    source: Source[Event] = Source(_checked(call, mode, on_first, failed))
    first = source.first(KEEPALIVE_SECONDS)  # raises the app's failure, already an EndpointError
    return AppStream(source, first)


def _checked(
    call: Callable[[], Any], mode: str, on_first: OnFirst | None, failed: Callable[..., EndpointError]
) -> Iterator[Event]:
    """The app's events, the first one checked: its failure, an error event or the wrong kind as an EndpointError."""
    try:
        events = iter(call())
        first = next(events, None)
    except Exception as e:
        raise failed(e, blocking=False) from None
    if first is None:
        raise EndpointError(502, "bad_gateway", "The app ended without producing any event.", app_may_have_run=True)
    try:
        if first.get("event") == "error":
            raise from_error_event(first)
        _first_checked(first, mode, on_first)
    except EndpointError:
        _close(events)  # stop listening for the rest of a stream nobody will read
        raise
    yield first
    yield from events


def _first_checked(first: Event, mode: str, on_first: OnFirst | None) -> None:
    if on_first is not None:
        try:
            on_first(first)
        except EndpointError:
            raise
        except Exception:  # e.g. storage failing: the app already ran, its answer must not fail for it
            logger.exception("on_first failed; the app's answer goes on")
    kind = app_kind(first)
    if mode in MODES and kind and kind != mode:
        raise mode_mismatch(mode).after_run()  # the app's answer proves it ran


def _close(events: Iterator[Event]) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()
