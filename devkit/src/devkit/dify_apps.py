"""Forward app invocations to a real Dify through its Service API, one API key per app."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from devkit.errors import InvocationError, dify_http_error, internal_server_error

_ROUTES = {
    "chat": "/chat-messages",
    "agent-chat": "/chat-messages",
    "advanced-chat": "/chat-messages",
    "workflow": "/workflows/run",
    "completion": "/completion-messages",
}


class DifyApps:
    """Same interface as DemoApps, answered by a Dify Service API base URL (e.g. https://api.dify.ai/v1)."""

    def __init__(
        self,
        base_url: str,
        app_keys: dict[str, str],
        user: str = "devkit",
        timeout: float = 250,
        completion_works: bool = False,
    ):
        self.base_url = base_url.rstrip("/")
        self.app_keys = app_keys
        self.user = user
        self.timeout = timeout
        self.completion_works = completion_works

    def app_ids(self) -> list[str]:
        return list(self.app_keys)

    def fetch_app(self, app_id: str) -> dict:
        return self._get(app_id, "/parameters")

    def invoke(self, request: dict) -> Iterator[dict]:
        app_id = str(request.get("app_id") or "")
        mode = self._get(app_id, "/info").get("mode", "")
        if mode not in _ROUTES:
            raise dify_http_error(400, "invalid_param", "unexpected app type")
        if mode == "completion" and not self.completion_works:
            # The Service API runs completion apps, the plugin path does not (see demo_apps.py).
            raise internal_server_error()
        body = {
            "inputs": request.get("inputs") or {},
            "response_mode": request.get("response_mode"),
            "user": request.get("user") or self.user,
        }
        if _ROUTES[mode] == "/chat-messages":
            if not request.get("query"):
                raise dify_http_error(400, "invalid_param", "missing query")
            body.update(query=request["query"], conversation_id=request.get("conversation_id") or "")
        return self._post(app_id, _ROUTES[mode], body)

    def _headers(self, app_id: str) -> dict[str, str]:
        if app_id not in self.app_keys:
            raise dify_http_error(400, "invalid_param", "app not found")
        return {"Authorization": f"Bearer {self.app_keys[app_id]}"}

    def _get(self, app_id: str, path: str) -> dict:
        response = httpx.get(self.base_url + path, headers=self._headers(app_id), timeout=self.timeout)
        if response.status_code != 200:
            raise _failure(response.status_code, response.text)
        return response.json()

    def _post(self, app_id: str, path: str, body: dict) -> Iterator[dict]:
        headers = self._headers(app_id)
        with httpx.stream("POST", self.base_url + path, json=body, headers=headers, timeout=self.timeout) as response:
            if response.status_code != 200:
                raise _failure(response.status_code, response.read().decode(errors="replace"))
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                yield json.loads(response.read())
                return
            for line in response.iter_lines():
                # Dify's inner API drops pings before they reach a plugin; so does this.
                if line.startswith("data:"):
                    yield json.loads(line[5:])


def _failure(status: int, body: str) -> InvocationError:
    return InvocationError(f"invoke app failed: request failed with status code: {status} and respond with: {body}")
