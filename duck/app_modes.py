"""What Duck has learnt about each app: its mode, from the first event it answered with, and when.

A plugin cannot read an app's mode (fetch_app returns only its parameters), but every answer shows it.
Duck keeps it in plugin storage, so a later call on a route that does not fit the app is refused
before the app runs, and /info can say what the app is.
"""

from __future__ import annotations

import logging
import time

from endpoint_kit import BoundedMap, mode_mismatch

logger = logging.getLogger("duck")

# Which Service API route family each Dify app mode answers on.
FAMILY = {
    "chat": "chat",
    "agent-chat": "chat",
    "advanced-chat": "chat",
    "workflow": "workflow",
    "completion": "completion",
}
_WORKFLOW_EVENTS = ("workflow_started", "node_started", "node_finished", "workflow_finished", "text_chunk")


def known(storage) -> BoundedMap:
    return BoundedMap(storage, "app-modes", buckets=8, per_bucket=64)


def mode_of(event: dict) -> str | None:
    """The app mode an app's first event (or blocking answer) shows; None when it does not tell."""
    if event.get("mode") in FAMILY and "answer" in event:  # a blocking answer names its mode
        return event["mode"]
    kind = event.get("event")
    if "conversation_id" in event:
        if kind in ("agent_thought", "agent_message"):
            return "agent-chat"
        if kind in _WORKFLOW_EVENTS:
            return "advanced-chat"
        return "chat" if kind == "message" else None
    if "workflow_run_id" in event:
        return "workflow"
    if "message_id" in event and kind in ("message", "message_end"):
        return "completion"
    return None


def lookup(storage, app_id: str) -> dict | None:
    """{"mode", "seen"} for an app Duck has seen answer; None before that (or when storage fails)."""
    try:
        entry = known(storage).get(app_id)
    except Exception:
        logger.warning("could not read an app's mode", exc_info=True)
        return None
    return entry if isinstance(entry, dict) and entry.get("mode") in FAMILY else None


def refuse_mismatch(storage, app_id: str, expect: str | None) -> dict | None:
    """Before running: the Service API's mode error when the app is known not to fit the route."""
    entry = lookup(storage, app_id) if expect else None
    if entry and FAMILY[entry["mode"]] != expect:
        raise mode_mismatch(expect)
    return entry


def learn(storage, app_id: str, event: dict, already: dict | None) -> None:
    """Keep the mode this event shows, once (an app's mode never changes in Dify)."""
    mode = mode_of(event)
    if mode is None or (already and already.get("mode") == mode):
        return
    try:
        known(storage).put(app_id, {"mode": mode, "seen": int(time.time())})
    except Exception:  # storage is best effort: the answer must not fail for it
        logger.warning("could not record an app's mode", exc_info=True)
