"""The local runtime's transport: one JSON line per message over the plugin's stdin and stdout.

As the daemon's `internal/core/local_runtime` does: `INSTALL_METHOD=local`, ready at the first heartbeat,
requests written as lines to stdin, and a stdout line over PLUGIN_RUNTIME_MAX_BUFFER_SIZE kills the plugin.
"""

from __future__ import annotations

import logging
import subprocess
from typing import TYPE_CHECKING

import gevent
import orjson
from gevent.event import Event
from gevent.lock import Semaphore

from devkit import protocol
from devkit.errors import PluginDied
from devkit.lines import LineTooLong, split_lines

if TYPE_CHECKING:
    from devkit.plugin_process import PluginProcess

log = logging.getLogger("devkit")


class LocalTransport:
    install_method = "local"

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._heartbeat = Event()
        self._write_lock = Semaphore()

    def env(self) -> dict[str, str]:
        return {"INSTALL_METHOD": "local"}

    def attach(self, plugin: PluginProcess, proc: subprocess.Popen | None) -> None:
        self._proc = proc
        self._heartbeat.clear()
        gevent.spawn(self._read_stdout, plugin, proc)

    def ready(self) -> bool:
        return self._heartbeat.is_set()  # the daemon routes to a local plugin after its first heartbeat

    def send(self, session_id: str, line: bytes) -> None:
        self.write(line)

    def write(self, line: bytes) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None or proc.stdin is None:
            raise PluginDied("the plugin is not running")
        with self._write_lock:
            proc.stdin.write(line)
            proc.stdin.flush()

    def on_exit(self, plugin: PluginProcess, code: int) -> None:
        # The relay only warns about these: the daemon tells a dead local plugin's callers nothing
        # (notifier_lifecycle.go), and they wait.
        plugin.fail_sessions("died", f"the plugin process exited with code {code}")

    def close(self) -> None:
        pass

    def _read_stdout(self, plugin: PluginProcess, proc: subprocess.Popen) -> None:
        chunks = iter(lambda: proc.stdout.read1(65536), b"")
        try:
            for line in split_lines(chunks, protocol.MAX_LINE_BYTES):
                self._on_line(plugin, line)
        except LineTooLong:
            log.warning(
                "!!! the plugin wrote a stdout line of %d bytes or more: the Dify daemon kills a plugin "
                "that does this, whatever the line carries. Send large bodies as several chunks of at most "
                "~2.5 MiB (hex doubles them) and keep app inputs well under 5 MiB. "
                "Killing the plugin as the daemon would.",
                protocol.MAX_LINE_BYTES,
            )
            proc.kill()

    def _on_line(self, plugin: PluginProcess, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            log.warning("!!! the plugin wrote a non-protocol line to stdout (a print()?): %r", line[:200])
            return
        if not isinstance(message, dict):
            return
        if message.get("event") == "heartbeat":
            self._heartbeat.set()
        else:
            plugin.on_message(message, self.write)
