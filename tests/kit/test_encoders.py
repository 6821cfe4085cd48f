from endpoint_kit import NDJSON, SSE, render_text


def test_sse_and_ndjson_frames():
    event = {"event": "message", "answer": "é"}
    assert list(SSE.render([event])) == ['data: {"event":"message","answer":"é"}\n\n'.encode()]
    assert list(NDJSON.render([event])) == ['{"event":"message","answer":"é"}\n'.encode()]


def test_a_failure_becomes_the_last_event():
    def events():
        yield {"event": "message"}
        raise Exception("fetch app failed: data is nil")  # the daemon's text for an unknown app

    assert list(SSE.render(events()))[-1] == (
        b'data: {"event":"error","code":"app_not_found","message":"App not found.","status":404}\n\n'
    )


def test_a_failure_that_is_not_difys_answer_is_not_shown():
    def events():
        raise Exception("something secret went wrong")
        yield

    [frame] = NDJSON.render(events())
    assert b"secret" not in frame and b'"code":"internal_server_error"' in frame


def test_an_event_orjson_refuses_is_still_written():
    assert list(SSE.render([{"n": 2**70}])) == [b'data: {"n":1180591620717411303424}\n\n']


def test_text_writes_answers_marks_a_replacement_and_ends_with_an_error():
    events = [
        {"event": "message", "answer": "bad"},
        {"event": "agent_message", "answer": "!"},
        {"event": "message_replace", "answer": "Sorry."},
        {"event": "message_end", "metadata": {}},
        {"event": "error", "status": 400, "code": "x", "message": "model failed"},
    ]
    assert b"".join(render_text(events)) == b"bad!\n[replaced] Sorry.\n[error] model failed\n"
