"""The HTTP side of the local runtime: serves /e/<hook_id>/<path> and relays to the plugin."""

from __future__ import annotations

import binascii
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus

import gevent
from gevent.pywsgi import WSGIServer
from gevent.queue import Empty

from devkit import protocol
from devkit.files import UPLOAD_PREFIX, FileStore
from devkit.plugin_process import PluginDied, PluginProcess

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
    first_chunk_timeout: float = 300.0
    total_timeout: float = 600.0
    echo: object = print

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        prefix = f"/e/{self.hook_id}"
        if self.files is not None and path.startswith(UPLOAD_PREFIX):
            status, body = self.files.receive(environ)
            return _json(start_response, status, body)
        if not (path == prefix or path.startswith(prefix + "/")):
            return _json(start_response, 404, {"code": "not_found", "message": "endpoint not found"})
        if method not in ROUTED_METHODS:
            return _json(start_response, 404, {"code": "not_found", "message": "route not found"})
        if _has_control_characters(environ):
            # Go's HTTP server (the daemon's) refuses these before any routing.
            return _json(start_response, 400, {"code": "bad_request", "message": "invalid header value"})
        raw = self._raw_request(environ, path[len(prefix):] or "/")
        try:
            session_id, queue = self.plugin.open_session(self.endpoint_id, raw, self.settings)
        except PluginDied as e:
            return _json(start_response, 502, {"code": "plugin_unavailable", "message": str(e)})
        return self._respond(session_id, queue, start_response, f"{method} {path}", started)

    def _raw_request(self, environ, path: str) -> bytes:
        body = environ["wsgi.input"].read(protocol.MAX_BODY_BYTES + 1)
        if len(body) > protocol.MAX_BODY_BYTES:
            log.warning("!!! request body over 10 MiB: the Dify daemon silently truncates it to 10 MiB; "
                        "so does the local runtime")
            body = body[: protocol.MAX_BODY_BYTES]
        headers = [(k[5:].replace("_", "-").title(), v) for k, v in environ.items() if k.startswith("HTTP_")]
        if environ.get("CONTENT_TYPE"):
            headers.append(("Content-Type", environ["CONTENT_TYPE"]))
        host = environ.get("HTTP_HOST", "127.0.0.1")
        hook_url = f"http://{host}{protocol.escape_path(environ.get('PATH_INFO', ''))}"
        return protocol.raw_http_request(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""),
                                         headers, body, self.hook_id, hook_url)

    def _respond(self, session_id, queue, start_response, label, started):
        # Like the daemon, hold status and headers until the first body chunk (or the end).
        head: dict | None = None
        first: bytes | None = None
        while first is None:
            kind, data = self._next(queue, self.first_chunk_timeout)
            if kind == "stream":
                head = head or data
                if "result" in data:
                    first = binascii.unhexlify(data["result"])
            elif kind == "end" and head is not None:
                first = b""
            else:
                self.plugin.close_session(session_id)
                status, body = _failure(kind, data)
                self._log(label, status, started, started, 0)
                return _json(start_response, status, body)
        status = int(head.get("status", 200))
        headers = [(k, str(v)) for k, v in (head.get("headers") or {}).items() if k.lower() not in HOP_BY_HOP]
        start_response(f"{status} {_reason(status)}", headers)
        ttfb = time.perf_counter()
        return self._body(session_id, queue, first, label, status, started, ttfb, ended=kind == "end")

    def _body(self, session_id, queue, first, label, status, started, ttfb, ended) -> Iterator[bytes]:
        chunks = 1
        deadline = started + self.total_timeout
        try:
            if first:
                yield first
            while not ended:
                kind, data = self._next(queue, max(0.0, deadline - time.perf_counter()))
                if kind == "stream" and "result" in data:
                    chunks += 1
                    yield binascii.unhexlify(data["result"])
                elif kind != "stream":
                    ended = True
                    if kind != "end":
                        # The daemon appends the error after the bytes already sent; so do we, loudly.
                        error = _failure(kind, data)[1]
                        log.warning("!!! %s failed after streaming started: %s", label, error)
                        yield json.dumps(error).encode()
        finally:
            self.plugin.close_session(session_id)
            self._log(label, status, started, ttfb, chunks)

    def _next(self, queue, timeout: float) -> tuple[str, object]:
        try:
            return queue.get(timeout=timeout)
        except Empty:
            return "timeout", None

    def _log(self, label, status, started, ttfb, chunks) -> None:
        now = time.perf_counter()
        self.echo(f"{label} {status} ttfb={1000 * (ttfb - started):.1f}ms total={1000 * (now - started):.1f}ms "
                  f"chunks={chunks}")


def _has_control_characters(environ) -> bool:
    return any(isinstance(v, str) and any(c < " " and c != "\t" or c == "\x7f" for c in v)
               for k, v in environ.items() if k.startswith("HTTP_") or k == "CONTENT_TYPE")


def _failure(kind: str, data: object) -> tuple[int, dict]:
    if kind == "died":
        return 502, {"code": "plugin_died", "message": f"The plugin stopped while serving this request: {data}"}
    if kind == "timeout":
        return 504, {"code": "timeout", "message": "The plugin did not answer in time (killed by timeout)."}
    if kind == "error":
        log.warning("!!! the plugin raised an error; the daemon answers 500 with its traceback: %s",
                    (data or {}).get("message") if isinstance(data, dict) else data)
        message = json.dumps({"message": json.dumps(data), "error_type": "PluginDaemonInternalServerError",
                              "args": None})
        return 500, {"code": -500, "message": message, "data": None}
    return 500, {"code": "internal_error", "message": f"unexpected plugin message {kind!r}"}


def _json(start_response, status: int, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(f"{status} {_reason(status)}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def serve(relay: Relay, port: int):
    """Start a gevent WSGI server on loopback; returns it (call .stop() to end)."""
    server = WSGIServer(("127.0.0.1", port), relay, log=None, error_log=log)
    server.start()
    gevent.sleep(0)
    return server
