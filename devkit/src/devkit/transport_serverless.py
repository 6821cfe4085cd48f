"""The serverless transport: the plugin as an HTTP server, as Dify Cloud runs marketplace plugins.

Reproduces the daemon's `internal/core/serverless_runtime/io.go` (requests) and
`internal/core/io_tunnel/backwards_invocation/transaction/serverless_handler.go` (reverse calls), against
the SDK's `core/server/serverless/request_reader.py` and `core/runtime.py` (`_http_backwards_invoke`).
- Each request is its own `POST /invoke?action=invoke_endpoint` whose streamed body carries the
  plugin's messages; nothing travels on stdin or stdout (stdout is logs only).
- The plugin calls Dify back with `POST {DIFY_PLUGIN_DAEMON_URL}/backwards-invocation/transaction`; the
  dev kit serves that route on its own port, as the daemon does.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import time
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import gevent
import httpx
import orjson
from gevent.queue import Empty, Queue
from werkzeug.wrappers import Request, Response

from devkit import envelopes, protocol
from devkit.errors import DaemonRefused, PluginDied
from devkit.lines import LineTooLong, split_lines

if TYPE_CHECKING:
    from devkit.plugin_process import PluginProcess

log = logging.getLogger("devkit")

MAX_REQUEST_BYTES = 5 * 1024 * 1024  # MAX_SERVERLESS_REQUEST_BYTES (internal/types/app/default.go)
MAX_RETRY_TIMES = 3  # MAX_SERVERLESS_RETRY_TIMES (internal/types/app/config.go)
MAX_EXECUTION_SECONDS = 600  # PLUGIN_MAX_EXECUTION_TIMEOUT: the context of each /invoke request
ERROR_BODY_LIMIT = 4 * 1024  # serverlessErrorResponseLimit
TRANSACTION_PATH = "/backwards-invocation/transaction"
TRANSACTION_MAX_BYTES = 6 * 1024 * 1024  # serverless_handler.go reads at most 6 MB of a reverse call
TRANSACTION_SECONDS = 300  # MAX_SERVERLESS_TRANSACTION_TIMEOUT (internal/types/app/default.go)
HEARTBEAT_SECONDS = 25  # startHeartbeat(writer, 25*time.Second)


class ServerlessTransport:
    install_method = "serverless"

    def __init__(
        self,
        daemon_url: str = "",
        transaction_seconds: float = TRANSACTION_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ):
        self.daemon_url = daemon_url  # where the plugin calls back: the dev kit's own HTTP server
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.transaction_seconds = transaction_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.plugin: PluginProcess | None = None
        # One pooled client, as the daemon keeps one http.Client per serverless runtime (type.go).
        self._client = httpx.Client(timeout=httpx.Timeout(MAX_EXECUTION_SECONDS))

    def env(self) -> dict[str, str]:
        return {
            "INSTALL_METHOD": "serverless",
            "SERVERLESS_HOST": "127.0.0.1",
            "SERVERLESS_PORT": str(self.port),
            "DIFY_PLUGIN_DAEMON_URL": self.daemon_url,
        }

    def attach(self, plugin: PluginProcess, proc: subprocess.Popen | None) -> None:
        self.plugin = plugin
        if proc is not None:
            gevent.spawn(plugin.echo_output, proc.stdout)

    def ready(self) -> bool:
        try:  # Dify Cloud launches a function and waits for its health check
            return self._client.get(self.url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def on_exit(self, plugin: PluginProcess, code: int) -> None:
        pass  # each open request fails on its own connection, as the daemon sees it

    def close(self) -> None:
        self._client.close()

    # requests to the plugin ------------------------------------------------------------------

    def send(self, session_id: str, line: bytes) -> None:
        body = go_json(line.rstrip(b"\n"))
        if len(body) > MAX_REQUEST_BYTES:
            # serverless_runtime/io.go WriteContext refuses before any request; io_tunnel/generic.go adds
            # "failed to write request" and service/endpoint.go answers InternalServerError.
            log.warning(
                "!!! a request of %d bytes after hex encoding: Dify Cloud's daemon refuses serverless "
                "requests over %d bytes (about 2.5 MB of HTTP request) without calling the plugin",
                len(body),
                MAX_REQUEST_BYTES,
            )
            message = (
                f"ServerlessPayloadTooLarge: action=invoke_endpoint payload_bytes={len(body)} "
                f"max_request_bytes={MAX_REQUEST_BYTES}\nfailed to write request"
            )
            raise DaemonRefused(500, envelopes.internal_server_error(message))
        if self.plugin is None:
            raise PluginDied("the plugin is not running")
        gevent.spawn(self._invoke, self.plugin, session_id, body)

    def _invoke(self, plugin: PluginProcess, session_id: str, body: bytes) -> None:
        """One request, its streamed answer relayed to the session (WriteContext's goroutine)."""
        try:
            response = self._post(session_id, body)
        except _SendFailed as e:
            plugin.deliver(
                session_id, "error", _error("PluginDaemonInnerError", f"Error sending request to serverless: {e}")
            )
            return
        try:
            error, end = self._read(plugin, session_id, response)
        finally:
            response.close()
        if error is not None:
            plugin.deliver(session_id, "error", error)
        else:
            plugin.deliver(session_id, "end", end)

    def _post(self, session_id: str, body: bytes) -> httpx.Response:
        """invokeServerlessWithRetry: up to MAX_RETRY_TIMES attempts on 502 or a failed connection, with
        500 ms, 1 s, ... between them. A retried request may run twice in the plugin."""
        last = ""
        for attempt in range(MAX_RETRY_TIMES):
            if attempt:
                gevent.sleep(min(0.5 * 2 ** (attempt - 1), 30))
            request = self._client.build_request(
                "POST",
                self.url + "/invoke?action=invoke_endpoint",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Accept": "text/event-stream",
                    "Dify-Plugin-Session-ID": session_id,
                    "User-Agent": "Go-http-client/1.1",
                    "Accept-Encoding": "gzip",
                },
            )
            try:
                response = self._client.send(request, stream=True)
            except httpx.HTTPError as e:
                last = f"attempt {attempt + 1}/{MAX_RETRY_TIMES} failed: {e}"
                log.warning("serverless runtime request failed, will be retried (%s)", last)
                continue
            if response.status_code != 502:
                return response
            response.close()
            log.warning(
                "serverless runtime HTTP response will be retried (attempt %d/%d, status 502)",
                attempt + 1,
                MAX_RETRY_TIMES,
            )
            last = f"attempt {attempt + 1}/{MAX_RETRY_TIMES} failed with status code: 502"
        raise _SendFailed(f"all {MAX_RETRY_TIMES} attempts failed, last error: {last}")

    def _read(self, plugin: PluginProcess, session_id: str, response: httpx.Response) -> tuple[dict | None, object]:
        """Relay the answer's events; returns (error, end data) as the daemon would finish the session."""
        status = f"{response.status_code} {response.reason_phrase}"
        if not 200 <= response.status_code < 300 or response.headers.get("x-amzn-ErrorType"):
            fallback = status if response.status_code >= 300 or response.status_code < 200 else "Lambda runtime error"
            return _runtime_error(response, _head(response), fallback), None
        has_session_event = False
        try:
            for line in split_lines(response.iter_bytes(), protocol.MAX_LINE_BYTES):
                try:
                    message = orjson.loads(line)
                except orjson.JSONDecodeError as e:
                    return _error(
                        "PluginDaemonInnerError",
                        f"encountered an error: {e} status: {status} "
                        f"original response: {line[:1024].decode(errors='replace')}",
                    ), None
                if not isinstance(message, dict):
                    continue
                if message.get("errorType"):
                    return _runtime_error(response, line, "Lambda runtime error"), None
                event, data = message.get("event"), message.get("data")
                if event == "log" and isinstance(data, dict):
                    plugin.echo(f"[plugin] {data.get('level', 'INFO')} {data.get('message', '')}")
                elif event == "error":
                    return _error("PluginDaemonInnerError", f"encountered an error: {json.dumps(data)}"), None
                elif event == "session":
                    if not isinstance(data, dict) or not data.get("type") or data.get("data") is None:
                        return _error(
                            "PluginDaemonInnerError", f"failed to parse session message {line.decode()}"
                        ), None
                    has_session_event = True
                    kind = data["type"]
                    if kind == "end":
                        return None, data["data"]
                    if kind == "invoke":
                        # io_tunnel/generic.go: reverse calls must come through the transaction route.
                        return {
                            "error_type": "serverless_event_not_supported",
                            "message": "serverless event is not supported by full duplex",
                        }, None
                    plugin.deliver(session_id, kind, data["data"])
        except LineTooLong:
            log.warning(
                "!!! the plugin wrote a response line over %d bytes: the daemon's reader stops with 'token too long'",
                protocol.MAX_LINE_BYTES,
            )
            return _error("PluginDaemonInnerError", "failed to read response body: bufio.Scanner: token too long"), None
        except httpx.HTTPError:
            return _error("PluginDaemonInnerError", "failed to read response body: unexpected EOF"), None
        if not has_session_event:
            return _runtime_error(response, b"", "no valid session response"), None
        return None, None

    # reverse calls from the plugin -------------------------------------------------------------

    def route_transactions(self, app):
        """Wrap the dev kit's WSGI app so that it also answers the plugin's reverse calls."""

        def dispatch(environ, start_response):
            if environ.get("PATH_INFO") == TRANSACTION_PATH and environ["REQUEST_METHOD"] == "POST":
                return self.transaction(environ, start_response)
            return app(environ, start_response)

        return dispatch

    def transaction(self, environ, start_response):
        """ServerlessTransactionHandler.Handle: one reverse call, answered as an event stream."""
        request = Request(environ)
        compress = "gzip" in request.headers.get("Accept-Encoding", "")  # the route's gzip middleware
        body = request.stream.read(TRANSACTION_MAX_BYTES)  # io.LimitReader: the rest is dropped, silently
        started = time.monotonic()
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError:
            event = None
        if not isinstance(event, dict) or event.get("event") != "session":
            log.warning(
                "!!! a reverse call the daemon cannot read (%d bytes; over 6 MiB is cut): it answers "
                "nothing and holds the call for %d s",
                len(body),
                self.transaction_seconds,
            )
            return self._stream(_silence(started + self.transaction_seconds), compress)(environ, start_response)
        message = event.get("data")
        if not isinstance(message, dict) or not message.get("type") or message.get("data") is None:
            return Response(
                "Key: 'SessionMessage.Type' Error:Field validation for 'Type' failed on the 'required' tag", 400
            )(environ, start_response)
        session_id = str(event.get("session_id"))
        payload = message["data"] if isinstance(message["data"], dict) else {}
        if self.plugin is None or session_id not in self.plugin.sessions:
            error = {
                "backwards_request_id": str(payload.get("backwards_request_id") or ""),
                "event": "error",
                "message": "failed to get session info from cache",
                "data": {"error_type": "SessionNotFound", "detail": "key not found", "session_id": session_id},
            }
            return Response(json.dumps(error), 400)(environ, start_response)
        if not payload.get("type") or not payload.get("backwards_request_id"):
            return Response("failed to parse request", 500)(environ, start_response)
        lines: Queue = Queue()
        plugin = self.plugin

        def answer() -> None:
            # ServerlessTransactionWriter.Write: session.Message(...) + "\n\n", flushed each time
            plugin.answer_invocation(session_id, payload, lambda line: lines.put(line.rstrip(b"\n") + b"\n\n"))
            lines.put(None)

        def heartbeat() -> None:
            while True:
                gevent.sleep(self.heartbeat_seconds)
                lines.put(b"\n\n")

        workers = [gevent.spawn(answer), gevent.spawn(heartbeat)]
        chunks = _until_done(lines, started + self.transaction_seconds, workers)
        return self._stream(chunks, compress)(environ, start_response)

    def _stream(self, chunks: Iterator[bytes], compress: bool) -> Response:
        response = Response(_gzip(chunks) if compress else chunks, 200)
        response.headers["Content-Type"] = "text/event-stream"
        if compress:
            response.headers["Content-Encoding"] = "gzip"
            response.headers["Vary"] = "Accept-Encoding"
        return response


class _SendFailed(Exception):
    pass


def go_json(body: bytes) -> bytes:
    """The bytes Go's json.Marshal writes for an already serialized message (envelopes.go_json for values)."""
    for raw, escaped in (
        (b"<", b"\\u003c"),
        (b">", b"\\u003e"),
        (b"&", b"\\u0026"),
        ("\u2028".encode(), b"\\u2028"),
        ("\u2029".encode(), b"\\u2029"),
    ):
        body = body.replace(raw, escaped)  # these bytes occur only inside JSON strings
    return body


def _error(error_type: str, message: str, args: dict | None = None) -> dict:
    return {"message": message, "error_type": error_type, "args": args}


def _head(response: httpx.Response) -> bytes:
    data = b""
    try:
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) >= ERROR_BODY_LIMIT:
                break
    except httpx.HTTPError:
        pass
    return data[:ERROR_BODY_LIMIT]


def _runtime_error(response: httpx.Response, body: bytes, fallback: str) -> dict:
    """buildServerlessRuntimeError: a PluginRuntimeError naming the status and any Lambda error."""
    try:
        details = json.loads(body) if body else {}
    except ValueError:
        details = {}
    details = details if isinstance(details, dict) else {}
    error_type = response.headers.get("x-amzn-ErrorType") or details.get("errorType") or fallback
    message = f"Plugin runtime request failed: {error_type}"
    if details.get("errorMessage"):
        message += ": " + str(details["errorMessage"])
    args: dict = {"status_code": response.status_code}
    if response.headers.get("x-amzn-RequestId") or details.get("requestId"):
        args["request_id"] = response.headers.get("x-amzn-RequestId") or details.get("requestId")
    return _error("PluginRuntimeError", message, args)


def _until_done(lines: Queue, deadline: float, workers: list) -> Iterator[bytes]:
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except Empty:
                log.warning(
                    "!!! a reverse call ran past %d s: the daemon ends it there, and the plugin sees its "
                    "answer stop without an error",
                    TRANSACTION_SECONDS,
                )
                return
            if line is None:
                return
            yield line
    finally:
        gevent.killall(workers[1:])  # the heartbeat; the answer runs on, as the daemon's InvokeDify does


def _silence(deadline: float) -> Iterator[bytes]:
    """An unreadable reverse call gets no answer until the transaction limit (`select` on done/timeout)."""
    gevent.sleep(max(0.0, deadline - time.monotonic()))
    yield from ()


def _gzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    compressor = zlib.compressobj(wbits=31)  # gzip framing, flushed per write like gzip.Writer.Flush
    for chunk in chunks:
        yield compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)
    yield compressor.flush()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
