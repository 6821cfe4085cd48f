"""What answers the plugin's reverse invocations: apps, storage, and the daemon's permission gate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from devkit.errors import PERMISSION_DENIED_APP, PERMISSION_DENIED_STORAGE, InvocationError
from devkit.files import FileStore
from devkit.storage import Storage


@dataclass
class Host:
    apps: object  # DemoApps or DifyApps: invoke(request) -> Iterator[dict], fetch_app(app_id) -> dict
    storage: Storage
    app_permission: bool = True
    storage_permission: bool = True
    files: FileStore | None = None

    def handle(self, kind: str, request: dict) -> Iterator[dict]:
        """Answer one invocation with the dicts the daemon would relay; raise InvocationError on failure."""
        if kind in ("app", "fetch_app") and not self.app_permission:
            raise InvocationError(PERMISSION_DENIED_APP)
        if kind == "storage" and not self.storage_permission:
            raise InvocationError(PERMISSION_DENIED_STORAGE)
        if kind == "app":
            return self.apps.invoke(request)
        if kind == "fetch_app":
            return iter([self.apps.fetch_app(str(request.get("app_id") or ""))])
        if kind == "storage":
            return iter([self.storage.handle(request)])
        if kind == "upload_file" and self.files is not None:
            return iter([self.files.signed_url(request)])
        raise InvocationError(f"the local runtime does not answer {kind!r} invocations")

    @classmethod
    def for_manifest(cls, apps: object, storage: Storage, manifest: dict, files: FileStore | None = None) -> Host:
        permission = (manifest.get("resource") or {}).get("permission") or {}
        return cls(apps, storage, _enabled(permission.get("app")), _enabled(permission.get("storage")), files)


def _enabled(entry: object) -> bool:
    return isinstance(entry, dict) and bool(entry.get("enabled"))
