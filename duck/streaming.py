"""From an app's events to a streamed HTTP body: read ahead, wait for the first event, coalesce, keep alive.

Every streaming route goes through `body`, which decides when bytes are sent; the route only says how
its events are written (a `render` generator from events to bytes). The rules, and why:

- A helper greenlet reads the app's events into a queue as they arrive (a `Source`), from before the
  handler returns: the handler waits for the first event at most KEEPALIVE_SECONDS, so that a fast
  failure gets its own status. It always reads to the end: the protocol cannot cancel an app run,
  so a caller who leaves must not strand it. A second one runs the route's renderer, so that the
  frames written while the previous chunk was on its way can be joined.
- The first event goes out at once, and so does any event after a quiet gap. Events that are already
  waiting are joined into one chunk, and a chunk follows the previous one no sooner than
  CHUNK_INTERVAL later unless it is full (MAX_CHUNK_BYTES). So a stream sends at most
  1 / CHUNK_INTERVAL chunks a second, more only when the app produces more than MAX_CHUNK_BYTES per
  interval. This matters: the daemon queues at most 128 chunks per response and silently drops
  chunks beyond that while a client is slow to read (`internal/core/io_tunnel/endpoint_service.go`,
  `pkg/utils/stream/stream.go`); and the SDK pays about 10 us for every chunk.
- After KEEPALIVE_SECONDS without a chunk, the route's ping is sent.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator

import gevent
from gevent.event import Event

# The daemon kills a plugin whose stdout line passes 5 MiB; a chunk is hex-encoded (x2) on that line.
MAX_CHUNK_BYTES = 1024 * 1024
# At most 20 chunks a second: a client that stops reading for 5 s has 100 chunks queued, under 128.
CHUNK_INTERVAL = 0.05
# The Service API pings every 10 s; the variable exists so that tests need not wait that long. It is
# also how long a handler waits for the app's first event before it starts the response.
KEEPALIVE_SECONDS = float(os.environ.get("DUCK_KEEPALIVE_SECONDS", "10"))

_END = object()
logger = logging.getLogger("duck")


class Empty(Exception):
    """Nothing arrived in time."""


class Source:
    """Items (an app's events, or a route's frames) read ahead by a helper greenlet.

    One reader only. A deque and an event rather than gevent's Queue: this is every stream's hot
    path, twice per event, and the greenlets are cooperative, so nothing can slip in between a check
    and the wait that follows it.
    """

    def __init__(self, items: Iterable):
        self._items: deque = deque()
        self._arrived = Event()
        gevent.spawn(self._pump, items)

    def _pump(self, items: Iterable) -> None:
        queue, arrived = self._items, self._arrived
        try:
            for item in items:
                queue.append(item)
                if not arrived.is_set():
                    arrived.set()
        except Exception as e:  # handed to the reader, which decides what the caller sees
            queue.append(e)
        finally:
            queue.append(_END)
            arrived.set()

    def first(self, timeout: float) -> dict | None:
        """The first event, left in place; None if the app is still silent after `timeout`. Raises its failure."""
        if not self._items and not self._wait(timeout):
            return None
        item = self._items[0]
        if isinstance(item, Exception):
            raise item
        return None if item is _END else item

    def get(self, timeout: float | None = None):
        """The next item (an event, an exception or _END); raises Empty after `timeout` (0: no wait)."""
        if self._items:
            return self._items.popleft()
        if timeout == 0 or not self._wait(timeout):
            raise Empty
        return self._items.popleft()

    def _wait(self, timeout: float | None) -> bool:
        self._arrived.clear()
        return bool(self._arrived.wait(timeout))

    def __iter__(self) -> Iterator:
        """The items, blocking as long as the app is silent (renderers, answers folded inside Duck)."""
        items = self._items
        while True:
            item = items.popleft() if items else self.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item


def body(
    events: Iterable[dict],
    render: Callable[[Iterable[dict]], Iterator[bytes]],
    ping: bytes = b"",
    opening: bytes | None = None,
    *,
    interval: float = CHUNK_INTERVAL,
    keepalive: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[bytes]:
    """The chunks of a streamed response (a generator: only generators stream through the SDK).

    `render` turns the events into the route's bytes, and writes a failure as its own last frame;
    it runs in a helper greenlet, so that what it wrote while the last chunk was sent can be joined.
    `ping` is sent after `keepalive` seconds without a chunk (b"": never). `opening`, when given, is
    written at once: a handler whose app is still silent starts the response with it (b"" starts it
    without a byte: the daemon sends status and headers with the first chunk, even an empty one).
    """
    keepalive = KEEPALIVE_SECONDS if keepalive is None else keepalive
    limit = MAX_CHUNK_BYTES
    if opening is not None:
        yield opening
    frames = Source(render(events))
    waiting = frames._items  # read directly below: one loop per burst instead of one call per frame
    parts: list[bytes] = []
    size = 0
    last_sent = float("-inf")
    while True:
        try:
            item = frames.get(keepalive)
        except Empty:
            if ping:
                yield ping
            continue
        # Gather: what is already waiting joins this chunk; within `interval` of the last chunk,
        # what arrives before the interval ends joins it too, unless the chunk is full first.
        while True:
            if item is _END or isinstance(item, Exception):
                if isinstance(item, Exception):  # render writes failures itself: this is a bug
                    logger.error("a stream's renderer failed", exc_info=item)
                if data := b"".join(parts):
                    yield data
                return
            if isinstance(item, str):
                item = item.encode()
            parts.append(item)
            size += len(item)
            while waiting and size < limit and type(waiting[0]) is bytes:  # the hot path: a burst
                item = waiting.popleft()
                parts.append(item)
                size += len(item)
            if size >= limit:
                break
            if waiting:
                item = waiting.popleft()
                continue
            wait = last_sent + interval - clock()
            if wait <= 0:
                break
            try:
                item = frames.get(wait)
            except Empty:
                break
        yield b"".join(parts)
        last_sent = clock()
        parts, size = [], 0


def split(pieces: Iterable[bytes | str], size: int = MAX_CHUNK_BYTES) -> Iterator[bytes]:
    """The same bytes in pieces of at most `size` (the guarantee every response passes through)."""
    for piece in pieces:
        if isinstance(piece, str):
            piece = piece.encode()
        if len(piece) <= size:
            yield piece
            continue
        view = memoryview(piece)
        for start in range(0, len(piece), size):
            yield bytes(view[start : start + size])
