"""Wire encodings for an app's events: SSE frames, NDJSON lines, plain text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from endpoint_kit._dify_errors import as_endpoint_error, error_event, from_error_event
from endpoint_kit._responses import json_bytes

Event = dict[str, Any]


@dataclass(frozen=True)
class Framing:
    """How one event is written: prefix + JSON + suffix; `ping` keeps an idle stream alive."""

    content_type: str
    prefix: bytes
    suffix: bytes
    ping: bytes

    def encode(self, event: object) -> bytes:
        return self.prefix + json_bytes(event) + self.suffix

    def render(self, events: Iterable[Event]) -> Iterator[bytes]:
        """Each event as it is (Dify's own error events included); a failure as a last error event."""
        # The hot loop of every stream: names bound locally, orjson called directly.
        prefix, suffix, fast_dumps = self.prefix, self.suffix, orjson.dumps
        try:
            for event in events:
                try:
                    yield prefix + fast_dumps(event) + suffix
                except TypeError:
                    yield self.encode(event)
        except Exception as e:  # the status is already sent: the error becomes the stream's last event
            yield self.encode(error_event(as_endpoint_error(e)))


SSE = Framing("text/event-stream", b"data: ", b"\n\n", b"event: ping\n\n")
NDJSON = Framing("application/x-ndjson", b"", b"\n", b'{"event":"ping"}\n')


def render_text(events: Iterable[Event]) -> Iterator[bytes]:
    """A chat answer as plain text: its `answer` pieces; a failure as a last `[error] <message>` line.

    Plain text cannot take sent text back, so output moderation's replacement follows as
    `[replaced] <text>`. Plain text has no ping.
    """
    try:
        for event in events:
            kind = event.get("event")
            if kind in ("message", "agent_message"):
                yield str(event.get("answer") or "").encode()
            elif kind == "message_replace":
                yield f"\n[replaced] {event.get('answer') or ''}".encode()
            elif kind == "error":
                raise from_error_event(event)
    except Exception as e:
        yield f"\n[error] {as_endpoint_error(e).message}\n".encode()
