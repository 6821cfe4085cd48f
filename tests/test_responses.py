import gevent
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from duck import encoders, invoke, streaming
from duck.responses import negotiate, stream_response


def test_negotiation():
    def accept(value):
        return negotiate(Request(EnvironBuilder(headers={"Accept": value} if value else {}).get_environ()))

    assert accept("") is encoders.SSE and accept("*/*") is encoders.SSE
    assert accept("application/x-ndjson") is encoders.NDJSON
    assert accept("text/event-stream;q=0.5, application/x-ndjson") is encoders.NDJSON


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
