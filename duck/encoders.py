"""Wire encodings for app events: SSE frames, NDJSON lines, JSON bodies, keep-alives, chunking."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Framing:
    """How one event becomes one chunk on the wire: prefix + JSON + suffix."""

    content_type: str
    prefix: bytes
    suffix: bytes
    ping: bytes

    def encode(self, event: dict) -> bytes:
        return self.prefix + dumps(event) + self.suffix


SSE = Framing("text/event-stream", b"data: ", b"\n\n", b"event: ping\n\n")
NDJSON = Framing("application/x-ndjson", b"", b"\n", b'{"event":"ping"}\n')


def chunks(data: bytes, size: int = MAX_CHUNK_BYTES) -> Iterator[bytes]:
    """Split data into pieces no larger than size (one piece when it already fits)."""
    if len(data) <= size:
        yield data
        return
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start : start + size])


def with_keepalive(events: Iterable, interval: float = KEEPALIVE_SECONDS) -> Iterator:
    """Yield the events, and PING each time none arrived for `interval` seconds.

    A helper greenlet reads the app and always runs to the end of the stream: the protocol cannot
    cancel an app run, so a caller who leaves must not strand the reader. A second one wakes only
    when a ping is due, so events pay no timer of their own.
    """
    queue: Queue = Queue()
    last_activity = [time.monotonic()]

    def pump() -> None:
        try:
            for event in events:
                last_activity[0] = time.monotonic()
                queue.put(event)
        except BaseException as e:  # handed to the consumer, which decides what the caller sees
            queue.put(e)
        finally:
            ticker.kill(block=False)
            queue.put(_END)

    def tick() -> None:
        while True:
            due = last_activity[0] + interval - time.monotonic()
            if due > 0:
                gevent.sleep(due)
                continue
            last_activity[0] = time.monotonic()
            queue.put(PING)

    ticker = gevent.spawn(tick)
    gevent.spawn(pump)
    get = queue.get
    while True:
        item = get()
        if type(item) is dict:  # the hot path: one check per event
            yield item
        elif item is _END:
            return
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item
