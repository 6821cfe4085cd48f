"""Duck's Service API routes onto endpoint_kit's app calls: request models in, a blocking answer or a stream out.

What Duck adds to the library's calls: `files` mapped onto the app's file input (duck.files), the app's
mode learnt from its first answer so a later call on the wrong route is refused before it runs
(duck.app_modes), and conversations kept private to the user who started them (duck.conversations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from duck import app_modes, conversation_list, conversations, files
from duck.models import ChatRequest, CompletionRequest, RunRequest, WorkflowRequest
from endpoint_kit import AppStream, json_bytes, run_app, stream_app

Result = dict | AppStream  # a blocking answer, or a stream


def chat(session, app_id: str, body: ChatRequest | RunRequest, expect: str = "chat") -> Result:
    """Chat apps; with a `user`, conversations are kept private to the user who started them.
    `expect` "any" for routes that serve every app (Dify picks by the app's mode)."""
    body = _with_files(session, app_id, body)
    owners = conversations.Owners(session.storage)
    if body.conversation_id:
        owner = owners.check(app_id, body.conversation_id, body.user)
    else:
        owner = conversations.owner_of(body.user)
    learn = _Learner(session, app_id, expect)

    def on_first(first: dict) -> None:  # for a slow app this runs after the response started
        learn(first)
        # Recorded (or refreshed, keeping active conversations) once the app started; never raises.
        owners.remember(app_id, body.conversation_id or first.get("conversation_id"), owner)
        if body.user and not body.conversation_id and first.get("conversation_id"):
            conversation_list.record(
                session.storage, app_id, body.user, first["conversation_id"], body.query, first.get("created_at")
            )

    return _call(session, expect, app_id, body, learn, on_first, body.query, body.conversation_id)


def workflow(session, app_id: str, body: WorkflowRequest) -> Result:
    return _without_query(session, "workflow", app_id, body)


def completion(session, app_id: str, body: CompletionRequest) -> Result:
    return _without_query(session, "completion", app_id, body)


def run(session, app_id: str, body: RunRequest) -> Result:
    """Run any app: Dify dispatches by the app's stored mode, so no mode check applies."""
    if body.query is None:
        return _without_query(session, "any", app_id, body)
    return chat(session, app_id, body, expect="any")


def _without_query(session, mode: str, app_id: str, body: WorkflowRequest | CompletionRequest | RunRequest) -> Result:
    body = _with_files(session, app_id, body)
    learn = _Learner(session, app_id, mode)
    return _call(session, mode, app_id, body, learn, learn)


def _call(
    session,
    mode: str,
    app_id: str,
    body,
    learn: _Learner,
    on_first: Callable[[dict], None],
    query: str | None = None,
    conversation_id: str | None = None,
) -> Result:
    """endpoint_kit's call for the body's response_mode; the app's learnt mode sharpens Dify's bare 500."""
    call = run_app if body.response_mode == "blocking" else stream_app
    return call(
        session,
        mode,
        app_id,
        inputs=body.inputs,
        query=query,
        conversation_id=conversation_id,
        user=body.user,
        on_first=on_first,
        app_mode=learn.mode,
    )


def _with_files(session, app_id: str, body):
    """The body with file inputs checked and `files` mapped onto the app's file input."""
    inputs = files.prepare_inputs(session, app_id, body.inputs, body.files)
    if inputs is body.inputs and not body.files:
        return body
    return body.model_copy(update={"inputs": inputs, "files": None})


class _Learner:
    """Refuses a call on the wrong route when the app's mode is known; learns the mode from the first answer."""

    def __init__(self, session, app_id: str, expect: str):
        self.storage, self.app_id = session.storage, app_id
        self.known = (
            app_modes.refuse_mismatch(self.storage, app_id, expect)
            if expect != "any"
            else app_modes.lookup(self.storage, app_id)
        )

    @property
    def mode(self) -> str | None:
        return self.known["mode"] if self.known else None

    def __call__(self, first: dict) -> None:
        if self.known is None:
            app_modes.learn(self.storage, self.app_id, first, None)


def output_text(outputs: dict[str, Any]) -> str:
    """A workflow's answer: its `text` or `answer` output, its only output, or all outputs as JSON."""
    for key in ("text", "answer", "result", "output"):
        if isinstance(outputs.get(key), str):
            return outputs[key]
    if len(outputs) == 1 and isinstance(next(iter(outputs.values())), str):
        return next(iter(outputs.values()))
    return json_bytes(outputs).decode() if outputs else ""
