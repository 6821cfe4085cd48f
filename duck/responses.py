"""werkzeug Responses for an app's answers: JSON when blocking, event streams otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from werkzeug import Request, Response

from duck import encoders, streaming
from duck.invoke import Result, Stream
from endpoint_kit import json_response

STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def respond(request: Request, result: Result) -> Response:
    """A blocking answer as JSON; a stream as SSE, or NDJSON when the caller asks for it."""
    if isinstance(result, dict):
        return json_response(result)
    framing = negotiate(request)
    return stream_response(result, framing.render, framing.content_type, framing.ping)


def negotiate(request: Request) -> encoders.Framing:
    """NDJSON when the caller prefers it in Accept; SSE otherwise."""
    offered = [encoders.SSE.content_type, encoders.NDJSON.content_type]
    best = request.accept_mimetypes.best_match(offered, default=encoders.SSE.content_type)
    return encoders.NDJSON if best == encoders.NDJSON.content_type else encoders.SSE


def stream_response(
    stream: Stream, render: Callable[[Iterable[dict]], Iterator[bytes]], content_type: str, ping: bytes = b""
) -> Response:
    """A streamed 200 for any route: `render` writes the app's events as the route's bytes, and
    duck/streaming.py decides when they are sent (coalesced, paced, kept alive with `ping`).

    When the app was still silent after the handler's bounded wait, the response starts at once with
    the ping (or an empty chunk for formats without one) so that the caller sees the status.
    """
    opening = None if stream.first is not None else ping
    return Response(
        streaming.body(stream, render, ping, opening),
        status=200,
        headers=STREAM_HEADERS,
        content_type=f"{content_type}; charset=utf-8",
    )


def text_stream(stream: Stream) -> Response:
    """A chat answer as plain text (the `/duck` route)."""
    return stream_response(stream, encoders.Text.render, encoders.Text.content_type)
