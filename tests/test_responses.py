import json

import gevent
from werkzeug import Response
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from duck import encoders, invoke, streaming
from duck.responses import error_response, json_response, negotiate, stream_response, within_chunk_limit
from endpoint_kit import EndpointError


def test_negotiation():
    def accept(value):
        return negotiate(Request(EnvironBuilder(headers={"Accept": value} if value else {}).get_environ()))

    assert accept("") is encoders.SSE and accept("*/*") is encoders.SSE
    assert accept("application/x-ndjson") is encoders.NDJSON
    assert accept("text/event-stream;q=0.5, application/x-ndjson") is encoders.NDJSON


def test_json_and_error_responses():
    response = error_response(EndpointError(418, "teapot", "short and stout", {"X-Why": "because"}))
    assert response.status_code == 418 and response.headers["X-Why"] == "because"
    assert json.loads(response.get_data()) == {"code": "teapot", "message": "short and stout", "status": 418}


def test_no_piece_of_any_response_passes_the_chunk_limit():
    big = within_chunk_limit(json_response({"x": "y" * (2 * streaming.MAX_CHUNK_BYTES)}))
    pieces = list(big.response)
    assert len(pieces) == 3 and int(big.headers["Content-Length"]) == sum(map(len, pieces))
    streamed = within_chunk_limit(Response(x for x in ["é" * streaming.MAX_CHUNK_BYTES, b"z"]))
    pieces = list(streamed.response)
    assert (
        max(map(len, pieces)) <= streaming.MAX_CHUNK_BYTES
        and b"".join(pieces) == "é".encode() * (streaming.MAX_CHUNK_BYTES) + b"z"
    )
    small = json_response({"ok": True})
    assert within_chunk_limit(small).response == [b'{"ok":true}']


def test_a_stream_whose_app_is_still_silent_starts_with_a_ping():
    def late():
        gevent.sleep(0.1)
        yield {"event": "message", "answer": "a", "conversation_id": "c"}

    source = streaming.Source(late())
    stream = invoke.Stream(source, source.first(0.01))
    response = stream_response(stream, encoders.SSE.render, "text/event-stream", encoders.SSE.ping)
    chunks = list(response.response)
    assert response.status_code == 200 and chunks[0] == b"event: ping\n\n"
    assert chunks[1].startswith(b'data: {"event":"message"')
