"""The remote-debugging transport: the daemon's TCP server that a plugin on a laptop connects to.

Reproduces `internal/core/debugging_runtime` (hooks.go, runtime_intialization_handlers.go, io.go,
lifetime.go) against the SDK's `core/server/tcp/request_reader.py` and `plugin.py` (`_initialize_tcp_stream`):
- the plugin connects and sends `{"type": "handshake", "data": {"key": ...}}`; no handshake within 10 s
  closes the connection; a wrong key is answered with one text line and a close;
- then its declarations and `_assets/` files (base64 `asset_chunk`s, at most 50 MB) and `end`, checked as
  the daemon checks them (icon present, author and name rules, ...);
- after that the session protocol is the stdio one, one JSON line per message, with no line-size cap;
- no heartbeat for 60 s (checked every 60 s) closes the connection, and a closed connection ends each of
  its open sessions with "Connection closed unexpectedly" (ConnectionClosedError).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import gevent
from gevent.lock import Semaphore
from gevent.server import StreamServer
from gevent.socket import socket

from devkit import declaration, envelopes
from devkit.errors import DaemonRefused
from devkit.lines import split_lines

if TYPE_CHECKING:
    from devkit.plugin_process import PluginProcess

log = logging.getLogger("devkit")

HANDSHAKE_SECONDS = 10  # hooks.go OnOpen: time.AfterFunc(10s, close unless handshake)
IDLE_SECONDS = 60  # lifetime.go HeartbeatMonitor: a 60 s ticker closes a connection silent for 60 s
MAX_ASSET_BYTES = 50 * 1024 * 1024  # handleAssetsTransfer: "allows at most 50MB assets"
CONNECTION_CLOSED = {"message": "Connection closed unexpectedly", "error_type": "ConnectionClosedError", "args": {}}
DECLARATIONS = {  # register type: (declaration key, the name in the daemon's messages)
    "tool_declaration": ("tool", "tools"),
    "model_declaration": ("model", "models"),
    "endpoint_declaration": ("endpoint", "endpoints"),
    "agent_strategy_declaration": ("agent_strategy", "agent strategies"),
    "datasource_declaration": ("datasource", "datasources"),
    "trigger_declaration": ("trigger", "triggers"),
}


@dataclass(eq=False)
class Connection:
    """One connected plugin (the daemon's RemotePluginRuntime)."""

    sock: socket
    handshake: bool = False
    handshake_failed: bool = False
    initialized: bool = False
    closed: bool = False
    manifest: dict | None = None  # the manifest_declaration
    declarations: dict[str, object] = field(default_factory=dict)  # endpoint, tool, ... (the first of each list)
    transferred: set[str] = field(default_factory=set)
    assets: dict[str, bytearray] = field(default_factory=dict)
    asset_bytes: int = 0
    last_active: float = 0.0
    sessions: set[str] = field(default_factory=set)
    write_lock: Semaphore = field(default_factory=Semaphore)

    def write(self, line: bytes) -> None:
        with self.write_lock:  # whole lines, even from many greenlets
            self.sock.sendall(line)

    def close(self, message: str | None = None) -> None:
        """closeConn: one text line for the plugin, then the connection ends."""
        if self.closed:
            return
        self.closed = True
        try:
            if message is not None:
                self.sock.sendall(message.encode() + b"\n")
            self.sock.shutdown(2)
        except OSError:
            pass


class RemoteTransport:
    install_method = "remote"

    def __init__(
        self,
        port: int = 0,
        key: str | None = None,
        idle_seconds: float = IDLE_SECONDS,
        handshake_seconds: float = HANDSHAKE_SECONDS,
    ):
        self.key = key or str(uuid.uuid4())  # the daemon hands out a key per workspace
        self.idle_seconds = idle_seconds
        self.handshake_seconds = handshake_seconds
        self.plugin: PluginProcess | None = None
        self.current: Connection | None = None  # the plugin the daemon routes to: the last one registered
        self._server = StreamServer(("127.0.0.1", port), self._serve)
        self._server.start()
        self.port = self._server.server_port

    def env(self) -> dict[str, str]:
        # The SDK's DifyPluginEnv names (config/config.py); its .env template sets INSTALL_METHOD=remote.
        return {
            "INSTALL_METHOD": "remote",
            "REMOTE_INSTALL_URL": f"127.0.0.1:{self.port}",
            "REMOTE_INSTALL_KEY": self.key,
        }

    def attach(self, plugin: PluginProcess, proc: subprocess.Popen | None) -> None:
        self.plugin = plugin
        if proc is not None:
            self.current = None  # a fresh process registers anew
            gevent.spawn(plugin.echo_output, proc.stdout)

    def ready(self) -> bool:
        return self.current is not None

    def send(self, session_id: str, line: bytes) -> None:
        connection = self.current
        if connection is None:
            # No plugin connected: the daemon knows no such plugin (service/endpoint.go, ErrPluginNotFound).
            raise DaemonRefused(404, envelopes.daemon_error("plugin not found", "PluginNotFoundError", -404))
        if self.plugin is not None:
            connection.sessions = {s for s in connection.sessions if s in self.plugin.sessions}
        connection.sessions.add(session_id)
        connection.write(line)

    def on_exit(self, plugin: PluginProcess, code: int) -> None:
        pass  # its connection closes, which ends its sessions

    def close(self) -> None:
        self._server.stop(timeout=1)

    # one connection ---------------------------------------------------------------------------

    def _serve(self, sock: socket, address) -> None:
        connection = Connection(sock)
        watchers = [gevent.spawn_later(self.handshake_seconds, self._handshake_deadline, connection)]
        try:
            for line in split_lines(iter(lambda: sock.recv(1 << 20), b"")):
                if connection.closed:
                    break
                if connection.handshake_failed:
                    continue  # the daemon ignores everything after a failed handshake
                if not connection.initialized:
                    self._register(connection, line)
                    if connection.initialized:
                        watchers.append(gevent.spawn(self._watch_idle, connection))
                else:
                    self._on_line(connection, line)
        except OSError:
            pass
        finally:
            gevent.killall(watchers)
            connection.closed = True
            sock.close()
            self._disconnected(connection)

    def _handshake_deadline(self, connection: Connection) -> None:
        if not connection.handshake:
            log.warning(
                "!!! a plugin connected but sent no valid handshake within %d s: closed, as the daemon does",
                self.handshake_seconds,
            )
            connection.close()

    def _watch_idle(self, connection: Connection) -> None:
        while not connection.closed:
            gevent.sleep(self.idle_seconds)
            if time.monotonic() - connection.last_active > self.idle_seconds:
                log.warning(
                    "!!! no heartbeat from the plugin for %d s: the daemon closes the connection", self.idle_seconds
                )
                connection.close()

    def _disconnected(self, connection: Connection) -> None:
        if self.current is connection:
            self.current = None
        if connection.initialized:
            log.warning("!!! the remote plugin disconnected; its open requests get ConnectionClosedError")
        if self.plugin is not None:
            self.plugin.fail_sessions("error", dict(CONNECTION_CLOSED), connection.sessions)

    def _on_line(self, connection: Connection, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            log.warning("!!! the plugin sent a non-protocol line: %r", line[:200])
            return
        if not isinstance(message, dict) or self.plugin is None:
            return
        if message.get("event") == "heartbeat":
            connection.last_active = time.monotonic()
        elif message.get("event") != "log":  # "remote debugging logs stay on client side" (lifetime.go)
            self.plugin.on_message(message, connection.write)

    # registration (runtime_intialization_handlers.go) ------------------------------------------

    def _register(self, connection: Connection, line: bytes) -> None:
        try:
            payload = json.loads(line)
            kind, data = payload["type"], payload["data"]
            if not kind or data is None:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            connection.handshake_failed = True
            connection.close("handshake failed, invalid handshake message")
            return
        error = None
        if kind == "handshake":
            error = self._handshake(connection, data)
            if error:
                connection.handshake_failed = True
                log.warning("!!! a plugin was refused: %s", error)
        elif kind == "asset_chunk":
            error = self._asset_chunk(connection, data)
        elif kind == "manifest_declaration":
            if connection.manifest is not None:
                error = "declaration already registered"
            elif not isinstance(data, dict) or (problem := declaration.struct_errors(data)):
                error = f"handshake failed, invalid plugin declaration: {problem if isinstance(data, dict) else data}"
            else:
                connection.manifest = dict(data)
        elif kind in DECLARATIONS:
            error = self._declaration(connection, kind, data)
        elif kind == "end":
            error = self._initialize(connection)
        if error:
            if kind != "handshake":
                log.warning("!!! the plugin's registration was refused: %s", error)
            connection.close(error)

    def _handshake(self, connection: Connection, data: object) -> str | None:
        if connection.handshake:
            return "handshake already completed"
        if not isinstance(data, dict) or not isinstance(data.get("key"), str) or not data["key"]:
            return "handshake failed, invalid handshake message"
        if data["key"] != self.key:
            return "handshake failed, invalid key"
        connection.handshake = True
        return None

    def _asset_chunk(self, connection: Connection, data: object) -> str | None:
        if not isinstance(data, dict) or not data.get("filename") or not data.get("data"):
            return (
                "transfer assets failed, error: Key: 'RemotePluginRegisterAssetChunk.Data' "
                "Error:Field validation for 'Data' failed on the 'required' tag"
            )
        if connection.asset_bytes + len(data["data"]) > MAX_ASSET_BYTES:
            return "assets too large, at most 50MB"
        try:
            chunk = base64.b64decode(data["data"], validate=True)
        except (binascii.Error, ValueError) as e:
            return f"assets decode failed, error: {e}"
        connection.assets.setdefault(str(data["filename"]), bytearray()).extend(chunk)
        connection.asset_bytes += len(chunk)
        return None

    def _declaration(self, connection: Connection, kind: str, data: object) -> str | None:
        key, name = DECLARATIONS[kind]
        if kind in connection.transferred:
            return f"{name} declaration already registered"
        if not isinstance(data, list):
            return f"{name} register failed, invalid {name} declaration: expected a list"
        connection.transferred.add(kind)
        if data:
            connection.declarations[key] = data[0]
        return None

    def _initialize(self, connection: Connection) -> str | None:
        """handleInitializationEndEvent, then the plugin is routed to (the daemon's OnRuntimeConnected)."""
        if not connection.transferred:
            return "no registration transferred, cannot initialize"
        manifest = {**(connection.manifest or {}), **connection.declarations}
        problem = declaration.icon_error(manifest, connection.assets)
        if problem:
            return f"assets remap failed, invalid assets data, cannot remap: {problem}"
        problem = declaration.manifest_error(manifest)
        if problem:
            return f"register failed, invalid manifest detected: {problem}"
        connection.initialized = True
        connection.last_active = time.monotonic()
        self.current = connection
        if self.plugin is not None:
            self.plugin.set_manifest(manifest)
        log.info("remote plugin %s/%s connected", manifest.get("author"), manifest.get("name"))
        return None
