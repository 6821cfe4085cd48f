"""The daemon's last queue before the HTTP writer: 128 chunks, and a full queue drops what comes.

In the daemon (langgenius/dify-plugin-daemon), the plugin's chunks for an endpoint request pass
two `stream.Stream`s (internal/core/io_tunnel/endpoint_service.go, InvokeEndpoint):

1. `GenericInvokePlugin(..., 128)`: the stdout reader puts each chunk with `WriteBlocking`
   (io_tunnel/generic.go). A routine drains it at once, so it never fills in practice.
2. `stream.NewStream[[]byte](128)`: that routine hex-decodes each chunk and puts it with `Write`,
   which returns "queue is full" when 128 chunks wait (pkg/utils/stream/stream.go) - and the
   return value is ignored. The HTTP writer (internal/service/endpoint.go, Endpoint) takes one
   chunk at a time and blocks in `ctx.Writer.Write` + `Flush` while the client does not read.

So a client that reads slower than the plugin writes loses chunks once the kernel's socket buffers
and these 128 slots are full, silently. The end of the stream and a late error are not chunks:
`Close` and `WriteError` never drop, and the reader sees them after the queued chunks.
"""

from __future__ import annotations

import logging
import time

from gevent.queue import Empty, Queue

log = logging.getLogger("devkit")

DAEMON_QUEUE_CHUNKS = 128  # stream.NewStream[[]byte](128) in endpoint_service.go
END = object()


class BodyQueue:
    """Chunks on their way to the client; `put` never blocks and drops a chunk when 128 wait."""

    def __init__(self, label: str, capacity: int = DAEMON_QUEUE_CHUNKS):
        self.label = label
        self.capacity = capacity
        self.dropped = 0
        self.dropped_bytes = 0
        self._items: Queue = Queue()  # unbounded: put() enforces the capacity for chunks only
        self._chunks = 0
        self._last_warning = 0.0

    def put(self, chunk: bytes) -> None:
        """stream.Write: queue the chunk, or drop it when full (the daemon ignores the error)."""
        if self._chunks >= self.capacity:
            self._drop(len(chunk))
            return
        self._chunks += 1
        self._items.put(chunk)

    def close(self, error: object = None) -> None:
        """stream.Close / WriteError: the end, or a late error, after whatever is queued."""
        self._items.put((END, error))

    def get(self, timeout: float) -> bytes | tuple | None:
        """The next chunk, (END, error) at the end, or None after `timeout` seconds."""
        try:
            item = self._items.get(timeout=timeout)
        except Empty:
            return None
        if isinstance(item, bytes):
            self._chunks -= 1
        return item

    def _drop(self, size: int) -> None:
        self.dropped += 1
        self.dropped_bytes += size
        now = time.monotonic()
        if self.dropped == 1 or now - self._last_warning >= 1.0:  # one line per second at most
            self._last_warning = now
            log.warning(
                "!!! %s: dropped chunk #%d (%d bytes): the client reads slower than the plugin "
                "writes and the daemon's %d-chunk queue is full; Dify drops chunks silently "
                "(dify-plugin-daemon io_tunnel/endpoint_service.go, stream.Write)",
                self.label,
                self.dropped,
                size,
                self.capacity,
            )
