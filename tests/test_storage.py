import pytest

from devkit.errors import InvocationError
from devkit.storage import Storage


def test_storage_answers_as_the_daemon_does_and_persists_to_a_file(tmp_path):
    path = tmp_path / "storage.json"
    storage = Storage(path)
    assert storage.handle({"opt": "set", "key": "k", "value": b"v".hex()}) == {"data": "ok"}
    assert storage.handle({"opt": "exist", "key": "k"}) == {"data": True}
    assert Storage(path).handle({"opt": "get", "key": "k"}) == {"data": b"v".hex()}
    assert storage.handle({"opt": "del", "key": "k"}) == {"data": "ok"}
    assert Storage(path).handle({"opt": "exist", "key": "k"}) == {"data": False}
    with pytest.raises(InvocationError):
        storage.handle({"opt": "get", "key": "k"})
    with pytest.raises(InvocationError):
        storage.handle({"opt": "explode", "key": "k"})
