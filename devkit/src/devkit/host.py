"""What answers the plugin's reverse invocations: apps, storage, uploads, and the daemon's checks around them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import gevent

from devkit.demo_apps import AppCrashed
from devkit.errors import (
    FETCH_APP_FAILED,
    PERMISSION_DENIED_APP,
    PERMISSION_DENIED_STORAGE,
    InnerApiError,
    InvocationError,
    read_app_failed,
)
from devkit.files import FileStore
from devkit.storage import Storage

# The daemon's DIFY_BACKWARDS_INVOCATION_READ_TIMEOUT (internal/types/app/config.go, 240000 ms):
# RequestAndParseStream (pkg/utils/http_requests/http_warpper.go) arms time.AfterFunc(readTimeout,
# resp.Body.Close) when Dify's response headers arrive, so every app stream ends 240 s after it started.
APP_STREAM_SECONDS = 240.0
# The reader is then blocked in LengthPrefixedChunking (pkg/utils/parser/chunking.go), which joins the
# read error with "failed to read system header". The read error's text is inferred from Go's net/http
# (the connection is closed under a pending read), not observed on a running daemon.
STREAM_CUT = "read tcp 127.0.0.1:52814->127.0.0.1:5001: use of closed network connection\nfailed to read system header"


@dataclass
class Host:
    apps: object  # DemoApps or DifyApps: invoke(request) -> Iterator[dict], fetch_app(app_id) -> dict
    storage: Storage
    app_permission: bool = True
    storage_permission: bool = True
    files: FileStore | None = None
    app_stream_seconds: float = APP_STREAM_SECONDS

    def handle(self, kind: str, request: dict) -> Iterator[dict]:
        """Answer one invocation with the dicts the daemon would relay; raise InvocationError on failure."""
        # Permission gate: task.go permissionMapping, for app and fetch_app alike.
        if kind in ("app", "fetch_app") and not self.app_permission:
            raise InvocationError(PERMISSION_DENIED_APP)
        if kind == "storage" and not self.storage_permission:
            raise InvocationError(PERMISSION_DENIED_STORAGE)
        if kind == "app":
            return self._invoke_app(request)
        if kind == "fetch_app":
            try:
                return iter([self.apps.fetch_app(str(request.get("app_id") or ""))])
            except (InnerApiError, InvocationError):
                raise InvocationError(FETCH_APP_FAILED) from None
        if kind == "storage":
            return iter([self.storage.handle(request)])
        if kind == "upload_file" and self.files is not None:
            return iter([self.files.signed_url(request)])
        raise InvocationError(f"the local runtime does not answer {kind!r} invocations")

    def _invoke_app(self, request: dict) -> Iterator[dict]:
        try:
            events = self.apps.invoke(request)
        except InnerApiError as e:
            raise e.as_invocation_error() from None
        if request.get("response_mode") != "streaming":
            return events  # a blocking answer arrives whole with Dify's headers: nothing left to cut
        return _read_app(events, time.monotonic() + self.app_stream_seconds)

    @classmethod
    def for_manifest(
        cls,
        apps: object,
        storage: Storage,
        manifest: dict,
        files: FileStore | None = None,
        app_stream_seconds: float = APP_STREAM_SECONDS,
    ) -> Host:
        permission = (manifest.get("resource") or {}).get("permission") or {}
        storage.limit_to(permission.get("storage"))
        return cls(
            apps,
            storage,
            _enabled(permission.get("app")),
            _enabled(permission.get("storage")),
            files,
            app_stream_seconds,
        )


def _read_app(events: Iterator[dict], deadline: float) -> Iterator[dict]:
    """Relay an app's stream as executeDifyInvocationAppTask (task.go) does: cut at the deadline, errors
    after the start reported as "read app failed: ...".
    """
    iterator = iter(events)
    while True:
        if time.monotonic() >= deadline:
            raise read_app_failed(STREAM_CUT)
        try:
            with gevent.Timeout(max(0.0, deadline - time.monotonic()), _StreamCut):
                event = next(iterator)
        except StopIteration:
            return
        except _StreamCut:
            raise read_app_failed(STREAM_CUT) from None
        except AppCrashed as e:
            # Dify's convert_to_event_stream sends {"data": null, "error": str(e)}; calldify's
            # StreamResponse makes it "request failed: <error>" (calldify/http_request.go).
            raise read_app_failed(f"request failed: {e}") from None
        yield event


class _StreamCut(Exception):
    pass


def _enabled(entry: object) -> bool:
    return isinstance(entry, dict) and bool(entry.get("enabled"))
