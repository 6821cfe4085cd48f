"""werkzeug Responses for JSON answers and errors, and the chunk limit every response passes through."""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Iterator

import orjson
from werkzeug import Response

from endpoint_kit._errors import EndpointError

# The SDK sends one protocol message per piece a generator yields, and a whole non-generator body as
# one message; a message over about 2.5 MiB of body makes the daemon kill the plugin (its stdout line
# limit is 5 MiB and the body travels hex- or base64-encoded in JSON). 1 MiB pieces stay well below.
MAX_CHUNK_BYTES = 1024 * 1024


def json_bytes(value: object) -> bytes:
    """Compact UTF-8 JSON, as Dify writes its events (orjson), with a stdlib fallback."""
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits, non-string keys
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def json_response(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(data), status=status, headers=headers, content_type="application/json")


def error_response(error: EndpointError) -> Response:
    """An error in the Dify Service API's shape: {"code", "message", "status"}."""
    return json_response(error.to_dict(), error.status, error.headers)


def split(pieces: Iterable[bytes | str], size: int = MAX_CHUNK_BYTES) -> Iterator[bytes]:
    """The same bytes in pieces of at most `size` (the guarantee every response passes through)."""
    for piece in pieces:
        data = piece.encode() if isinstance(piece, str) else piece
        if len(data) <= size:
            yield data
            continue
        view = memoryview(data)
        for start in range(0, len(data), size):
            yield bytes(view[start : start + size])


def within_chunk_limit(response: Response) -> Response:
    """The response with no piece of its body over MAX_CHUNK_BYTES (the handler wrapper applies it)."""
    if isinstance(response.response, Generator):
        response.response = split(response.response)
    elif not response.is_streamed and response.content_length and response.content_length > MAX_CHUNK_BYTES:
        body = response.get_data()
        response.response = split([body])
        response.headers["Content-Length"] = str(len(body))
    return response
