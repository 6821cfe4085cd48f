"""pytest fixtures for any endpoint plugin's tests: `pytest_plugins = ["devkit.testing"]` in its conftest.py.

- `call(method, path, json_body=None, headers=None, settings=None, body=None, chunked=False) -> Reply`
  dispatches one request through the SDK's real endpoint path in this process (`devkit.inprocess`), app
  calls answered by the demo apps (the built-in ones and those the plugin's devkit.toml declares).
- `runtime`: the plugin served by the dev kit over the daemon's real stdio protocol on a loopback port
  (`devkit.harness.Runtime`: `.base_url`, `.api_key`, `.headers`), one per test module;
  `@pytest.mark.parametrize("runtime", ["serverless"], indirect=True)` picks another of the daemon's runtimes.

The plugin is the folder pytest runs in (its rootdir); a conftest overrides `plugin_dir` to test another.
Each request carries `endpoint_settings`: the settings Dify would send, as `devkit serve` builds them
(declared defaults, devkit.toml's `[endpoint.settings]`, a generated `api_key` when one is declared).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

# dify_plugin patches the standard library with gevent on import; before the dev kit and the plugin load.
import dify_plugin  # noqa: F401
import pytest

from devkit.config import Config, load_config
from devkit.demo_apps import DemoApps
from devkit.harness import Runtime
from devkit.host import Host
from devkit.inprocess import InProcessPlugin, Reply, raw_request
from devkit.storage import Storage


@pytest.fixture(scope="session")
def plugin_dir(request: pytest.FixtureRequest) -> Path:
    """The plugin under test: pytest's rootdir (override this fixture to test another folder)."""
    return Path(request.config.rootpath)


@pytest.fixture(scope="session")
def devkit_config(plugin_dir: Path) -> Config:
    """The plugin's devkit.toml as `devkit serve` reads it (working defaults without one)."""
    return load_config(plugin_dir)


@pytest.fixture(scope="session")
def plugin(plugin_dir: Path, devkit_config: Config) -> InProcessPlugin:
    """The plugin loaded by the SDK's own registration, its app calls answered by the demo apps."""
    apps = DemoApps(completion_works=devkit_config.completion_works, declared=devkit_config.demo_apps)
    return InProcessPlugin(plugin_dir, Host(apps, Storage()))


@pytest.fixture
def endpoint_settings(devkit_config: Config) -> dict:
    """The endpoint settings every `call` sends unless it passes its own."""
    return dict(devkit_config.settings)


@pytest.fixture
def call(plugin: InProcessPlugin, endpoint_settings: dict):
    """call(method, path, json_body=None, headers=None, settings=None, body=None, chunked=False) -> Reply.

    `chunked` sends the body as the daemon sends an empty one (Go's Request.Write): a
    `Transfer-Encoding: chunked` header, no Content-Length, and the body bytes exactly as given.
    """

    def _call(method, path, json_body=None, headers=None, settings=None, body=None, chunked=False) -> Reply:
        all_headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        settings = endpoint_settings if settings is None else settings
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


@pytest.fixture(scope="module")
def runtime(request: pytest.FixtureRequest, plugin_dir: Path) -> Iterator[Runtime]:
    """The plugin served by `devkit serve` on a free loopback port (stdio, as self-hosted Dify runs it)."""
    running = Runtime(plugin_dir=plugin_dir, runtime=getattr(request, "param", "local"))
    yield running
    running.stop()
