"""The daemon's 128-chunk queue: never blocks, drops when full, never drops the end (devkit/body_queue.py)."""

from devkit.body_queue import END, BodyQueue


def test_a_full_queue_drops_chunks_and_keeps_the_end():
    queue = BodyQueue("test")
    for i in range(200):
        queue.put(b"%d" % i)
    queue.close({"message": "late"})
    received = [queue.get(0) for _ in range(129)]
    assert received[:128] == [b"%d" % i for i in range(128)]
    assert received[128] == (END, {"message": "late"})
    assert (queue.dropped, queue.dropped_bytes) == (72, sum(len(b"%d" % i) for i in range(128, 200)))


def test_room_frees_up_as_the_writer_takes_chunks():
    queue = BodyQueue("test", capacity=2)
    queue.put(b"a")
    queue.put(b"b")
    assert queue.get(0) == b"a"
    queue.put(b"c")
    queue.put(b"d")  # dropped: b and c wait
    queue.close()
    assert [queue.get(0) for _ in range(3)] == [b"b", b"c", (END, None)] and queue.dropped == 1


def test_get_times_out_empty():
    assert BodyQueue("test").get(0.01) is None
