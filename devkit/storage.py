"""The plugin's key-value storage (`session.storage`), in memory or in a JSON file."""

from __future__ import annotations

import json
from pathlib import Path

from devkit.errors import InvocationError


class Storage:
    """Answers storage invocations as the daemon does; values travel hex-encoded."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.values: dict[str, str] = {}
        if path and path.exists():
            self.values = json.loads(path.read_text())

    def handle(self, request: dict) -> dict:
        op, key = request.get("opt"), str(request.get("key", ""))
        if op == "set":
            self.values[key] = str(request.get("value", ""))
            self._save()
            return {"data": "ok"}
        if op == "get":
            if key not in self.values:
                raise InvocationError("key not found")
            return {"data": self.values[key]}
        if op == "exist":
            return {"data": key in self.values}
        if op == "del":
            self.values.pop(key, None)
            self._save()
            return {"data": "ok"}
        raise InvocationError(f"unknown storage operation {op!r}")

    def _save(self) -> None:
        if self.path:
            self.path.write_text(json.dumps(self.values))
