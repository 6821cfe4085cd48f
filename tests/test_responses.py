import json

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from duck import encoders
from duck.errors import DuckError
from duck.responses import _frames, error_response, json_response, negotiate


def test_frames_fall_back_for_values_orjson_refuses_and_split_large_ones():
    events = [{"n": 2**70}, {"big": "x" * (3 * encoders.MAX_CHUNK_BYTES)}]
    chunks = list(_frames(iter(events), encoders.SSE))
    assert chunks[0] == b'data: {"n":1180591620717411303424}\n\n'
    assert all(len(c) <= encoders.MAX_CHUNK_BYTES for c in chunks) and len(chunks) == 5
    assert json.loads(b"".join(chunks[1:])[6:])["big"] == "x" * (3 * encoders.MAX_CHUNK_BYTES)


def test_an_exception_mid_stream_becomes_the_last_event():
    def events():
        yield {"event": "message"}
        raise Exception("app not found")

    chunks = list(_frames(events(), encoders.NDJSON))
    assert [json.loads(c) for c in chunks] == [
        {"event": "message"}, {"event": "error", "code": "app_not_found", "message": "App not found.", "status": 404}]


def test_negotiation():
    def accept(value):
        return negotiate(Request(EnvironBuilder(headers={"Accept": value} if value else {}).get_environ()))

    assert accept("") is encoders.SSE and accept("*/*") is encoders.SSE
    assert accept("application/x-ndjson") is encoders.NDJSON
    assert accept("text/event-stream;q=0.5, application/x-ndjson") is encoders.NDJSON


def test_json_and_error_responses():
    response = error_response(DuckError(418, "teapot", "short and stout", {"X-Why": "because"}))
    assert response.status_code == 418 and response.headers["X-Why"] == "because"
    assert json.loads(response.get_data()) == {"code": "teapot", "message": "short and stout", "status": 418}
    big = json_response({"x": "y" * (2 * encoders.MAX_CHUNK_BYTES)})
    pieces = list(big.response)
    assert len(pieces) == 3 and int(big.headers["Content-Length"]) == sum(map(len, pieces))
