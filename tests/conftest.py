# dify_plugin monkey-patches with gevent on import; do it before anything else is imported.
import dify_plugin  # noqa: F401, I001

from pathlib import Path

import pytest

# The dev kit's fixtures for any endpoint plugin: `plugin` (Duck loaded by the SDK's own registration,
# app calls answered by the demo apps and devkit.toml's), `call`, `plugin_dir` (pytest's rootdir: Duck).
pytest_plugins = ["devkit.testing"]

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "test-key-0123456789"
SETTINGS = {"api_key": API_KEY}
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def endpoint_settings() -> dict:
    """Duck's handler tests send only the key unless a test passes its own settings."""
    return SETTINGS


@pytest.fixture
def call(call):
    """call(method, path, json_body=None, headers=None, settings=None, body=None, auth=True, chunked=False) -> Reply.

    The dev kit's `call` (devkit.testing), sending Duck's key as a Bearer token unless `auth=False`.
    """

    def _call(method, path, json_body=None, headers=None, settings=None, body=None, auth=True, chunked=False):
        return call(method, path, json_body, {**(AUTH if auth else {}), **(headers or {})}, settings, body, chunked)

    return _call


@pytest.fixture(scope="module", params=["local", "remote", "serverless"])
def runtime(request):
    """Duck served by the dev kit on a free loopback port, in each of the daemon's three runtimes:
    stdio subprocess (self-hosted Dify), remote debugging over TCP, serverless over HTTP (Dify Cloud).
    A fresh plugin per module and runtime; a test that only needs one runtime says so with
    `@pytest.mark.parametrize("runtime", ["local"], indirect=True)`."""
    from devkit.harness import Runtime

    running = Runtime(
        plugin_dir=ROOT,
        env={"ENDPOINT_KIT_KEEPALIVE_SECONDS": "0.5", "MAX_INVOCATION_TIMEOUT": "3"},
        runtime=request.param,
    )
    yield running
    running.stop()
