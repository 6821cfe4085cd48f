"""Many concurrent streams through the local runtime: delivered, lost, reordered, byte-exact.

python -m bench.load [--streams 200] [--events 500]
"""

from __future__ import annotations

from gevent import monkey

if not monkey.is_module_patched("socket"):  # run as a script; under the SDK it is patched already
    monkey.patch_all()

import argparse
import itertools
import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import gevent
import orjson
import psutil


@dataclass
class LoadResult:
    streams: int
    events: int
    delivered: int = 0
    lost: int = 0
    reordered: int = 0
    duplicated: int = 0
    not_byte_exact: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rss_growth_mb: float = 0.0

    @property
    def ok(self) -> bool:
        expected = self.streams * self.events
        return (
            not (self.lost or self.reordered or self.duplicated or self.not_byte_exact or self.errors)
            and self.delivered == expected
        )


def count_stream(body: bytes, events: int, result: LoadResult) -> None:
    """The cheap check, for timing runs: every message event arrived, nothing else is parsed."""
    delivered = body.count(b'data: {"event":"message"')
    result.delivered += delivered
    result.lost += max(0, events - delivered)


def check_stream(body: bytes, events: int, result: LoadResult) -> None:
    """The full check: each event once, in order, and each frame byte-exact."""
    tokens = []
    for frame in body.split(b"\n\n"):
        if not frame or frame == b"event: ping":  # a keep-alive: legal anywhere in the stream
            continue
        if not frame.startswith(b"data: "):
            result.errors.append(f"unexpected frame {frame[:80]!r}")
            continue
        event = json.loads(frame[6:])
        # Byte-exact: the frame is exactly Dify's compact UTF-8 encoding of the event.
        if orjson.dumps(event) != frame[6:]:
            result.not_byte_exact += 1
        if event["event"] == "message":
            tokens.append(int(event["answer"][1:].strip()))
    result.delivered += len(tokens)
    result.duplicated += len(tokens) - len(set(tokens))
    result.lost += len(set(range(events)) - set(tokens))
    result.reordered += sum(1 for a, b in itertools.pairwise(tokens) if b < a)


def post(base_url: str, path: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """A minimal HTTP/1.1 client (like wrk's): one request, read to close, de-chunk. Costs the CPU
    the load generator shares with the runtime and the plugin as little as possible."""
    url = urlsplit(base_url)
    lines = [
        f"POST {url.path}{path} HTTP/1.1",
        f"Host: {url.netloc}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
        received = bytearray()
        while data := sock.recv(262144):
            received += data
    head, _, payload = bytes(received).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        payload = dechunk(payload)
    return status, payload


def dechunk(data: bytes) -> bytes:
    out, position = bytearray(), 0
    while True:
        line_end = data.index(b"\r\n", position)
        size = int(data[position:line_end].split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        out += data[line_end + 2 : line_end + 2 + size]
        position = line_end + 2 + size + 2


def run_load(
    base_url: str,
    api_key: str,
    streams: int,
    events: int,
    plugin_pid: int | None = None,
    timeout: float = 300,
    verify: bool = True,
) -> LoadResult:
    """Open `streams` concurrent chat streams of `events` message events each and check every byte."""
    result = LoadResult(streams, events)
    plugin = psutil.Process(plugin_pid) if plugin_pid else None
    rss_before = plugin.memory_info().rss if plugin else 0
    body = json.dumps({"query": f"/tokens {events}"}).encode()
    headers = {"Authorization": f"Bearer {api_key}"}
    check = check_stream if verify else count_stream

    def one() -> None:
        try:
            status, payload = post(base_url, "/apps/demo-chat/chat-messages", body, headers, timeout)
        except (OSError, ValueError) as e:
            result.errors.append(repr(e))
            return
        if status != 200:
            result.errors.append(f"status {status}")
            return
        check(payload, events, result)

    started = time.perf_counter()
    jobs = [gevent.spawn(one) for _ in range(streams)]
    gevent.joinall(jobs, timeout=timeout)
    unfinished = [job for job in jobs if not job.ready()]
    gevent.killall(unfinished)
    result.errors += ["timed out"] * len(unfinished)
    result.seconds = time.perf_counter() - started
    if plugin:
        result.rss_growth_mb = (plugin.memory_info().rss - rss_before) / 2**20
    return result


def main() -> int:
    from devkit.harness import Runtime

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    runtime = Runtime(plugin_dir=Path(__file__).resolve().parent.parent)  # Duck
    try:
        result = run_load(runtime.base_url, runtime.api_key, args.streams, args.events, runtime.plugin_process().pid)
    finally:
        runtime.stop()
    print(
        f"streams={result.streams} events/stream={result.events} delivered={result.delivered} "
        f"lost={result.lost} reordered={result.reordered} duplicated={result.duplicated} "
        f"not_byte_exact={result.not_byte_exact} errors={len(result.errors)} "
        f"seconds={result.seconds:.1f} plugin_rss_growth_mb={result.rss_growth_mb:.1f}"
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
