"""Wire encodings for app events: SSE frames, NDJSON lines, plain text, JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from duck.dify_errors import as_duck_error, error_event, from_error_event


def dumps(value: object) -> bytes:
    """Compact UTF-8 JSON, as Dify writes its events (orjson), with a stdlib fallback."""
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits, non-string keys
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


@dataclass(frozen=True)
class Framing:
    """How one event is written: prefix + JSON + suffix; `ping` keeps an idle stream alive."""

    content_type: str
    prefix: bytes
    suffix: bytes
    ping: bytes

    def encode(self, event: dict) -> bytes:
        return self.prefix + dumps(event) + self.suffix

    def render(self, events: Iterable[dict]) -> Iterator[bytes]:
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
            yield self.encode(error_event(as_duck_error(e)))


SSE = Framing("text/event-stream", b"data: ", b"\n\n", b"event: ping\n\n")
NDJSON = Framing("application/x-ndjson", b"", b"\n", b'{"event":"ping"}\n')


class Text:
    """A chat answer as plain text: what the `/duck` route sends. Plain text has no ping."""

    content_type = "text/plain"
    ping = b""

    @staticmethod
    def render(events: Iterable[dict]) -> Iterator[bytes]:
        try:
            for event in events:
                kind = event.get("event")
                if kind in ("message", "agent_message"):
                    yield str(event.get("answer") or "").encode()
                elif kind == "message_replace":  # sent text cannot be taken back: the replacement follows
                    yield f"\n[replaced] {event.get('answer') or ''}".encode()
                elif kind == "error":
                    raise from_error_event(event)
        except Exception as e:
            yield f"\n[error] {as_duck_error(e).message}\n".encode()
