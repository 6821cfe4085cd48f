"""Wire encodings for app events: SSE frames, NDJSON lines, JSON bodies, keep-alives, chunking."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator

import gevent
import orjson
from gevent.queue import Queue

# The daemon kills a plugin whose stdout line passes 5 MiB; a chunk is hex-encoded (x2) on that line.
MAX_CHUNK_BYTES = 1024 * 1024
# The Service API pings every 10 s; the variable exists so that tests need not wait that long.
KEEPALIVE_SECONDS = float(os.environ.get("DUCK_KEEPALIVE_SECONDS", "10"))
PING = object()  # stands for "the app was silent for KEEPALIVE_SECONDS" in an event stream
_END = object()


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON, as Dify writes its events (orjson), with a stdlib fallback."""
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits, non-string keys
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def sse(event: dict) -> bytes:
    return b"data: " + dumps(event) + b"\n\n"


def ndjson(event: dict) -> bytes:
    return dumps(event) + b"\n"


SSE_PING = b"event: ping\n\n"
NDJSON_PING = b'{"event":"ping"}\n'


def chunks(data: bytes, size: int = MAX_CHUNK_BYTES) -> Iterator[bytes]:
    """Split data into pieces no larger than size (one piece when it already fits)."""
    if len(data) <= size:
        yield data
        return
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start : start + size])


def with_keepalive(events: Iterable, interval: float = KEEPALIVE_SECONDS) -> Iterator:
    """Yield the events, and PING whenever none arrived for `interval` seconds.

    Reading the app happens in a helper greenlet that always runs to the end of the stream:
    the protocol cannot cancel an app run, so a caller who leaves must not strand the reader.
    """
    queue: Queue = Queue()

    def pump() -> None:
        try:
            for event in events:
                queue.put(event)
        except BaseException as e:  # handed to the consumer, which decides what the caller sees
            queue.put(e)
        queue.put(_END)

    gevent.spawn(pump)
    while True:
        try:
            item = queue.get(timeout=interval)
        except gevent.queue.Empty:
            yield PING
            continue
        if item is _END:
            return
        if isinstance(item, BaseException):
            raise item
        yield item
