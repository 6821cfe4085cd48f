"""JSON answers, errors in the Service API's shape, and the chunk limit every response passes through."""

from werkzeug import Response

from endpoint_kit import MAX_CHUNK_BYTES, EndpointError, error_response, json_bytes, json_response, within_chunk_limit


def test_json_is_compact_utf8_and_survives_what_orjson_refuses():
    assert json_response({"a": "é", "b": [1, 2]}).get_data() == '{"a":"é","b":[1,2]}'.encode()
    assert json_bytes({"n": 2**70, 1: "x"}) == b'{"n":1180591620717411303424,"1":"x"}'


def test_an_error_answer_is_code_message_status_with_its_headers():
    response = error_response(EndpointError(429, "too_many", "Slow down.", {"Retry-After": "2"}))
    assert (response.status_code, response.mimetype, response.headers["Retry-After"]) == (429, "application/json", "2")
    assert response.get_json() == {"code": "too_many", "message": "Slow down.", "status": 429}


def test_no_piece_of_a_body_passes_the_chunk_limit_and_no_byte_is_lost():
    big = within_chunk_limit(json_response({"x": "y" * (2 * MAX_CHUNK_BYTES)}))
    pieces = list(big.response)
    assert len(pieces) == 3 and max(map(len, pieces)) <= MAX_CHUNK_BYTES
    assert big.headers["Content-Length"] == str(sum(map(len, pieces)))
    streamed = within_chunk_limit(Response(x for x in ["é" * MAX_CHUNK_BYTES, b"z"]))
    pieces = list(streamed.response)
    assert max(map(len, pieces)) <= MAX_CHUNK_BYTES
    assert b"".join(pieces) == "é".encode() * MAX_CHUNK_BYTES + b"z"


def test_a_small_body_is_left_as_it_is():
    small = json_response({"ok": True})
    assert within_chunk_limit(small).response == [b'{"ok":true}']
