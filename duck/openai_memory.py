"""Which Dify conversation a stateless caller's message history continues, and what the app is sent.

OpenAI-style clients (LangChain, the AI SDK, LlamaIndex) resend the whole history on every call and
never see Dify's conversation id. In `auto` mode (the default) Duck remembers a fingerprint of every
history it answered (the messages plus its answer) with the conversation it ran in; when a request's
history, up to its new user messages, matches one, that conversation continues and only the new
messages are sent. Fingerprints are scoped by the endpoint's key and the caller's `user`, so replaying
somebody else's transcript never reaches their conversation. `last_message` and `transcript` are the
older, stateless modes.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from duck.settings import DuckSettings
from endpoint_kit import BoundedMap, EndpointError

logger = logging.getLogger("duck")

# About 1,000 histories (each entry about 100 bytes of storage): Duck's storage quota is shared.
_BUCKETS, _PER_BUCKET, _TTL_SECONDS = 16, 64, 30 * 24 * 3600


@dataclass(frozen=True)
class Turn:
    """One message of a caller's history, reduced to what a Dify app can receive: a role and text."""

    role: str
    text: str


@dataclass(frozen=True)
class Plan:
    """What to send the app for one request, and how to remember the exchange afterwards."""

    query: str
    conversation_id: str | None
    remember_as: str | None  # the scope to record this history under once answered (auto mode only)
    turns: tuple = ()


def fingerprints(storage) -> BoundedMap:
    return BoundedMap(storage, "openai-memory", buckets=_BUCKETS, per_bucket=_PER_BUCKET, ttl_seconds=_TTL_SECONDS)


def plan(
    storage,
    settings: DuckSettings,
    app_id: str,
    turns: list[Turn],
    user: str | None,
    conversation_id: str | None,
    memory: bool = True,
) -> Plan:
    """The query and conversation for this history ."""
    users = [turn for turn in turns if turn.role == "user"]
    if not users:
        raise EndpointError(400, "invalid_param", "messages must contain at least one user message.")
    new = _trailing_user_turns(turns)
    latest = _join(new) if new else users[-1].text
    if conversation_id:  # the caller names the conversation: Dify already holds the earlier turns
        return Plan(latest, conversation_id, None)
    mode = settings.openai_memory if memory else "last_message"
    if mode == "last_message" or not new:
        return Plan(latest, None, None)
    if mode == "transcript":
        return Plan(_transcript(turns), None, None)
    scope = _scope(settings, app_id, user)
    history = turns[: len(turns) - len(new)]
    if not any(turn.role == "assistant" for turn in history):  # a first question (system prompts aside)
        return Plan(latest, None, scope, tuple(turns))
    known = fingerprints(storage).get(_fingerprint(scope, history))
    if isinstance(known, str) and known:
        return Plan(latest, known, scope, tuple(turns))
    # A history Duck never answered (or has forgotten): the app sees the exchange whole, once, in a new
    # conversation. System messages stay out, as in every mode but `transcript`: the app has its own prompt.
    return Plan(_transcript([turn for turn in turns if turn.role in ("user", "assistant")]), None, scope, tuple(turns))


def remember(storage, plan: Plan, answer: str, conversation_id: str | None) -> None:
    """Record the history plus Duck's answer, so the caller's next request continues this conversation."""
    if plan.remember_as is None or not conversation_id:
        return
    history = [*plan.turns, Turn("assistant", answer)]
    try:
        fingerprints(storage).put(_fingerprint(plan.remember_as, history), conversation_id)
    except Exception:  # storage is best effort: the answer was already given
        logger.warning("could not remember a conversation fingerprint", exc_info=True)


def _trailing_user_turns(turns: list) -> list:
    index = len(turns)
    while index > 0 and turns[index - 1].role == "user":
        index -= 1
    return turns[index:]


def _join(turns: list) -> str:
    return "\n\n".join(turn.text for turn in turns if turn.text)


def _transcript(turns: list) -> str:
    return "\n\n".join(f"{turn.role}: {turn.text}" for turn in turns if turn.text)


def _scope(settings: DuckSettings, app_id: str, user: str | None) -> str:
    # The key's own hash, never the key: one storage serves every endpoint of the plugin in a workspace.
    return hashlib.sha256(f"{settings.api_key}\0{app_id}\0{user or ''}".encode()).hexdigest()


def _fingerprint(scope: str, turns: list) -> str:
    digest = hashlib.sha256(scope.encode())
    for turn in turns:
        role, text = turn.role.encode(), turn.text.encode()
        digest.update(b"%d:%s%d:%s" % (len(role), role, len(text), text))
    return digest.hexdigest()
