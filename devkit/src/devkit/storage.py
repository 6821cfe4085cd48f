"""The plugin's key-value storage (`session.storage`) as the daemon keeps it, in memory or in a JSON file.

Daemon: internal/core/persistence/persistence.go (Save/Load/Delete/Exist) behind
executeDifyInvocationStorageTask (internal/core/io_tunnel/backwards_invocation/task.go). What a kind
stand-in would get wrong:
- keys are checked for path traversal after Go's `path.Clean` (so "a..b" is refused too), and a key of
  more than 256 bytes cannot be set; keys that clean to the same path are the same entry ("/k" is "k");
- the quota is min(manifest `resource.permission.storage.size`, PERSISTENCE_STORAGE_MAX_SIZE = 100 MiB)
  over the plugin's accounted bytes; an over-quota `set` has already stored the value when it fails,
  and its bytes are then left out of the account;
- a `get` reads through a 5-minute cache, which an over-quota `set` does not clear;
- `get` and `del` of a missing key fail.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from devkit.errors import InvocationError

MAX_STORAGE_BYTES = 100 * 1024 * 1024  # the daemon's PERSISTENCE_STORAGE_MAX_SIZE default
MAX_KEY_BYTES = 256
CACHE_SECONDS = 300  # Load caches a value in Redis for 5 minutes
LOAD_FAILED = "load data failed, please check if the key is correct or you have not set it"


class Storage:
    """Answers storage invocations as the daemon does; values travel hex-encoded."""

    def __init__(self, path: Path | None = None, quota: int = MAX_STORAGE_BYTES):
        self.path = path
        self.quota = quota  # the manifest's storage size, or -1 (the daemon's maximum) when it declares none
        self.values: dict[str, bytes] = {}
        self.accounted: int | None = None  # the daemon's TenantStorage row for this plugin; None: no row yet
        self._cache: dict[str, tuple[bytes, float]] = {}
        if path and path.exists():
            saved = json.loads(path.read_text())
            self.values = {k: bytes.fromhex(v) for k, v in saved["values"].items()}
            self.accounted = saved["accounted"]

    def limit_to(self, permission: object) -> None:
        """The quota task.go passes to Save: the manifest's `storage.size` when storage is declared, else -1."""
        self.quota = int(permission.get("size") or 0) if isinstance(permission, dict) else -1

    def handle(self, request: dict) -> dict:
        op, key = request.get("opt"), str(request.get("key", ""))
        if op not in ("get", "set", "del", "exist") or not key:
            # genericDispatchTask (task.go) validates the request struct: `Opt` storage_opt, `Key` required.
            field = "Key" if op in ("get", "set", "del", "exist") else "Opt"
            tag = "required" if field == "Key" or not op else "storage_opt"
            raise InvocationError(
                "unmarshal backwards invoke request failed: error validating struct: "
                f"Key: 'InvokeStorageRequest.{field}' Error:Field validation for '{field}' "
                f"failed on the '{tag}' tag"
            )
        if op == "get":
            try:
                return {"data": self._load(key).hex()}
            except InvocationError:
                raise InvocationError(LOAD_FAILED) from None  # task.go replaces every Load error with this
        if op == "set":
            self._save(key, _decode_hex(str(request.get("value", ""))))
            return {"data": "ok"}
        if op == "del":
            return {"data": "ok", "deleted_num": self._delete(key)}
        _check_key(key, "exist data failed")
        exists = key in self._fresh_cache() or _name(key) in self.values
        return {"data": exists, "exist_num": int(exists)}

    def _save(self, key: str, data: bytes) -> None:
        _check_key(key, "save data failed")
        if len(key.encode()) > MAX_KEY_BYTES:
            raise InvocationError("save data failed: key length must be less than 256 characters")
        limit = MAX_STORAGE_BYTES if self.quota == -1 else self.quota
        name = _name(key)
        size_diff = len(data) - len(self.values.get(name, b""))
        self.values[name] = data  # stored first: the checks below come after c.storage.Save
        self._write()
        if self.accounted is None:
            if size_diff > MAX_STORAGE_BYTES or size_diff > limit:
                raise InvocationError("save data failed: allocated size is greater than max storage size")
            self.accounted = size_diff
        else:
            if size_diff + self.accounted > limit or size_diff + self.accounted > MAX_STORAGE_BYTES:
                raise InvocationError("save data failed: allocated size is greater than max storage size")
            self.accounted += size_diff
        self._write()
        self._cache.pop(key, None)

    def _load(self, key: str) -> bytes:
        _check_key(key, "load data failed")
        cached = self._fresh_cache().get(key)
        if cached is not None:
            return cached[0]
        name = _name(key)
        if name not in self.values:
            raise InvocationError(LOAD_FAILED)
        self._cache[key] = (self.values[name], time.monotonic() + CACHE_SECONDS)
        return self.values[name]

    def _delete(self, key: str) -> int:
        _check_key(key, "delete data failed")
        deleted = int(key in self._fresh_cache())  # cache.Del's count: 1 only if the value was cached
        self._cache.pop(key, None)
        name = _name(key)
        if name not in self.values:
            # StateSize of a missing object; the tail is the storage backend's (here a local disk's os.Stat).
            raise InvocationError(f"delete data failed: stat {name}: no such file or directory")
        size = len(self.values.pop(name))
        if self.accounted is not None:  # `UPDATE ... size = size - n` changes no row when there is none
            self.accounted -= size
        self._write()
        return deleted

    def _fresh_cache(self) -> dict[str, tuple[bytes, float]]:
        now = time.monotonic()
        self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
        return self._cache

    def _write(self) -> None:
        if self.path:
            self.path.write_text(
                json.dumps({"values": {k: v.hex() for k, v in self.values.items()}, "accounted": self.accounted})
            )


def _check_key(key: str, failure: str) -> None:
    """persistence.go checkPathTraversal."""
    cleaned = _clean(key)
    if ".." in cleaned or "//" in cleaned or "\\" in cleaned:
        raise InvocationError(f"{failure}: invalid key: path traversal attempt detected")


def _name(key: str) -> str:
    """The object a key is stored as: wrapper.go `path.Join(storagePath, tenant, plugin, path.Clean(key))`."""
    return _clean(key).lstrip("/") or "."


def _clean(path: str) -> str:
    """Go's path.Clean."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = ("/" if rooted else "") + "/".join(parts)
    return cleaned or "."


def _decode_hex(text: str) -> bytes:
    """Go's hex.DecodeString, with its error texts (task.go: "decode data failed: ...")."""
    for char in text:
        if char not in "0123456789abcdefABCDEF":
            raise InvocationError(f"decode data failed: encoding/hex: invalid byte: U+{ord(char):04X} '{char}'")
    if len(text) % 2:
        raise InvocationError("decode data failed: encoding/hex: odd length hex string")
    return bytes.fromhex(text)
