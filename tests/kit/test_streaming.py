"""Streamed responses: the body's bounded first wait, coalescing, pacing, pings, errors; the response builders."""

import time

import gevent
import orjson
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from endpoint_kit import NDJSON, AppStream, EndpointError, app_response, ndjson_response, sse_response, text_response
from endpoint_kit import _streaming as streaming


def events(count, gap=0.0, fail=None):
    """An app's events; `gap` seconds between them (0: all at once); `fail` raises after the events."""
    for i in range(count):
        if gap:
            gevent.sleep(gap)
        yield {"event": "message", "answer": f"t{i} "}
    if fail:
        raise fail


def answers(chunks):
    frames = b"".join(chunks).split(b"\n")
    return [orjson.loads(f).get("answer") for f in frames if f and not f.startswith(b'{"event":"ping"')]


def body(app_events, **kwargs):
    return list(streaming.stream_body(app_events, NDJSON.render, NDJSON.ping, **kwargs))


def test_events_already_waiting_travel_in_one_chunk():
    chunks = body(events(500))
    assert len(chunks) == 1 and answers(chunks) == [f"t{i} " for i in range(500)]


def test_the_first_event_goes_at_once_and_later_ones_are_joined_under_the_pace():
    started = time.monotonic()
    chunks = body(events(60, gap=0.005), interval=0.1)  # 200 events a second for 0.3 s (more on a busy machine)
    elapsed = time.monotonic() - started
    assert answers(chunks[:1]) == ["t0 "]  # nothing else was waiting: the first event is alone
    # Every later chunk waited for the interval since the one before: a bound on any machine.
    assert 2 <= len(chunks) <= 1 + elapsed / 0.1 + 1
    assert answers(chunks) == [f"t{i} " for i in range(60)]


def test_an_event_after_a_quiet_gap_goes_at_once():
    chunks = body(events(3, gap=0.3), interval=0.05)
    assert [answers([c]) for c in chunks] == [["t0 "], ["t1 "], ["t2 "]]


def test_a_full_chunk_does_not_wait_for_the_pace(monkeypatch):
    monkeypatch.setattr(streaming, "MAX_CHUNK_BYTES", 1000)
    chunks = body(events(200), interval=3600)  # an hour between chunks, unless they are full
    assert len(chunks) > 5 and all(len(c) < 1000 + 50 for c in chunks[:-1])
    assert answers(chunks) == [f"t{i} " for i in range(200)]


def test_pings_while_the_app_is_silent():
    def slow():
        yield {"event": "message", "answer": "a"}
        gevent.sleep(0.35)
        yield {"event": "message", "answer": "b"}

    started = time.monotonic()
    chunks = body(slow(), keepalive=0.1)
    assert 2 <= chunks.count(NDJSON.ping) <= (time.monotonic() - started) / 0.1
    assert answers(chunks) == ["a", "b"]


def test_an_opening_starts_the_response_before_any_event():
    chunks = body(events(1), opening=b"")
    assert chunks[0] == b"" and answers(chunks[1:]) == ["t0 "]


def test_a_failure_after_events_flushes_them_then_ends_with_the_error():
    chunks = body(events(3, fail=Exception("read app failed: http: read on closed response body")))
    frames = [orjson.loads(f) for f in b"".join(chunks).splitlines()]
    assert [f.get("answer") for f in frames[:3]] == ["t0 ", "t1 ", "t2 "]
    assert frames[-1]["event"] == "error" and frames[-1]["code"] == "app_stream_timeout"
    assert "240 s" in frames[-1]["message"]


def test_a_renderer_that_breaks_ends_the_stream_with_what_it_wrote():
    def render(app_events):
        yield b"a"
        raise RuntimeError("a bug")

    assert list(streaming.stream_body(events(1), render)) == [b"a"]


def test_first_waits_a_bounded_time_and_raises_the_apps_failure():
    def late():
        gevent.sleep(0.3)
        yield {"event": "message"}

    source = streaming.Source(late())
    assert source.first(0.05) is None  # still silent
    assert source.first(5) == {"event": "message"}
    assert list(source) == [{"event": "message"}]  # the first event is handed out again

    def broken():
        raise EndpointError(400, "invalid_param", "x is required in input form")
        yield

    with pytest.raises(EndpointError, match="x is required"):
        streaming.Source(broken()).first(5)
    assert streaming.Source(iter([])).first(5) is None


def test_the_app_is_read_to_the_end_when_the_caller_leaves():
    finished = []

    def app():
        yield from events(3, gap=0.01)
        finished.append(True)

    stream = streaming.stream_body(app(), NDJSON.render)
    next(stream)
    stream.close()
    gevent.sleep(0.2)
    assert finished == [True]


def test_responses_name_their_format_and_never_buffer():
    events = [{"event": "message", "answer": "a", "conversation_id": "c"}]
    for response, content_type, body in [
        (
            sse_response(events),
            "text/event-stream",
            b'data: {"event":"message","answer":"a","conversation_id":"c"}\n\n',
        ),
        (ndjson_response(events), "application/x-ndjson", b'{"event":"message","answer":"a","conversation_id":"c"}\n'),
        (text_response(events), "text/plain", b"a"),
    ]:
        assert response.status_code == 200 and response.mimetype == content_type
        assert response.headers["Cache-Control"] == "no-cache" and response.headers["X-Accel-Buffering"] == "no"
        assert response.is_streamed and b"".join(response.response) == body


def test_app_response_is_json_when_blocking_and_negotiates_a_stream():
    def answer(accept, result):
        request = Request(EnvironBuilder(headers={"Accept": accept} if accept else {}).get_environ())
        return app_response(request, result)

    blocking = answer("", {"answer": "é"})
    assert blocking.mimetype == "application/json" and blocking.get_data() == '{"answer":"é"}'.encode()
    assert answer("", []).mimetype == "text/event-stream" and answer("*/*", []).mimetype == "text/event-stream"
    assert answer("application/x-ndjson", []).mimetype == "application/x-ndjson"
    assert answer("text/event-stream;q=0.5, application/x-ndjson", []).mimetype == "application/x-ndjson"


def test_a_stream_whose_app_is_still_silent_starts_with_a_ping():
    def late():
        gevent.sleep(0.1)
        yield {"event": "message", "answer": "a", "conversation_id": "c"}

    source = streaming.Source(late())
    response = sse_response(AppStream(source, source.first(0.01)))
    chunks = list(response.response)
    assert response.status_code == 200 and chunks[0] == b"event: ping\n\n"
    assert chunks[1].startswith(b'data: {"event":"message"')
    silent = streaming.Source(late())
    assert next(iter(text_response(AppStream(silent, None)).response)) == b""  # plain text has no ping
