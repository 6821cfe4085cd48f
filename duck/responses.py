"""werkzeug Responses for JSON answers, errors and event streams."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from werkzeug import Request, Response

from duck import encoders
from duck.errors import DuckError
from duck.invoke import Result, dify_error, error_event

logger = logging.getLogger("duck")

NDJSON = "application/x-ndjson"
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def json_response(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = encoders.dumps(data)
    if len(body) <= encoders.MAX_CHUNK_BYTES:
        return Response(body, status=status, headers=headers, content_type="application/json")
    # Only a generator body is sent as several protocol chunks (the SDK buffers anything else).
    response = Response(_pieces(body), status=status, headers=headers, content_type="application/json")
    response.headers["Content-Length"] = str(len(body))
    return response


def error_response(error: DuckError) -> Response:
    return json_response(error.to_dict(), error.status, error.headers)


def respond(request: Request, result: Result) -> Response:
    """A blocking answer as JSON; a stream as SSE, or NDJSON when the caller asks for it."""
    if isinstance(result, dict):
        return json_response(result)
    if wants_ndjson(request):
        return stream_response(result, encoders.ndjson, encoders.NDJSON_PING, NDJSON)
    return stream_response(result, encoders.sse, encoders.SSE_PING, "text/event-stream")


def wants_ndjson(request: Request) -> bool:
    best = request.accept_mimetypes.best_match(["text/event-stream", NDJSON], default="text/event-stream")
    return best == NDJSON


def stream_response(
    events: Iterator[dict], encode: Callable[[dict], bytes], ping: bytes, content_type: str
) -> Response:
    return Response(
        _frames(events, encode, ping),
        status=200,
        headers=STREAM_HEADERS,
        content_type=f"{content_type}; charset=utf-8",
    )


def text_stream(pieces: Iterator[str]) -> Response:
    return Response(_guarded_text(pieces), content_type="text/plain; charset=utf-8", headers=STREAM_HEADERS)


def _frames(events: Iterator[dict], encode: Callable[[dict], bytes], ping: bytes) -> Iterator[bytes]:
    try:
        for event in encoders.with_keepalive(events):
            if event is encoders.PING:
                yield ping
                continue
            frame = encode(event)
            if len(frame) <= encoders.MAX_CHUNK_BYTES:
                yield frame
            else:
                yield from encoders.chunks(frame)
    except Exception as e:  # the status is already sent: the error becomes the stream's last event
        yield encode(error_event(dify_error(e, expect=None)))


def _guarded_text(pieces: Iterator[str]) -> Iterator[bytes]:
    try:
        for piece in pieces:
            yield piece.encode()
    except Exception as e:
        yield f"\n[error] {dify_error(e, expect=None).message}\n".encode()


def _pieces(body: bytes) -> Iterator[bytes]:
    yield from encoders.chunks(body)
