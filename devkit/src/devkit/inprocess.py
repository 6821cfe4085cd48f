"""The SDK's real endpoint dispatch, in this process: for handler tests and relay benchmarks.

A raw HTTP request goes through the SDK's parser, its werkzeug routing built from the plugin's YAML,
the handler and the SDK's chunk encoding. Reverse invocations are answered by a Host through the
seam the SDK's own tests use (`BackwardsInvocation._backwards_invoke`).
"""

from __future__ import annotations

import binascii
import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dify_plugin.config.config import DifyPluginEnv, InstallMethod
from dify_plugin.core.entities.plugin.request import EndpointInvokeRequest
from dify_plugin.core.plugin_executor import PluginExecutor
from dify_plugin.core.plugin_registration import PluginRegistration
from dify_plugin.core.runtime import BackwardsInvocation, Session

from devkit.errors import InvocationError
from devkit.host import Host


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class InProcessPlugin:
    """Load a plugin folder with the SDK's registration and dispatch raw HTTP requests to it."""

    def __init__(self, plugin_dir: Path, host: Host):
        self.plugin_dir = plugin_dir
        self.host = host
        with _cwd(plugin_dir):  # the SDK resolves manifest, YAML and sources from the cwd
            config = DifyPluginEnv(INSTALL_METHOD=InstallMethod.Local)
            self.executor = PluginExecutor(config, PluginRegistration(config))
        self._pool = ThreadPoolExecutor(max_workers=4)

    def stream(self, raw_http: bytes, settings: dict) -> Iterator[dict]:
        """The SDK's protocol messages for one request: {"status","headers"} then {"result": hex}..."""
        session = new_session(executor=self._pool)
        request = EndpointInvokeRequest(settings=settings, raw_http_request=raw_http.hex())
        with answering(self.host):
            yield from self.executor.invoke_endpoint(session, request)

    def dispatch(self, raw_http: bytes, settings: dict) -> Reply:
        reply = Reply(0, {}, [])
        for message in self.stream(raw_http, settings):
            if "status" in message:
                reply.status, reply.headers = int(message["status"]), dict(message["headers"])
            if "result" in message:
                reply.chunks.append(binascii.unhexlify(message["result"]))
        return reply


def new_session(
    install_method: InstallMethod = InstallMethod.Local, executor: ThreadPoolExecutor | None = None
) -> Session:
    """A real SDK Session, as a handler's `self.session`; answer its reverse calls with `answering`."""
    return Session(
        session_id="in-process",
        executor=executor or ThreadPoolExecutor(max_workers=1),
        reader=None,
        writer=None,
        install_method=install_method,
    )


@contextlib.contextmanager
def answering(host: Host):
    """Answer every SDK reverse invocation (app, storage, ...) in this process with `host`."""

    def backwards_invoke(invocation, kind, data_type, data):
        def answers():
            try:
                for item in host.handle(kind.value, data):
                    yield data_type(**item)
            except InvocationError as e:  # the SDK raises a plain Exception with the daemon's text
                raise Exception(str(e)) from None

        return answers()

    original = BackwardsInvocation._backwards_invoke
    BackwardsInvocation._backwards_invoke = backwards_invoke
    try:
        yield
    finally:
        BackwardsInvocation._backwards_invoke = original


def raw_request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """A raw HTTP/1.1 request as the daemon writes it (Host first, exact Content-Length)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@contextlib.contextmanager
def _cwd(path: Path):
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)
