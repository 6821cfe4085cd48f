"""The rest of Dify's Service API: what Duck can serve from what it knows, and why it cannot serve the others.

Duck lists and forgets the conversations it started per `user`, and says what it has learnt of an app
(/info). Routes that need what Dify gives plugins no access to (message history, feedback, stopping a
run, tool icons, run logs, audio) answer 501 `not_supported` with the reason, not a bare 404.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule

from duck import app_modes, conversation_list, conversations
from duck.models import Text
from endpoint_kit import EndpointError, conversation_not_found

_NO_HISTORY = "Dify gives plugins no access to an app's messages; the app's own conversation memory still has them"
_NO_STOP = "a plugin cannot stop an app run: the Dify plugin daemon has no message to cancel one"
NOT_SUPPORTED = {  # Service API route (under /apps/<app_id>) and method -> why a plugin cannot serve it
    ("/messages", "GET"): _NO_HISTORY,
    ("/messages/<message_id>/suggested", "GET"): _NO_HISTORY,
    ("/messages/<message_id>/feedbacks", "POST"): "Dify gives plugins no way to rate an app's messages",
    ("/chat-messages/<task_id>/stop", "POST"): _NO_STOP,
    ("/completion-messages/<task_id>/stop", "POST"): _NO_STOP,
    ("/workflows/tasks/<task_id>/stop", "POST"): _NO_STOP,
    ("/meta", "GET"): "Dify gives plugins no access to an app's tool icons",
    ("/conversations/<conversation_id>/name", "POST"): "Dify gives plugins no way to rename a conversation",
    ("/conversations/<conversation_id>/variables", "GET"): "Dify gives plugins no access to conversation variables",
    ("/workflows/run/<workflow_run_id>", "GET"): "Dify gives plugins no access to workflow run records",
    ("/workflows/logs", "GET"): "Dify gives plugins no access to workflow run records",
    ("/audio-to-text", "POST"): "Dify gives plugins no access to an app's speech-to-text",
    ("/text-to-audio", "POST"): "Dify gives plugins no access to an app's text-to-speech",
}
_ROUTES = Map(
    [
        Rule("/apps/<app_id>" + path, methods=[method], endpoint=reason)
        for (path, method), reason in NOT_SUPPORTED.items()
    ]
)


def not_supported(path: str, method: str) -> EndpointError:
    """The 501 for one of NOT_SUPPORTED's routes."""
    try:
        reason, _ = _ROUTES.bind("duck").match(path, method=method)
    except (NotFound, Exception):
        reason = "a plugin cannot serve this Service API route"
    return EndpointError(501, "not_supported", f"Duck cannot serve this route: {reason}.")


class ConversationQuery(BaseModel):
    """GET /conversations: the Service API's query parameters."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user: Annotated[Text, Field(min_length=1, max_length=255)]
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    last_id: Annotated[Text, Field(max_length=64)] | None = None


class ConversationDelete(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    user: Annotated[Text, Field(min_length=1, max_length=255)]


def list_conversations(storage, app_id: str, query: ConversationQuery) -> dict:
    return conversation_list.page(storage, app_id, query.user, query.limit, query.last_id)


def delete_conversation(storage, app_id: str, conversation_id: str, user: str) -> None:
    """Forget a conversation its user started through Duck; nobody can continue it afterwards."""
    if not conversations.owns(storage, app_id, conversation_id, user):
        raise conversation_not_found()
    conversation_list.forget(storage, app_id, user, conversation_id)
    conversations.close(storage, app_id, conversation_id)


def info(storage, app_id: str) -> dict:
    """/info in the Service API's shape, with what Duck knows: the mode once an answer has shown it."""
    known = app_modes.lookup(storage, app_id)
    return {
        "name": None,
        "description": None,
        "tags": [],
        "mode": known["mode"] if known else None,
        "author_name": None,
        "app_id": app_id,
        "mode_learnt_at": known["seen"] if known else None,
    }
