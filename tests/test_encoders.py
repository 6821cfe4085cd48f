from duck import encoders


def test_sse_and_ndjson_frames():
    event = {"event": "message", "answer": "é"}
    assert list(encoders.SSE.render([event])) == ['data: {"event":"message","answer":"é"}\n\n'.encode()]
    assert list(encoders.NDJSON.render([event])) == ['{"event":"message","answer":"é"}\n'.encode()]


def test_a_failure_becomes_the_last_event():
    def events():
        yield {"event": "message"}
        raise Exception("app not found")

    assert list(encoders.SSE.render(events()))[-1] == (
        b'data: {"event":"error","code":"app_not_found","message":"App not found.","status":404}\n\n'
    )


def test_dumps_falls_back_for_what_orjson_refuses():
    assert encoders.dumps({"n": 2**70}) == b'{"n":1180591620717411303424}'
    assert list(encoders.SSE.render([{"n": 2**70}])) == [b'data: {"n":1180591620717411303424}\n\n']


def test_text_writes_answers_marks_a_replacement_and_ends_with_an_error():
    events = [
        {"event": "message", "answer": "bad"},
        {"event": "agent_message", "answer": "!"},
        {"event": "message_replace", "answer": "Sorry."},
        {"event": "message_end", "metadata": {}},
        {"event": "error", "status": 400, "code": "x", "message": "model failed"},
    ]
    assert b"".join(encoders.Text.render(events)) == b"bad!\n[replaced] Sorry.\n[error] model failed\n"
