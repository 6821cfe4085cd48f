"""Start `python -m devkit serve` as a subprocess on a free loopback port, and read from it slowly:
for tests and benchmarks."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import h11
import psutil


class Runtime:
    def __init__(
        self,
        *settings: str,
        plugin_dir: Path | None = None,
        env: dict | None = None,
        delay_ms: float = 0,
        config: Path | None = None,
        runtime: str = "local",
        wait_for_plugin: bool = False,
    ):
        self.runtime = runtime
        args = [
            sys.executable,
            "-m",
            "devkit",
            "serve",
            str(Path(plugin_dir or Path.cwd()).resolve()),  # as `devkit serve`: here by default
            "--port",
            "0",
            "--runtime",
            runtime,
            "--token-delay-ms",
            str(delay_ms),
        ] + (["--config", str(config)] if config else [])
        args += ["--wait-for-plugin"] if wait_for_plugin else []
        for setting in settings:
            args += ["--setting", setting]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            text=True,
        )
        self.lines: list[str] = []
        self.base_url = self.api_key = ""
        self.plugin_env: dict[str, str] = {}  # remote: the .env lines the banner prints
        deadline = time.monotonic() + 60
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("  ") and "=" in line:
                name, value = line.strip().split("=", 1)
                self.plugin_env[name] = value
            elif line.startswith("Base URL: "):
                self.base_url = line.split(": ", 1)[1].strip()
            elif line.startswith("API key: "):
                self.api_key = line.split(": ", 1)[1].split()[0]
                break
            if time.monotonic() > deadline:
                break
        if not self.api_key:
            self.stop()
            raise RuntimeError("the runtime did not start:\n" + "".join(self.lines))
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    @property
    def port(self) -> int:
        return int(re.search(r":(\d+)/", self.base_url).group(1))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def plugin_process(self) -> psutil.Process:
        return psutil.Process(self.proc.pid).children()[0]

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_output(self, text: str, timeout: float = 10) -> bool:
        """True once `text` appears in the runtime's output (it logs a request after answering it)."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _read_rest(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class SlowRead:
    """What a client that paused mid-stream received."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    complete: bool  # False when the server closed the connection before the end of the body

    def events(self) -> list[dict]:
        """The JSON of every SSE `data:` frame received (a dropped chunk is a missing frame)."""
        frames = self.body.replace(b"\r\n", b"\n").split(b"\n\n")
        return [json.loads(f[6:]) for f in frames if f.startswith(b"data: ")]


def read_slowly(
    url: str, body: dict | None, headers: dict[str, str], pause: float, rcvbuf: int = 4096, timeout: float = 60
) -> SlowRead:
    """POST `body` as JSON (GET when None), read the answer's first bytes, stop reading for `pause`
    seconds, then read the rest.

    Loopback sockets buffer megabytes by default (the receive buffer autotunes up to
    net.ipv4.tcp_rmem's maximum), so a paused client would absorb whole answers and hide the
    daemon's 128-chunk queue. SO_RCVBUF is set before connecting, so the window stays small and
    the server's writes block after a few kilobytes, as they would behind a slow network.
    `rcvbuf=0` leaves the kernel's own sizing.
    """
    parts = urlsplit(url)
    payload = json.dumps(body).encode() if body is not None else b""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    connection = h11.Connection(h11.CLIENT)
    try:
        sock.connect((parts.hostname, parts.port))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        framing = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))] if payload else []
        request_headers = [("Host", parts.netloc), *framing, *headers.items()]
        method = "POST" if body is not None else "GET"
        sock.sendall(connection.send(h11.Request(method=method, target=target, headers=request_headers)))
        sock.sendall(connection.send(h11.Data(data=payload)) + connection.send(h11.EndOfMessage()))
        response, received, paused, complete = None, bytearray(), False, False
        while True:
            try:
                event = connection.next_event()
            except h11.RemoteProtocolError:  # closed mid-body
                break
            if event is h11.NEED_DATA:
                if received and not paused:
                    time.sleep(pause)  # the client stops reading: the kernel buffers fill, then the server's
                    paused = True
                try:
                    connection.receive_data(sock.recv(65536))
                except ConnectionResetError:
                    break
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                received += event.data
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                complete = isinstance(event, h11.EndOfMessage)
                break
    finally:
        sock.close()
    return SlowRead(
        response.status_code if response else 0, list(response.headers) if response else [], bytes(received), complete
    )
