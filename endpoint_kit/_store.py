"""A bounded key -> JSON value map in the plugin's storage (`session.storage`).

The daemon's storage is a flat key-value store with a small quota shared by the whole plugin
(`internal/core/persistence/persistence.go`: keys of at most 256 characters, values summed against
min(manifest `storage.size`, 100 MiB)) and no way to list keys, so nothing can be expired by scanning.
So keys are hashed into a fixed number of buckets; each bucket is one stored value holding at most
`per_bucket` entries, and the entry written longest ago is evicted when a bucket is full. The map
never holds more than `buckets * per_bucket` entries in at most `buckets` storage keys, whatever
callers send. Entries older than `ttl_seconds` (when set) count as missing and are pruned on write.

Storage is best effort: a failed read counts as an empty bucket, a failed write makes `put` return
False (logged, never raised), so no caller's answer becomes an error because storage is full.
A bucket is read, changed and written back, so two writers of one bucket at the same moment could
lose one entry (the last write wins): `put` reads its write back and writes again when its entry was
lost, and `claim` reads its write back to see who won.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import time
from typing import Any

import orjson

logger = logging.getLogger(__name__)

_ENTRY_ID_CHARS = 24  # 96 bits of the key's hash identify an entry inside its bucket
_WRITE_ATTEMPTS = 3
_QUOTA_ERROR = "greater than max storage size"  # the daemon's over-quota refusal (persistence.go, Save)
_REFUSED_KEY = "storage-refused-at"


class BoundedMap:
    """At most `buckets * per_bucket` entries under `namespace`, evicting the oldest write first."""

    def __init__(
        self, storage: Any, namespace: str, *, buckets: int = 64, per_bucket: int = 64, ttl_seconds: float | None = None
    ):
        if not namespace or "/" in namespace or "." in namespace:
            raise ValueError("namespace must be a plain name (storage keys refuse paths)")
        self.storage = storage
        self.namespace = namespace
        self.buckets = buckets
        self.per_bucket = per_bucket
        self.ttl_seconds = ttl_seconds

    def get(self, key: str) -> Any | None:
        """The value stored under `key`, or None when missing, expired or unreadable."""
        storage_key, entry_id = self._locate(key)
        entry = self._live(self._load(storage_key)).get(entry_id)
        return entry[0] if entry else None

    def put(self, key: str, value: Any) -> bool:
        """Store `value` (JSON-serialisable) under `key`; False when storage refused the write.

        The write is read back: when a concurrent writer of the same bucket replaced it with a
        bucket lacking this entry, the entry is merged into theirs and written again (a few times).
        """
        storage_key, entry_id = self._locate(key)
        bucket = self._live(self._load(storage_key))
        for _ in range(_WRITE_ATTEMPTS):
            bucket.pop(entry_id, None)  # re-inserting moves the entry to the young end
            bucket[entry_id] = [value, int(time.time())]
            if not self._save(storage_key, bucket):
                return False
            bucket = self._live(self._load(storage_key))
            if entry_id in bucket:
                return True
        logger.warning("storage bucket %s kept losing a write to concurrent writers", storage_key)
        return False

    def delete(self, key: str) -> bool:
        """Forget `key`; False when storage refused the write."""
        storage_key, entry_id = self._locate(key)
        bucket = self._live(self._load(storage_key))
        if bucket.pop(entry_id, None) is None:
            return True
        return self._save(storage_key, bucket)

    def claim(self, key: str, value: Any) -> Any | None:
        """Store `value` unless `key` holds a live entry: None when this caller now holds the key,
        otherwise the value that was there (or that won a concurrent claim).

        When storage cannot be written the claim is granted (None): callers then run at least once
        rather than never.
        """
        storage_key, entry_id = self._locate(key)
        bucket = self._live(self._load(storage_key))
        if entry_id in bucket:
            return bucket[entry_id][0]
        nonce = secrets.token_hex(4)
        bucket[entry_id] = [value, int(time.time()), nonce]
        if not self._save(storage_key, bucket):
            return None
        winner = self._live(self._load(storage_key)).get(entry_id)
        if winner is None or winner[2:] == [nonce]:
            return None
        return winner[0]

    # internals -----------------------------------------------------------------------------

    def _locate(self, key: str) -> tuple[str, str]:
        digest = hashlib.sha256(f"{self.namespace}\0{key}".encode()).hexdigest()
        index = int(digest[:8], 16) % self.buckets
        return f"{self.namespace}-{index:x}", digest[8 : 8 + _ENTRY_ID_CHARS]

    def _load(self, storage_key: str) -> dict[str, list[Any]]:
        try:
            raw = self.storage.get(storage_key)
        except Exception:  # a missing key raises too ("load data failed"): both mean an empty bucket
            return {}
        try:
            bucket = orjson.loads(raw)
        except orjson.JSONDecodeError:
            logger.warning("storage bucket %s is not JSON; starting it afresh", storage_key)
            return {}
        if not isinstance(bucket, dict):
            return {}
        return {k: v for k, v in bucket.items() if isinstance(v, list) and len(v) >= 2 and isinstance(v[1], int)}

    def _live(self, bucket: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if self.ttl_seconds is None:
            return bucket
        oldest = time.time() - self.ttl_seconds
        return {k: v for k, v in bucket.items() if v[1] >= oldest}

    def _save(self, storage_key: str, bucket: dict[str, list[Any]]) -> bool:
        while len(bucket) > self.per_bucket:
            del bucket[next(iter(bucket))]  # dicts keep insertion order: the first is the oldest write
        try:
            self.storage.set(storage_key, orjson.dumps(bucket))
        except Exception as e:  # over quota (the daemon stores, then refuses), or storage unreachable
            logger.warning("storage write refused for %s: %s", storage_key, e)
            if _QUOTA_ERROR in str(e):
                _note_refusal(self.storage)
            return False
        return True


def last_refusal(storage: Any) -> float | None:
    """When storage last refused a write for lack of quota (None: not that anyone noted); raises when
    storage cannot be reached."""
    if not storage.exist(_REFUSED_KEY):
        return None
    try:
        return float(storage.get(_REFUSED_KEY))
    except ValueError:
        return None


def _note_refusal(storage: Any) -> None:
    """Note the time of a refused write in a value of fixed size: the daemon accounts only size
    differences, so rewriting it never moves the quota, full or not (a probe written and deleted would)."""
    with contextlib.suppress(Exception):  # the first note may be refused; the daemon has stored it all the same
        storage.set(_REFUSED_KEY, b"%020d" % int(time.time()))
