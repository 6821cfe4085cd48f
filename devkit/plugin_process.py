"""The plugin as a child process, driven over stdio exactly as the daemon drives it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import gevent
import orjson
import yaml
from gevent.lock import Semaphore
from gevent.queue import Queue

from devkit import protocol
from devkit.errors import InvocationError
from devkit.host import Host

log = logging.getLogger("devkit")

# Messages a Session receives: ("stream", data) | ("end", None) | ("error", data) | ("died", reason)


class PluginDied(Exception):
    pass


class PluginProcess:
    """Starts the plugin, routes its stdout to sessions, answers reverse invocations, restarts it."""

    def __init__(self, plugin_dir: Path, host: Host, env: dict[str, str] | None = None,
                 echo: Callable[[str], None] = print, python: str | None = None):
        self.plugin_dir = plugin_dir
        self.python = python or sys.executable  # a served package runs in its own environment (plugin_env.py)
        self.host = host
        self.env = env or {}
        self.echo = echo
        self.sessions: dict[str, Queue] = {}
        self.proc: subprocess.Popen | None = None
        self.manifest: dict = {}
        self.restarts = 0
        self._write_lock = Semaphore()
        self._ready = gevent.event.Event()
        self._stopping = False
        self._greenlets: list[gevent.Greenlet] = []
        self._last_stderr = ""

    # lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        """Spawn the plugin and wait for its first heartbeat, as the daemon does before routing."""
        env = {**os.environ, **self.env, "INSTALL_METHOD": "local", "PYTHONUNBUFFERED": "1"}
        if self.python != sys.executable:  # its own environment: nothing of the dev kit's may leak in
            for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
                env.pop(name, None)
        self._ready.clear()
        self.proc = subprocess.Popen([self.python, "-m", self._entrypoint()], cwd=self.plugin_dir, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc = self.proc
        self._greenlets = [gevent.spawn(self._read_stdout, proc), gevent.spawn(self._read_stderr, proc),
                           gevent.spawn(self._watch, proc)]
        if not self._ready.wait(timeout) or proc.poll() is not None:
            self.stop()
            gevent.joinall(self._greenlets[:2], timeout=2)  # echo all of its stderr before saying why
            raise PluginDied(f"the plugin did not start (exit code {proc.poll()}): "
                             f"{self._last_stderr or 'see its stderr above'}")

    def stop(self) -> None:
        self._stopping = True
        proc = self.proc
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        self._fail_sessions("the local runtime is shutting down")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _entrypoint(self) -> str:
        self.manifest = yaml.safe_load((self.plugin_dir / "manifest.yaml").read_text()) or {}
        return str(((self.manifest.get("meta") or {}).get("runner") or {}).get("entrypoint") or "main")

    # sessions --------------------------------------------------------------------------------

    def open_session(self, endpoint_id: str, raw_http: bytes, settings: dict) -> tuple[str, Queue]:
        session_id = protocol.new_session_id()
        queue: Queue = Queue()
        self.sessions[session_id] = queue
        try:
            self.write(protocol.endpoint_request(session_id, endpoint_id, raw_http, settings))
        except (OSError, PluginDied) as e:
            self.sessions.pop(session_id, None)
            raise PluginDied(str(e)) from e
        return session_id, queue

    def close_session(self, session_id: str) -> None:
        """Stop delivering to a session (its caller left); the plugin still runs it to the end."""
        self.sessions.pop(session_id, None)

    def write(self, line: bytes) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None or proc.stdin is None:
            raise PluginDied("the plugin is not running")
        with self._write_lock:
            proc.stdin.write(line)
            proc.stdin.flush()

    # reading the plugin ------------------------------------------------------------------------

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        pending = bytearray()  # appends are amortised O(1), even for multi-megabyte lines
        while True:
            data = proc.stdout.read1(65536) if proc.stdout else b""
            if not data:
                return
            pending += data
            if b"\n" in data:
                *lines, rest = pending.split(b"\n")
                pending = bytearray(rest)
            else:
                lines = []
            # instance.go's bufio.Scanner holds at most MAX_LINE_BYTES, newline included: a line of that
            # many bytes already fails (ErrTooLong), whatever it carries.
            longest = max([len(pending), *(len(line) for line in lines)])
            if longest >= protocol.MAX_LINE_BYTES:
                log.warning("!!! the plugin wrote a stdout line of %d bytes or more: the Dify daemon kills a plugin "
                            "that does this, whatever the line carries. Send large bodies as several chunks of at most "
                            "~2.5 MiB (hex doubles them) and keep app inputs well under 5 MiB. "
                            "Killing the plugin as the daemon would.", protocol.MAX_LINE_BYTES)
                proc.kill()
                return
            for line in lines:
                if line.strip():
                    self._on_line(line)

    def _on_line(self, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            log.warning("!!! the plugin wrote a non-protocol line to stdout (a print()?): %r", line[:200])
            return
        if not isinstance(message, dict):
            return
        event = message.get("event")
        if event == "heartbeat":
            self._ready.set()
        elif event == "log":
            data = message.get("data") or {}
            self.echo(f"[plugin] {data.get('level', 'INFO')} {data.get('message', '')}")
        elif event == "session":
            self._on_session_message(str(message.get("session_id")), message.get("data") or {})
        elif event == "error":
            log.warning("!!! the plugin reported a protocol error: %s", (message.get("data") or {}).get("error"))
        elif "event" not in message and not self.manifest:
            self.manifest = message  # the first line: the bare manifest declaration

    def _on_session_message(self, session_id: str, data: dict) -> None:
        kind, payload = data.get("type"), data.get("data")
        if kind == "invoke":
            gevent.spawn(self._answer_invocation, session_id, payload or {})
            return
        queue = self.sessions.get(session_id)
        if kind == "end":
            self.sessions.pop(session_id, None)
        if queue is not None:
            queue.put((kind, payload))

    def _answer_invocation(self, session_id: str, payload: dict) -> None:
        request_id = str(payload.get("backwards_request_id"))
        try:
            for item in self.host.handle(str(payload.get("type")), payload.get("request") or {}):
                self.write(protocol.backwards_reply(session_id, request_id, "response", "stream", item))
        except InvocationError as e:
            self._reply_quietly(protocol.backwards_reply(session_id, request_id, "error", str(e)))
        except Exception as e:  # a bug in a backend must not hang the plugin's call
            log.exception("backend failed")
            self._reply_quietly(protocol.backwards_reply(session_id, request_id, "error", f"internal error: {e}"))
        self._reply_quietly(protocol.backwards_reply(session_id, request_id, "end"))

    def _reply_quietly(self, line: bytes) -> None:
        try:
            self.write(line)
        except (OSError, PluginDied):
            pass

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for line in iter(proc.stderr.readline, b""):
            text = line.decode(errors="replace").rstrip()
            self._last_stderr = text or self._last_stderr
            self.echo("[plugin] " + text)

    def _watch(self, proc: subprocess.Popen) -> None:
        code = proc.wait()
        if not self._ready.is_set():  # it died before its first heartbeat: wake start(), which reports it
            self._ready.set()
            return
        if self._stopping or proc is not self.proc:
            return
        log.warning("!!! the plugin exited with code %s; failing its open requests and restarting it", code)
        self._fail_sessions(f"the plugin process exited with code {code}")
        self.restarts += 1
        try:
            self.start()
        except PluginDied:
            log.error("the plugin could not be restarted")

    def _fail_sessions(self, reason: str) -> None:
        sessions, self.sessions = self.sessions, {}
        for queue in sessions.values():
            queue.put(("died", reason))
