# dify_plugin monkey-patches with gevent on import; do it before anything else is imported.
import dify_plugin  # noqa: F401, I001

import json
from pathlib import Path

import pytest

from devkit.demo_apps import DemoApps
from devkit.host import Host
from devkit.inprocess import InProcessPlugin, raw_request
from devkit.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "test-key-0123456789"
SETTINGS = {"api_key": API_KEY}
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="session")
def plugin() -> InProcessPlugin:
    """Duck loaded by the SDK's own registration, answering reverse calls with the demo apps."""
    return InProcessPlugin(ROOT, Host(DemoApps(), Storage()))


@pytest.fixture
def call(plugin):
    """call(method, path, json_body=None, headers=None, settings=None, body=None, auth=True, chunked=False) -> Reply.

    `chunked` sends the body as the daemon sends an empty one (Go's Request.Write): a
    `Transfer-Encoding: chunked` header, no Content-Length, and the body bytes exactly as given.
    """

    def _call(method, path, json_body=None, headers=None, settings=None, body=None, auth=True, chunked=False):
        all_headers = {**(AUTH if auth else {}), **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        settings = SETTINGS if settings is None else settings
        if chunked:
            head = [
                f"{method} {path} HTTP/1.1",
                "Host: 127.0.0.1",
                *(f"{k}: {v}" for k, v in all_headers.items()),
                "Transfer-Encoding: chunked",
            ]
            return plugin.dispatch(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""), settings)
        return plugin.dispatch(raw_request(method, path, body or b"", all_headers), settings)

    return _call


@pytest.fixture(scope="module", params=["local", "remote", "serverless"])
def runtime(request):
    """Duck served by the dev kit on a free loopback port, in each of the daemon's three runtimes:
    stdio subprocess (self-hosted Dify), remote debugging over TCP, serverless over HTTP (Dify Cloud).
    A fresh plugin per module and runtime; a test that only needs one runtime says so with
    `@pytest.mark.parametrize("runtime", ["local"], indirect=True)`."""
    from devkit.harness import Runtime

    running = Runtime(env={"DUCK_KEEPALIVE_SECONDS": "0.5", "MAX_INVOCATION_TIMEOUT": "3"}, runtime=request.param)
    yield running
    running.stop()
