"""The conversations Duck started for each `user`, so Service API clients can list and forget them.

Dify gives plugins no access to an app's conversations, so Duck keeps its own short list per app and
user (id, a name from the first query, created_at) in plugin storage: the newest few conversations of
a bounded number of users, the oldest forgotten first.
"""

from __future__ import annotations

import hashlib
import logging
import time

from endpoint_kit import BoundedMap, EndpointError, canonical_id

logger = logging.getLogger("duck")

PER_USER = 20  # the Service API's default page size
_NAME_CHARS = 40
# 64 users' lists of at most 20 entries (about 2 KiB each): Duck's storage quota is shared.
_BUCKETS, _PER_BUCKET = 8, 8


def _lists(storage) -> BoundedMap:
    return BoundedMap(storage, "conversation-lists", buckets=_BUCKETS, per_bucket=_PER_BUCKET)


def _key(app_id: str, user: str) -> str:
    return hashlib.sha256(f"{app_id}\0{user}".encode()).hexdigest()


def record(storage, app_id: str, user: str, conversation_id: str, query: str, created_at: object) -> None:
    """Remember a conversation Duck just started for `user` (best effort: never fails the answer)."""
    created = created_at if isinstance(created_at, int) else int(time.time())
    name = " ".join(query.split())[:_NAME_CHARS]
    try:
        lists = _lists(storage)
        entries = [e for e in _entries(lists, app_id, user) if e[0] != conversation_id]
        lists.put(_key(app_id, user), [[conversation_id, name, created], *entries][:PER_USER])
    except Exception:
        logger.warning("could not record a conversation in its user's list", exc_info=True)


def page(storage, app_id: str, user: str, limit: int, last_id: str | None) -> dict:
    """The Service API's conversation list: newest first, `limit` after `last_id`."""
    entries = _entries(_lists(storage), app_id, user)
    if last_id:
        ids, last_id = [entry[0] for entry in entries], canonical_id(last_id)  # a uuid in any spelling, as Dify
        if last_id not in ids:  # services/conversation_service.py pagination_by_last_id, as the controller says it
            raise EndpointError(404, "not_found", "Last Conversation Not Exists.")
        entries = entries[ids.index(last_id) + 1 :]
    data = [
        {
            "id": conversation_id,
            "name": name,
            "inputs": {},
            "status": "normal",
            "introduction": "",
            "created_at": created,
            "updated_at": created,
        }
        for conversation_id, name, created in entries[:limit]
    ]
    return {"limit": limit, "has_more": len(entries) > limit, "data": data}


def forget(storage, app_id: str, user: str, conversation_id: str) -> bool:
    """Drop a conversation from its user's list; False when the list did not hold it."""
    lists, conversation_id = _lists(storage), canonical_id(conversation_id)
    entries = _entries(lists, app_id, user)
    kept = [entry for entry in entries if entry[0] != conversation_id]
    if len(kept) == len(entries):
        return False
    lists.put(_key(app_id, user), kept)
    return True


def _entries(lists: BoundedMap, app_id: str, user: str) -> list[list]:
    value = lists.get(_key(app_id, user))
    if not isinstance(value, list):
        return []
    return [entry for entry in value if isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)]
