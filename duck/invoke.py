"""Calling Dify apps through the SDK's reverse invokers, with Dify's errors made HTTP errors.

Status and headers are fixed once a handler returns, so every call here waits for the first event
(or the failure) before the handler builds its response; for a stream the wait is bounded, and an
app that stays silent longer gets a 200 stream whose first event is checked when it comes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from duck import app_modes, conversation_list, conversations, encoders, files, streaming
from duck.dify_errors import as_duck_error, dify_error, from_error_event, invocation_error
from duck.errors import mode_mismatch
from duck.models import ChatRequest, CompletionRequest, RunRequest, WorkflowRequest
from endpoint_kit import EndpointError, internal_error

logger = logging.getLogger("duck")


@dataclass(frozen=True)
class Stream:
    """An app's event stream, read ahead; `first` is its first event, or None if the app is still silent."""

    source: streaming.Source
    first: dict | None

    def __iter__(self) -> Iterator[dict]:
        return iter(self.source)


Result = dict | Stream  # a blocking answer, or a stream

_AGENT_BLOCKING = "does not support blocking mode"


def chat(session, app_id: str, body: ChatRequest | RunRequest, expect: str | None = "chat") -> Result:
    """Chat apps; with a `user`, conversations are kept private to the user who started them."""
    body = _with_files(session, app_id, body)
    owners = conversations.Owners(session.storage)
    if body.conversation_id:
        owner = owners.check(app_id, body.conversation_id, body.user)
    else:
        owner = conversations.owner_of(body.user)

    def call(mode: str):
        return session.app.chat.invoke(app_id, body.query, body.inputs, mode, body.conversation_id, body.user)

    learn = _Learner(session, app_id, expect)

    def on_first(first: dict) -> None:  # for a slow app this runs after the response started
        learn(first)
        # Recorded (or refreshed, keeping active conversations) once the app started; never raises.
        owners.remember(app_id, body.conversation_id or first.get("conversation_id"), owner)
        if body.user and not body.conversation_id and first.get("conversation_id"):
            conversation_list.record(
                session.storage, app_id, body.user, first["conversation_id"], body.query, first.get("created_at")
            )

    return _run(call, body.response_mode, expect, on_first, body.conversation_id, learn.mode)


def workflow(session, app_id: str, body: WorkflowRequest) -> Result:
    body = _with_files(session, app_id, body)
    learn = _Learner(session, app_id, "workflow")
    return _run(
        lambda mode: session.app.workflow.invoke(app_id, body.inputs, mode, body.user),
        body.response_mode,
        "workflow",
        learn,
        known_mode=learn.mode,
    )


def completion(session, app_id: str, body: CompletionRequest) -> Result:
    body = _with_files(session, app_id, body)
    learn = _Learner(session, app_id, "completion")
    return _run(
        lambda mode: session.app.completion.invoke(app_id, body.inputs, mode, body.user),
        body.response_mode,
        "completion",
        learn,
        known_mode=learn.mode,
    )


def run(session, app_id: str, body: RunRequest) -> Result:
    """Run any app: Dify dispatches by the app's stored mode, so no mode check applies."""
    if body.query is None:
        body = _with_files(session, app_id, body)
        learn = _Learner(session, app_id, None)
        return _run(
            lambda mode: session.app.workflow.invoke(app_id, body.inputs, mode, body.user),
            body.response_mode,
            None,
            learn,
            known_mode=learn.mode,
        )
    return chat(session, app_id, body, expect=None)


def _with_files(session, app_id: str, body):
    """The body with file inputs checked and `files` mapped onto the app's file input."""
    inputs = files.prepare_inputs(session, app_id, body.inputs, body.files)
    if inputs is body.inputs and not body.files:
        return body
    return body.model_copy(update={"inputs": inputs, "files": None})


def parameters(session, app_id: str) -> dict:
    try:
        return dict(session.app.fetch_app(app_id))
    except Exception as e:
        raise dify_error(e, expect=None) from None


def app_kind(event: dict) -> str | None:
    """Which Service API family produced this event or blocking answer."""
    if "conversation_id" in event:
        return "chat"
    if "workflow_run_id" in event:
        return "workflow"
    if "message_id" in event:
        return "completion"
    return None


class _Learner:
    """Refuses a call on the wrong route when the app's mode is known; learns the mode from the first answer."""

    def __init__(self, session, app_id: str, expect: str | None):
        self.storage, self.app_id = session.storage, app_id
        self.known = (
            app_modes.refuse_mismatch(self.storage, app_id, expect)
            if expect
            else app_modes.lookup(self.storage, app_id)
        )

    @property
    def mode(self) -> str | None:
        return self.known["mode"] if self.known else None

    def __call__(self, first: dict) -> None:
        if self.known is None:
            app_modes.learn(self.storage, self.app_id, first, None)


def _run(
    call: Callable[[str], object],
    response_mode: str,
    expect: str | None,
    learn: Callable[[dict], None] = lambda first: None,
    conversation_id: str | None = None,
    known_mode: str | None = None,
) -> Result:
    """`conversation_id` and `known_mode` (the app's mode when learnt) only sharpen error answers."""
    failed = functools.partial(invocation_error, expect=expect, conversation_id=conversation_id, known_mode=known_mode)
    if response_mode == "blocking":
        return _blocking(call, expect, learn, failed)
    return _streaming(lambda: call("streaming"), expect, learn, failed)


def _blocking(
    call: Callable[[str], object],
    expect: str | None,
    learn: Callable[[dict], None],
    failed: Callable[..., EndpointError],
) -> dict:
    try:
        answer = call("blocking")
    except Exception as e:
        if _AGENT_BLOCKING not in str(e):
            raise failed(e, blocking=True) from None
        # Agent apps only stream; Dify refuses before running anything, so streaming now is safe.
        stream = _streaming(lambda: call("streaming"), expect, learn, failed)
        try:
            return aggregate(stream)
        except Exception as e:
            raise as_duck_error(e, expect).after_run() from None
    if not isinstance(answer, dict):
        raise internal_error().after_run()
    learn(answer)
    _check_kind(answer, expect)
    return answer


def _streaming(
    call: Callable[[], object], expect: str | None, learn: Callable[[dict], None], failed: Callable[..., EndpointError]
) -> Stream:
    source = streaming.Source(_checked(call, expect, learn, failed))
    first = source.first(streaming.KEEPALIVE_SECONDS)  # raises the app's failure, already a EndpointError
    return Stream(source, first)


def _checked(
    call: Callable[[], object], expect: str | None, learn: Callable[[dict], None], failed: Callable[..., EndpointError]
) -> Iterator[dict]:
    """The app's events, the first one checked: its failure, or a mode mismatch, as a EndpointError."""
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
        _learn_quietly(learn, first)
        _check_kind(first, expect)
    except EndpointError:
        _close(events)  # stop listening for the rest of a stream nobody will read
        raise
    yield first
    yield from events


def _learn_quietly(learn: Callable[[dict], None], first: dict) -> None:
    """Storage failures must not fail an app run that succeeded (the app already ran)."""
    try:
        learn(first)
    except EndpointError:
        raise
    except Exception:
        logger.exception("could not store what the first event taught")


def _close(events: Iterator[dict]) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


def _check_kind(event: dict, expect: str | None) -> None:
    kind = app_kind(event)
    if expect and kind and kind != expect:
        raise mode_mismatch(expect).after_run()  # the app's event proves it ran


def aggregate(events: Iterator[dict]) -> dict:
    """Fold a chat stream into the Service API's blocking answer (for apps that only stream)."""
    answer: list[str] = []
    # Dify documents the blocking chat answer's mode as "fixed as chat" (Service API docs, template_chat.en.mdx):
    # agent apps never answer blocking, so the folded answer takes the chat shape and the value clients know.
    result: dict = {"event": "message", "mode": "chat", "answer": "", "metadata": {}}
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


def output_text(outputs: dict[str, Any]) -> str:
    """A workflow's answer: its `text` or `answer` output, its only output, or all outputs as JSON."""
    for key in ("text", "answer", "result", "output"):
        if isinstance(outputs.get(key), str):
            return outputs[key]
    if len(outputs) == 1 and isinstance(next(iter(outputs.values())), str):
        return next(iter(outputs.values()))
    return encoders.dumps(outputs).decode() if outputs else ""
