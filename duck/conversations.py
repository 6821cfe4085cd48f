"""Who started a conversation, kept in the plugin's storage.

Dify runs every endpoint call as one anonymous end user per app, so it cannot tell callers apart;
when callers name a `user`, Duck remembers the conversation's owner and hides it from others.
"""

from __future__ import annotations

import hashlib

from duck.errors import conversation_not_found


def _key(app_id: str, conversation_id: str) -> str:
    digest = hashlib.sha256(f"{app_id}\0{conversation_id}".encode()).hexdigest()
    return f"conversation-owner-{digest}"


def _fingerprint(user: str) -> bytes:
    return hashlib.sha256(user.encode()).hexdigest().encode()


def check_owner(storage, app_id: str, conversation_id: str, user: str | None) -> None:
    """Raise 404 not_found when the conversation has an owner and the caller is someone else."""
    key = _key(app_id, conversation_id)
    if not storage.exist(key):
        return
    if user is None or storage.get(key) != _fingerprint(user):
        raise conversation_not_found()


def record_owner(storage, app_id: str, conversation_id: str | None, user: str | None) -> None:
    if user and conversation_id:
        storage.set(_key(app_id, conversation_id), _fingerprint(user))
