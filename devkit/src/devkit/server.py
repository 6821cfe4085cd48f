"""The HTTP side of the local runtime: serves /e/<hook_id>/<path> and relays to the plugin."""

from __future__ import annotations

import binascii
import json
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus

import gevent
from gevent.pywsgi import WSGIHandler, WSGIServer
from gevent.queue import Empty

from devkit import envelopes, webhooks
from devkit.body_queue import BodyQueue
from devkit.errors import DaemonRefused
from devkit.files import UPLOAD_PREFIX, FileStore
from devkit.plugin_process import PluginDied, PluginProcess
from devkit.request_copy import MAX_BODY_BYTES, Incoming, copy_request, valid_header

log = logging.getLogger("devkit")

ROUTED_METHODS = {"HEAD", "GET", "POST", "PUT", "DELETE", "OPTIONS"}  # the daemon routes no PATCH
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"}


@dataclass
class Relay:
    """A WSGI app that relays each request to the plugin the way the daemon does, chunk by chunk."""

    plugin: PluginProcess
    hook_id: str
    settings: dict
    files: FileStore | None = None  # answers the signed upload URLs handed to the plugin
    endpoint_id: str = "local-endpoint"
    first_chunk_timeout: float = 300.0  # dev kit only: the daemon waits while the client stays
    total_timeout: float = 600.0  # PLUGIN_MAX_EXECUTION_TIMEOUT, counted from the first chunk
    echo: object = print

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        prefix = f"/e/{self.hook_id}"
        if self.files is not None and path.startswith(UPLOAD_PREFIX):
            status, body = self.files.receive(environ)  # Dify's API answers these, not the daemon
            data = json.dumps(body).encode()
            start_response(
                f"{status} {_reason(status)}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
            )
            return [data]
        if not path.startswith("/e/") or method not in ROUTED_METHODS or path == "/e/":
            return _json(start_response, 404, envelopes.ROUTE_NOT_FOUND)
        if "/" not in path[3:]:  # /e/<hook>: gin's RedirectTrailingSlash, as /e/:hook_id/*path wants the slash
            return _redirect(start_response, method, path + "/", environ.get("QUERY_STRING", ""))
        if not (path == prefix or path.startswith(prefix + "/")):
            return _json(start_response, 404, envelopes.UNKNOWN_HOOK)
        if not all(valid_header(name, value) for name, value in environ[RAW_HEADERS]):
            # Go's textproto reader refuses the request before any routing, and the server writes
            # a bare plain-text "400 Bad Request" (net/http server.go, conn.serve).
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"400 Bad Request"]
        raw = self._raw_request(environ, path[len(prefix) :] or "/")
        label = f"{method} {path}"
        try:
            session_id, queue = self.plugin.open_session(self.endpoint_id, raw, self.settings)
        except PluginDied as e:
            # GenericInvokePlugin (io_tunnel/generic.go) retries the write, then gives up.
            self._log(label, 500, started, started, 0, 0)
            return _json(start_response, 500, envelopes.internal_server_error(f"{e}\nfailed to write request"))
        except DaemonRefused as e:  # the daemon answers this one itself, e.g. a serverless request over 5 MiB
            self._log(label, e.status, started, started, 0, 0)
            return _json(start_response, e.status, e.body)
        return self._respond(session_id, queue, start_response, label, started, webhooks.sender_of(environ))

    def _raw_request(self, environ, path: str) -> bytes:
        body = environ["wsgi.input"].read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            log.warning(
                "!!! request body over 10 MiB: the Dify daemon silently truncates it to 10 MiB; "
                "so does the local runtime"
            )
            body = body[:MAX_BODY_BYTES]
        incoming = Incoming(
            environ["REQUEST_METHOD"],
            path.encode("latin-1"),
            environ.get("QUERY_STRING", ""),
            environ[RAW_HEADERS],
            body,
            http10=environ.get("SERVER_PROTOCOL") == "HTTP/1.0",
        )
        return copy_request(incoming, self.hook_id)

    def _respond(self, session_id, queue, start_response, label, started, sender=None):
        # io_tunnel.InvokeEndpoint: status and headers wait for the first chunk with a body (or the end).
        head: dict = {}
        first: bytes | None = None
        deadline = started + self.first_chunk_timeout
        while first is None:
            kind, data = self._next(queue, deadline - time.perf_counter())
            if kind == "stream":
                head = {**head, **{k: v for k, v in data.items() if k in ("status", "headers")}}
                if "result" in data:
                    first = binascii.unhexlify(data["result"])
            elif kind == "end":
                first = b""
            elif kind == "died":
                _warn_plugin_died(label, data, streaming=False)
            else:
                self.plugin.close_session(session_id)
                if kind == "timeout":
                    status, body = 504, FIRST_CHUNK_TIMEOUT
                    log.warning(
                        "!!! %s: no body chunk after %.0f s; the Dify daemon has no such limit and would "
                        "keep the request open while the client waits (dev kit limit: first_chunk_seconds)",
                        label,
                        self.first_chunk_timeout,
                    )
                else:  # the plugin's session error: service.Endpoint answers 500 with its text
                    status, body = 500, envelopes.internal_server_error(envelopes.plugin_error_text(data))
                self._log(label, status, started, started, 0, 0)
                return _json(start_response, status, body)
        if sender and time.perf_counter() - started > webhooks.PATIENCE_SECONDS[sender]:
            log.warning(
                "!!! %s: answered after %.1f s; %s gives up after %d s, counts the delivery as failed and retries it",
                label,
                time.perf_counter() - started,
                sender,
                webhooks.PATIENCE_SECONDS[sender],
            )
        body = BodyQueue(label)
        if first:
            body.put(first)
        pump = None
        if kind == "end":
            body.close()
        else:
            pump = gevent.spawn(self._pump, queue, body, label)
        status = int(head.get("status", 200))
        headers = [(k, str(v)) for k, v in (head.get("headers") or {}).items() if k.lower() not in HOP_BY_HOP]
        start_response(f"{status} {_reason(status)}", headers)
        # Go's chunkWriter eats the body of an answer to HEAD; gevent would send it.
        return self._body(session_id, body, pump, label, status, started, send=not label.startswith("HEAD "))

    def _pump(self, queue, body: BodyQueue, label: str) -> None:
        """InvokeEndpoint's body_write routine: every later chunk into the 128-chunk queue, never waiting."""
        while True:
            kind, data = queue.get()
            if kind == "stream" and "result" in data:
                body.put(binascii.unhexlify(data["result"]))
            elif kind == "end":
                body.close()
                return
            elif kind == "error":
                body.close(data)
                return
            elif kind == "died":  # the daemon's session never hears of it: wait for the timeout
                _warn_plugin_died(label, data, streaming=True)

    def _body(self, session_id, body: BodyQueue, pump, label, status, started, send: bool) -> Iterator[bytes]:
        ttfb = time.perf_counter()
        deadline = ttfb + self.total_timeout  # service.Endpoint arms time.After once the first chunk is in
        chunks = 0
        try:
            while True:
                item = body.get(max(0.0, deadline - time.perf_counter()))
                if isinstance(item, bytes):
                    chunks += 1
                    if send:
                        yield item
                    continue
                if item is None:
                    log.warning(
                        "!!! %s: killed by timeout after %.0f s of streaming, as the daemon does "
                        "(PLUGIN_MAX_EXECUTION_TIMEOUT)",
                        label,
                        self.total_timeout,
                    )
                    if send:
                        yield envelopes.go_json(envelopes.KILLED_BY_TIMEOUT)
                elif item[1] is not None and send:
                    # service.Endpoint writes the error's text after the bytes already sent.
                    log.warning(
                        "!!! %s failed after streaming started; the daemon appends the plugin's error to the body: %s",
                        label,
                        envelopes.plugin_error_text(item[1])[:300],
                    )
                    yield envelopes.plugin_error_text(item[1]).encode()
                return
        finally:
            if pump is not None:
                pump.kill(block=False)
            self.plugin.close_session(session_id)
            if body.dropped:
                log.warning(
                    "!!! %s: %d chunks (%d bytes) were dropped because the client read too slowly; "
                    "Dify would have lost them silently",
                    label,
                    body.dropped,
                    body.dropped_bytes,
                )
            self._log(label, status, started, ttfb, chunks, body.dropped)

    def _next(self, queue, timeout: float) -> tuple[str, object]:
        try:
            return queue.get(timeout=max(0.0, timeout))
        except Empty:
            return "timeout", None

    def _log(self, label, status, started, ttfb, chunks, dropped) -> None:
        now = time.perf_counter()
        self.echo(
            f"{label} {status} ttfb={1000 * (ttfb - started):.1f}ms total={1000 * (now - started):.1f}ms "
            f"chunks={chunks}" + (f" dropped={dropped}" if dropped else "")
        )


FIRST_CHUNK_TIMEOUT = {
    "code": "timeout",
    "message": "The plugin sent no body chunk in time (a dev kit limit: "
    "the Dify daemon would wait as long as the client does).",
}


def _warn_plugin_died(label: str, reason: object, streaming: bool) -> None:
    # notifier_lifecycle.go's OnInstanceShutdown only marks the instance; open sessions are not failed.
    then = (
        "ends it with 'killed by timeout' after PLUGIN_MAX_EXECUTION_TIMEOUT; so does the local runtime"
        if streaming
        else "keeps it open as long as the client waits; the local runtime waits up to its first_chunk_seconds"
    )
    log.warning(
        "!!! %s: the plugin died (%s). The Dify daemon does not tell open requests: it %s.", label, reason, then
    )


def _redirect(start_response, method: str, location: str, query: str) -> list[bytes]:
    """gin's redirectTrailingSlash (301 for GET, else 307) written by net/http's Redirect."""
    location += f"?{query}" if query else ""
    status = 301 if method == "GET" else 307
    headers = [("Location", location)]
    if method in ("GET", "HEAD"):
        headers.append(("Content-Type", "text/html; charset=utf-8"))
    start_response(f"{status} {_reason(status)}", headers)
    escaped = "".join({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}.get(c, c) for c in location)
    return [f'<a href="{escaped}">{_reason(status)}</a>.\n\n'.encode()] if method == "GET" else []


def _json(start_response, status: int, body: dict) -> list[bytes]:
    data = envelopes.go_json(body)  # gin's ctx.JSON
    start_response(
        f"{status} {_reason(status)}", [("Content-Type", envelopes.CONTENT_TYPE), ("Content-Length", str(len(data)))]
    )
    return [data]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


RAW_HEADERS = "devkit.raw_headers"


class _Handler(WSGIHandler):
    """Keeps what gevent's environ loses and Go's server keeps: names with underscores, repeats."""

    def get_environ(self):
        environ = super().get_environ()
        headers: list[tuple[str, str]] = []
        for line in self.headers.headers:
            if line[:1] in " \t" and headers:  # an obsolete folded continuation line
                headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
            elif ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip(), value.strip()))
        environ[RAW_HEADERS] = headers
        return environ


class _Server(WSGIServer):
    """gevent's WSGI server with two dev kit limits on every connection (README: where the dev kit differs).

    The daemon's http.Server sets no timeouts (internal/server/http_server.go) and leaves the send
    buffer to the kernel, which grows it to net.ipv4.tcp_wmem's maximum (4 MiB on Linux): a paused
    client would absorb megabytes before the 128-chunk queue fills. A fixed SO_SNDBUF makes loss
    appear at a predictable point; the idle timeout (nginx's default before Dify: 60 s) keeps a
    client that stopped reading from holding a connection and its queue for ever.
    """

    def __init__(self, *args, send_buffer: int, idle_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.send_buffer = send_buffer
        self.idle_timeout = idle_timeout

    def handle(self, sock, address):
        if self.send_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        sock.settimeout(self.idle_timeout)
        super().handle(sock, address)


def serve(relay: Relay, port: int, send_buffer: int = 65536, idle_timeout: float = 60.0):
    """Start a gevent WSGI server on loopback; returns it (call .stop() to end)."""
    server = _Server(
        ("127.0.0.1", port),
        relay,
        log=None,
        error_log=log,
        handler_class=_Handler,
        send_buffer=send_buffer,
        idle_timeout=idle_timeout,
    )
    server.start()
    gevent.sleep(0)
    return server
