"""From an app's events to a streamed HTTP response: read ahead, wait for the first event, coalesce, keep alive.

Every streamed response goes through `stream_body`, which decides when bytes are sent; the caller only
says how its events are written (a `render` generator from events to bytes, see _encoders.py). The
rules, and why:

- A helper greenlet reads the app's events into a queue as they arrive (a `Source`), from before the
  handler returns: the handler waits for the first event at most KEEPALIVE_SECONDS, so that a fast
  failure gets its own status. It always reads to the end: the protocol cannot cancel an app run,
  so a caller who leaves must not strand it. A second one runs the renderer, so that the frames
  written while the previous chunk was on its way can be joined.
- The first event goes out at once, and so does any event after a quiet gap. Events that are already
  waiting are joined into one chunk, and a chunk follows the previous one no sooner than
  CHUNK_INTERVAL later unless it is full (MAX_CHUNK_BYTES). So a stream sends at most
  1 / CHUNK_INTERVAL chunks a second, more only when the app produces more than MAX_CHUNK_BYTES per
  interval. This matters: the daemon queues at most 128 chunks per response and silently drops
  chunks beyond that while a client is slow to read (`internal/core/io_tunnel/endpoint_service.go`,
  `pkg/utils/stream/stream.go`); and the SDK pays about 10 us for every chunk.
- After KEEPALIVE_SECONDS without a chunk, the format's ping is sent.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.event import Event as Signal
from werkzeug import Request, Response

from endpoint_kit._encoders import NDJSON, SSE, Event, Framing, render_text
from endpoint_kit._responses import MAX_CHUNK_BYTES, json_response

# At most 20 chunks a second: a client that stops reading for 5 s has 100 chunks queued, under 128.
CHUNK_INTERVAL = 0.05
# The Service API pings every 10 s; the variable exists so that tests need not wait that long. It is
# also how long a handler waits for the app's first event before it starts the response.
KEEPALIVE_SECONDS = float(os.environ.get("ENDPOINT_KIT_KEEPALIVE_SECONDS", "10"))
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

Render = Callable[[Iterable[Event]], Iterator[bytes]]

_END = object()
logger = logging.getLogger("endpoint_kit")


class Empty(Exception):
    """Nothing arrived in time."""


class Source[T]:
    """Items (an app's events, or a renderer's frames) read ahead by a helper greenlet.

    One reader only. A deque and an event rather than gevent's Queue: this is every stream's hot
    path, twice per event, and the greenlets are cooperative, so nothing can slip in between a check
    and the wait that follows it. The queue holds items, then maybe the exception that ended them,
    then _END.
    """

    def __init__(self, items: Iterable[T]):
        self._items: deque[Any] = deque()
        self._arrived = Signal()
        gevent.spawn(self._pump, items)

    def _pump(self, items: Iterable[T]) -> None:
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

    def first(self, timeout: float) -> T | None:
        """The first item, left in place; None if none came within `timeout` or there is none. Raises the failure."""
        if not self._items and not self._wait(timeout):
            return None
        item = self._items[0]
        if isinstance(item, Exception):
            raise item
        return None if item is _END else item

    def get(self, timeout: float | None = None) -> Any:
        """The next item (an item, an exception or _END); raises Empty after `timeout` (0: no wait)."""
        if self._items:
            return self._items.popleft()
        if timeout == 0 or not self._wait(timeout):
            raise Empty
        return self._items.popleft()

    def _wait(self, timeout: float | None) -> bool:
        self._arrived.clear()
        return bool(self._arrived.wait(timeout))

    def __iter__(self) -> Iterator[T]:
        """The items, blocking as long as the source is silent; its failure is raised where it came."""
        items = self._items
        while True:
            item = items.popleft() if items else self.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item


@dataclass(frozen=True)
class AppStream:
    """An app's events, read ahead: iterate it for the event dicts. `first` is its first event,
    already checked, or None when the app was still silent after the handler's bounded wait."""

    source: Source[Event]
    first: Event | None

    def __iter__(self) -> Iterator[Event]:
        return iter(self.source)


def stream_body(
    events: Iterable[Event],
    render: Render,
    ping: bytes = b"",
    opening: bytes | None = None,
    *,
    interval: float = CHUNK_INTERVAL,
    keepalive: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[bytes]:
    """The chunks of a streamed response (a generator: only generators stream through the SDK).

    `render` turns the events into the format's bytes, and writes a failure as its own last frame;
    it runs in a helper greenlet, so that what it wrote while the last chunk was sent can be joined.
    `ping` is sent after `keepalive` seconds without a chunk (b"": never). `opening`, when given, is
    written at once: a handler whose app is still silent starts the response with it (b"" starts it
    without a byte: the daemon sends status and headers with the first chunk, even an empty one).
    """
    keepalive = KEEPALIVE_SECONDS if keepalive is None else keepalive
    limit = MAX_CHUNK_BYTES
    if opening is not None:
        yield opening
    frames: Source[bytes | str] = Source(render(events))
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


def stream_response(events: Iterable[Event], render: Render, content_type: str, ping: bytes = b"") -> Response:
    """A streamed 200 in any format: `render` writes the events as bytes (and a failure as its own last
    frame); stream_body decides when they are sent (coalesced, paced, kept alive with `ping`).

    For an AppStream whose app was still silent after the handler's bounded wait, the response starts
    at once with the ping (or an empty chunk for formats without one), so the caller sees the status.
    """
    opening = ping if isinstance(events, AppStream) and events.first is None else None
    return Response(
        stream_body(events, render, ping, opening),
        status=200,
        headers=STREAM_HEADERS,
        content_type=f"{content_type}; charset=utf-8",
    )


def sse_response(events: Iterable[Event]) -> Response:
    """Server-Sent Events as Dify's Service API sends them: `data: <json>` frames, `event: ping` keep-alives;
    a failure after the start is a last `data: {"event": "error", "code", "message", "status"}` frame."""
    return _framed(events, SSE)


def ndjson_response(events: Iterable[Event]) -> Response:
    """One JSON object a line (`application/x-ndjson`), `{"event":"ping"}` keep-alives, errors as with SSE."""
    return _framed(events, NDJSON)


def text_response(events: Iterable[Event]) -> Response:
    """A chat app's answer as plain text (`text/plain`); a failure after the start ends it with `[error] <message>`."""
    return stream_response(events, render_text, "text/plain")


def app_response(request: Request, answer: dict[str, Any] | Iterable[Event]) -> Response:
    """What run_app or stream_app returned, as the Service API answers: a blocking answer as JSON; a stream
    as SSE, or NDJSON when the caller's Accept header prefers `application/x-ndjson`."""
    if isinstance(answer, dict):
        return json_response(answer)
    best = request.accept_mimetypes.best_match([SSE.content_type, NDJSON.content_type], default=SSE.content_type)
    return _framed(answer, NDJSON if best == NDJSON.content_type else SSE)


def _framed(events: Iterable[Event], framing: Framing) -> Response:
    return stream_response(events, framing.render, framing.content_type, framing.ping)
