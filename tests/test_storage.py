"""Storage as the daemon keeps it (internal/core/persistence/persistence.go), through the SDK's StorageInvocation."""

import pytest

from devkit.errors import InvocationError
from devkit.storage import MAX_STORAGE_BYTES, Storage
from tests.test_demo_apps import failure, sdk

LOAD_FAILED = "load data failed, please check if the key is correct or you have not set it"
OVER_QUOTA = "save data failed: allocated size is greater than max storage size"


def test_storage_answers_as_the_daemon_does_and_persists_to_a_file(tmp_path):
    path = tmp_path / "storage.json"
    storage = Storage(path)
    assert storage.handle({"opt": "set", "key": "k", "value": b"v".hex()}) == {"data": "ok"}
    assert storage.handle({"opt": "exist", "key": "k"}) == {"data": True, "exist_num": 1}
    assert Storage(path).handle({"opt": "get", "key": "k"}) == {"data": b"v".hex()}
    assert storage.handle({"opt": "del", "key": "k"}) == {"data": "ok", "deleted_num": 0}
    assert Storage(path).handle({"opt": "exist", "key": "k"}) == {"data": False, "exist_num": 0}
    with pytest.raises(InvocationError, match="^load data failed"):
        storage.handle({"opt": "get", "key": "k"})
    with pytest.raises(InvocationError, match="failed on the 'storage_opt' tag"):
        storage.handle({"opt": "explode", "key": "k"})


def test_missing_keys_fail_on_get_and_delete():
    with sdk() as session:
        assert failure(lambda: session.storage.get("missing")) == LOAD_FAILED
        assert failure(lambda: session.storage.delete("missing")) == (
            "delete data failed: stat missing: no such file or directory"
        )
        assert session.storage.exist("missing") is False


@pytest.mark.parametrize(
    "key, message",
    [
        ("../escape", "invalid key: path traversal attempt detected"),
        ("a/../../b", "invalid key: path traversal attempt detected"),
        ("version..2", "invalid key: path traversal attempt detected"),  # any ".." after path.Clean
        ("back\\slash", "invalid key: path traversal attempt detected"),
        ("k" * 257, "key length must be less than 256 characters"),
    ],
)
def test_key_checks(key, message):
    with sdk() as session:
        assert failure(lambda: session.storage.set(key, b"v")) == f"save data failed: {message}"


def test_keys_that_clean_to_the_same_path_are_one_entry():
    with sdk() as session:
        session.storage.set("k" * 256, b"longest key")  # 256 is allowed ("> 256" is refused)
        session.storage.set("dir/./k", b"v")
        assert session.storage.get("/dir//k") == b"v" and session.storage.exist("dir/k")


def test_an_over_quota_set_stores_and_raises():
    from devkit.host import Host

    storage = Storage()
    storage.limit_to({"enabled": True, "size": 1024})  # the manifest's storage.size
    host = Host(None, storage)
    with sdk(host) as session:
        session.storage.set("a", b"x" * 1000)
        session.storage.get("a")  # now cached for 5 minutes
        assert failure(lambda: session.storage.set("b", b"y" * 100)) == OVER_QUOTA
        assert session.storage.get("b") == b"y" * 100  # stored all the same
        assert failure(lambda: session.storage.set("a", b"z" * 1100)) == OVER_QUOTA
        assert session.storage.get("a") == b"x" * 1000  # the cache was not cleared by the failed set
        session.storage.delete("b")  # the unaccounted bytes are subtracted all the same
        session.storage.set("c", b"w" * 100)
    assert storage.accounted == 1000 - 100 + 100


def test_the_quota_is_the_manifests_size_capped_at_100_mib():
    storage = Storage()
    storage.limit_to(None)  # no storage declared: the daemon's own maximum
    assert storage.quota == -1
    storage.handle({"opt": "set", "key": "big", "value": (b"x" * 10).hex()})
    storage.accounted = MAX_STORAGE_BYTES - 5
    with pytest.raises(InvocationError, match=OVER_QUOTA):
        storage.handle({"opt": "set", "key": "more", "value": (b"x" * 10).hex()})


def test_hex_and_request_validation():
    storage = Storage()
    with pytest.raises(InvocationError, match="decode data failed: encoding/hex: invalid byte: U[+]0067 'g'"):
        storage.handle({"opt": "set", "key": "k", "value": "g0"})
    with pytest.raises(InvocationError, match="encoding/hex: odd length hex string"):
        storage.handle({"opt": "set", "key": "k", "value": "abc"})
    with pytest.raises(InvocationError, match="'InvokeStorageRequest.Key' Error:Field validation for 'Key'"):
        storage.handle({"opt": "get", "key": ""})
