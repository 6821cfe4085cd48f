import gevent

from duck import encoders


def test_sse_and_ndjson_frames():
    event = {"event": "message", "answer": "é"}
    assert encoders.SSE.encode(event) == 'data: {"event":"message","answer":"é"}\n\n'.encode()
    assert encoders.NDJSON.encode(event) == '{"event":"message","answer":"é"}\n'.encode()


def test_dumps_falls_back_for_what_orjson_refuses():
    assert encoders.dumps({"n": 2**70}) == b'{"n":1180591620717411303424}'


def test_chunks_split_without_losing_bytes():
    data = bytes(range(256)) * 10
    pieces = list(encoders.chunks(data, 1000))
    assert [len(p) for p in pieces] == [1000, 1000, 560] and b"".join(pieces) == data
    assert list(encoders.chunks(b"abc", 3)) == [b"abc"]


def test_keepalive_pings_while_the_app_is_silent():
    def slow():
        yield 1
        gevent.sleep(0.35)
        yield 2

    items = list(encoders.with_keepalive(slow(), interval=0.1))
    assert items[0] == 1 and items[-1] == 2
    assert 2 <= items.count(encoders.PING) <= 4


def test_keepalive_passes_errors_on_after_the_events():
    def broken():
        yield 1
        raise RuntimeError("boom")

    stream = encoders.with_keepalive(broken(), interval=1)
    assert next(stream) == 1
    try:
        next(stream)
    except RuntimeError as e:
        assert str(e) == "boom"
    else:
        raise AssertionError("the error was swallowed")


def test_keepalive_reader_finishes_the_app_stream_when_the_caller_leaves():
    finished = []

    def app():
        for i in range(3):
            gevent.sleep(0.01)
            yield i
        finished.append(True)

    stream = encoders.with_keepalive(app(), interval=1)
    next(stream)
    stream.close()
    gevent.sleep(0.1)
    assert finished == [True]
