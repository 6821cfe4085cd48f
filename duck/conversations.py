"""Who started each conversation, kept in the plugin's storage, bounded.

Dify runs every endpoint call as one anonymous end user per app, so it cannot tell callers apart;
Duck remembers who started each conversation it starts (a fingerprint of `user`, or "anyone" when
the caller named no user) and hides it from everyone else.

Bounded: at most OWNER_CAPACITY records (about 60 bytes each, about 63 MiB in all, inside the
manifest's storage quota) in OWNER_BUCKETS storage keys; past that the record written longest ago is
forgotten (continuing a conversation rewrites its record, so active ones stay).

Fails closed: a conversation with no record (forgotten, started elsewhere, or its record could not
be written) cannot be continued through Duck (404), so forgetting never hands a conversation to
someone else. Storage trouble never turns a run into an error: a refused write is logged.
"""

from __future__ import annotations

import hashlib
import logging

from endpoint_kit import BoundedMap, canonical_id, conversation_not_found

logger = logging.getLogger("duck")

OWNER_BUCKETS = 65536
OWNER_PER_BUCKET = 16
OWNER_CAPACITY = OWNER_BUCKETS * OWNER_PER_BUCKET  # 1,048,576 conversations
ANYONE = ""  # the record of a conversation started without a `user`: anyone with the key may continue it


class Owners:
    """Conversation owners over the SDK's `session.storage`; ids are canonical (duck.ids)."""

    def __init__(self, storage):
        self._map = BoundedMap(storage, "conversation-owners", buckets=OWNER_BUCKETS, per_bucket=OWNER_PER_BUCKET)

    def check(self, app_id: str, conversation_id: str, user: str | None) -> str:
        """The conversation's owner record; 404 unless this caller may continue it."""
        owner = self._map.get(_key(app_id, conversation_id))
        if owner is None or (owner != ANYONE and owner != owner_of(user)):
            raise conversation_not_found()
        return owner

    def remember(self, app_id: str, conversation_id: str | None, owner: str) -> None:
        """Write (or refresh) a conversation's record, after the app started; never raises."""
        if conversation_id and not self._map.put(_key(app_id, canonical_id(str(conversation_id))), owner):
            logger.error(
                "storage refused a conversation owner record (storage full?); "
                "that conversation cannot be continued through Duck"
            )


def owner_of(user: str | None) -> str:
    """64 bits of SHA-256: tells callers apart without storing who they are (`user` is no secret)."""
    return hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[:16] if user else ANYONE


def _key(app_id: str, conversation_id: str) -> str:
    return f"{app_id}\0{conversation_id}"


DELETED = "deleted"  # the record of a conversation its owner deleted: nobody continues it (never an owner_of value)


def owns(storage, app_id: str, conversation_id: str, user: str) -> bool:
    """True when `user` started this conversation through Duck and has not deleted it."""
    owner = Owners(storage)._map.get(_key(app_id, canonical_id(conversation_id)))
    return bool(user) and owner == owner_of(user)


def close(storage, app_id: str, conversation_id: str) -> None:
    """After a DELETE: nobody continues the conversation through Duck (Dify's own copy cannot be deleted)."""
    Owners(storage)._map.put(_key(app_id, canonical_id(conversation_id)), DELETED)
