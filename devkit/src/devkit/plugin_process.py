"""The plugin as the daemon runs it: a child process, its sessions, and the answers to its reverse calls.

How messages travel is a transport's job, one module each: `transport_local` (stdio, self-hosted Dify),
`transport_serverless` (HTTP, as Dify Cloud runs marketplace plugins) and `transport_remote` (the
remote-debugging TCP server). Routing session messages and answering reverse invocations is the same
for all three and lives here.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

import gevent
import orjson
import yaml
from gevent.queue import Queue

from devkit import protocol
from devkit.errors import DaemonRefused, InvocationError, PluginDied
from devkit.host import Host
from devkit.transport_local import LocalTransport

__all__ = ["DaemonRefused", "PluginDied", "PluginProcess", "Transport"]

log = logging.getLogger("devkit")

# Messages a session's queue receives: ("stream", data) | ("end", data) | ("error", data) | ("died", reason)
Reply = Callable[[bytes], None]  # writes one backwards_response line (protocol.backwards_reply) to the plugin


class Transport(Protocol):
    install_method: str

    def env(self) -> dict[str, str]:
        """Environment variables that make the SDK use this transport."""

    def attach(self, plugin: PluginProcess, proc: subprocess.Popen | None) -> None:
        """Start serving a freshly spawned plugin (None: a plugin started by someone else)."""

    def ready(self) -> bool:
        """Whether the daemon would route requests to the plugin now."""

    def send(self, session_id: str, line: bytes) -> None:
        """Deliver one request line (protocol.endpoint_request); raise PluginDied or DaemonRefused."""

    def on_exit(self, plugin: PluginProcess, code: int) -> None:
        """The child exited on its own."""

    def close(self) -> None:
        """Stop listening; the runtime is shutting down."""


class PluginProcess:
    """Starts the plugin, routes its messages to sessions, answers reverse invocations, restarts it."""

    def __init__(
        self,
        plugin_dir: Path,
        host: Host,
        env: dict[str, str] | None = None,
        echo: Callable[[str], None] = print,
        python: str | None = None,
        transport: Transport | None = None,
        run_plugin: bool = True,
    ):
        self.plugin_dir = plugin_dir
        self.python = python or sys.executable  # a served package runs in its own environment (plugin_env.py)
        self.host = host
        self.env = env or {}
        self.echo = echo
        self.transport = transport or LocalTransport()
        self.run_plugin = run_plugin  # False: remote debugging with a plugin the developer starts
        self.sessions: dict[str, Queue] = {}
        self.proc: subprocess.Popen | None = None
        self.manifest: dict = {}
        self.restarts = 0
        self._stopping = False
        self._ready_proc: subprocess.Popen | None = None  # only a plugin that came up is restarted when it dies
        self._last_stderr = ""
        self._stderr_reader: gevent.Greenlet | None = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        """Spawn the plugin and wait until the transport says the daemon would route to it."""
        manifest_file = self.plugin_dir / "manifest.yaml"
        if manifest_file.exists():
            self.set_manifest(yaml.safe_load(manifest_file.read_text()) or {})
        if not self.run_plugin:
            self.transport.attach(self, None)
            return
        env = {**os.environ, **self.env, **self.transport.env(), "PYTHONUNBUFFERED": "1"}
        if self.python != sys.executable:  # its own environment: nothing of the dev kit's may leak in
            for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
                env.pop(name, None)
        self.proc = proc = subprocess.Popen(
            [self.python, "-m", self._entrypoint()],
            cwd=self.plugin_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        self.transport.attach(self, proc)
        self._stderr_reader = gevent.spawn(self._read_stderr, proc.stderr)
        gevent.spawn(self._watch, proc)
        deadline = time.monotonic() + timeout
        while not self.transport.ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                self._stderr_reader.join(timeout=2)  # echo all of its stderr before saying why
                raise PluginDied(
                    f"the plugin did not start (exit code {proc.poll()}): {self._last_stderr or 'see its output above'}"
                )
            gevent.sleep(0.05)
        self._ready_proc = proc

    def stop(self) -> None:
        self._stopping = True
        proc = self.proc
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        self.transport.close()
        self.fail_sessions("died", "the dev kit is shutting down")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def set_manifest(self, manifest: dict) -> None:
        """The declaration the daemon knows; its permissions gate reverse invocations."""
        self.manifest = manifest
        self.host = Host.for_manifest(
            self.host.apps, self.host.storage, manifest, self.host.files, self.host.app_stream_seconds
        )

    def _entrypoint(self) -> str:
        return str(((self.manifest.get("meta") or {}).get("runner") or {}).get("entrypoint") or "main")

    def _watch(self, proc: subprocess.Popen) -> None:
        code = proc.wait()
        if self._stopping or proc is not self.proc or proc is not self._ready_proc:
            return
        log.warning("!!! the plugin exited with code %s; restarting it", code)
        self.transport.on_exit(self, code)
        self.restarts += 1
        try:
            self.start()
        except PluginDied:
            log.error("the plugin could not be restarted")

    # sessions --------------------------------------------------------------------------------

    def open_session(self, endpoint_id: str, raw_http: bytes, settings: dict) -> tuple[str, Queue]:
        session_id = protocol.new_session_id()
        queue: Queue = Queue()
        self.sessions[session_id] = queue
        try:
            self.transport.send(session_id, protocol.endpoint_request(session_id, endpoint_id, raw_http, settings))
        except (PluginDied, DaemonRefused):
            self.sessions.pop(session_id, None)
            raise
        except OSError as e:
            self.sessions.pop(session_id, None)
            raise PluginDied(str(e)) from e
        return session_id, queue

    def close_session(self, session_id: str) -> None:
        """Stop delivering to a session (its caller left); the plugin still runs it to the end."""
        self.sessions.pop(session_id, None)

    def deliver(self, session_id: str, kind: str, payload: object) -> None:
        queue = self.sessions.get(session_id)
        if kind == "end":
            self.sessions.pop(session_id, None)
        if queue is not None:
            queue.put((kind, payload))

    def fail_sessions(self, kind: str, payload: object, session_ids: Iterable[str] | None = None) -> None:
        """End open sessions (all of them, or those given) with one message."""
        for session_id in list(self.sessions if session_ids is None else session_ids):
            queue = self.sessions.pop(session_id, None)
            if queue is not None:
                queue.put((kind, payload))

    # messages from the plugin ----------------------------------------------------------------

    def on_message(self, message: dict, reply: Reply) -> None:
        """One protocol message from a full-duplex transport (stdio or TCP); `reply` writes back to it."""
        event = message.get("event")
        data = message.get("data") or {}
        if event == "log":
            self.echo(f"[plugin] {data.get('level', 'INFO')} {data.get('message', '')}")
        elif event == "session" and isinstance(data, dict):
            session_id = str(message.get("session_id"))
            if data.get("type") == "invoke":
                gevent.spawn(self.answer_invocation, session_id, data.get("data") or {}, reply)
            else:
                self.deliver(session_id, str(data.get("type")), data.get("data"))
        elif event == "error":
            log.warning("!!! the plugin reported a protocol error: %s", data.get("error"))

    def answer_invocation(self, session_id: str, payload: dict, reply: Reply) -> None:
        """Answer one reverse invocation as the daemon does: responses, or an error, then always `end`
        (internal/core/io_tunnel/backwards_invocation/task.go)."""
        request_id = str(payload.get("backwards_request_id"))
        try:
            for item in self.host.handle(str(payload.get("type")), payload.get("request") or {}):
                reply(protocol.backwards_reply(session_id, request_id, "response", "stream", item))
        except InvocationError as e:
            _quietly(reply, protocol.backwards_reply(session_id, request_id, "error", str(e)))
        except (OSError, PluginDied):
            return  # the plugin is gone; nobody is left to answer
        except Exception as e:  # a bug in a backend must not hang the plugin's call
            log.exception("backend failed")
            _quietly(reply, protocol.backwards_reply(session_id, request_id, "error", f"internal error: {e}"))
        _quietly(reply, protocol.backwards_reply(session_id, request_id, "end"))

    def echo_output(self, stream) -> None:
        """Show what the plugin prints (its SDK log lines formatted) when stdout is not the protocol."""
        for line in iter(stream.readline, b""):
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                message = None
            if isinstance(message, dict) and message.get("event") == "log":
                data = message.get("data") or {}
                self.echo(f"[plugin] {data.get('level', 'INFO')} {data.get('message', '')}")
            else:
                self.echo("[plugin] " + line.decode(errors="replace").rstrip())

    def _read_stderr(self, stream) -> None:
        for line in iter(stream.readline, b""):
            text = line.decode(errors="replace").rstrip()
            self._last_stderr = text or self._last_stderr
            self.echo("[plugin] " + text)


def _quietly(reply: Reply, line: bytes) -> None:
    with contextlib.suppress(OSError, PluginDied):
        reply(line)


def _die_with_parent() -> None:
    """Only the stdio SDK watches its parent; in the other modes a killed dev kit would leave the plugin
    running, so ask Linux to end it with us (prctl PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
