import pytest

from devkit.demo_apps import DemoApps
from devkit.host import Host
from devkit.inprocess import answering, new_session
from devkit.storage import Storage
from endpoint_kit import BoundedMap


@pytest.fixture
def backing():
    return Storage()


@pytest.fixture
def storage(backing):
    """The SDK's real `session.storage`, answered by the dev kit's storage as the daemon would."""
    with answering(Host(DemoApps(), backing)):
        yield new_session().storage


class FullStorage:
    """The daemon's over-quota `set`: the value is stored, then the call fails (persistence.go)."""

    def __init__(self):
        self.values: dict[str, bytes] = {}

    def set(self, key, value):
        self.values[key] = value
        raise Exception("allocated size is greater than max storage size")

    def get(self, key):
        if key not in self.values:
            raise Exception("load data failed")
        return self.values[key]


def test_put_get_delete_round_trip(storage):
    box = BoundedMap(storage, "owners")
    assert box.get("a") is None
    assert box.put("a", {"user": "ana"}) is True
    assert box.get("a") == {"user": "ana"}
    assert box.delete("a") is True
    assert box.get("a") is None
    assert box.delete("never-there") is True


def test_keys_and_entries_are_bounded_whatever_is_written(storage, backing):
    box = BoundedMap(storage, "owners", buckets=4, per_bucket=3)
    for i in range(200):
        assert box.put(f"conversation-{i}", i)
    assert len(backing.values) == 4
    kept = [i for i in range(200) if box.get(f"conversation-{i}") is not None]
    assert len(kept) == 12
    assert set(kept) <= set(range(200 - 4 * 3 * 8, 200))  # the young survive, the oldest went first
    assert all(len(k) <= 256 and ".." not in k and "/" not in k for k in backing.values)


def test_rewriting_an_entry_makes_it_young_again(storage):
    box = BoundedMap(storage, "owners", buckets=1, per_bucket=2)
    box.put("a", 1)
    box.put("b", 2)
    box.put("a", 3)
    box.put("c", 4)
    assert (box.get("a"), box.get("b"), box.get("c")) == (3, None, 4)


def test_expired_entries_count_as_missing(storage, monkeypatch):
    box = BoundedMap(storage, "deliveries", ttl_seconds=60)
    box.put("d1", "first answer")
    now = __import__("time").time()
    monkeypatch.setattr("endpoint_kit._store.time.time", lambda: now + 61)
    assert box.get("d1") is None
    assert box.claim("d1", "again") is None


def test_claim_grants_the_key_once(storage):
    box = BoundedMap(storage, "deliveries")
    assert box.claim("d1", {"state": "running"}) is None
    assert box.claim("d1", {"state": "running"}) == {"state": "running"}
    box.put("d1", {"state": "done", "answer": 42})
    assert box.claim("d1", {"state": "running"}) == {"state": "done", "answer": 42}


def test_a_full_store_refuses_quietly_and_never_raises(caplog):
    box = BoundedMap(FullStorage(), "owners")
    assert box.put("a", 1) is False
    assert box.delete("a") is False
    assert box.claim("b", 1) is None  # cannot remember: the caller runs rather than never
    assert "storage write refused" in caplog.text


def test_unreadable_buckets_start_afresh(storage):
    box = BoundedMap(storage, "owners", buckets=1)
    storage.set("owners-0", b"not json")
    assert box.get("a") is None
    storage.set("owners-0", b'{"x": "not an entry", "y": [1]}')
    assert box.get("a") is None
    assert box.put("a", 1) and box.get("a") == 1


def test_namespace_must_be_a_plain_name(storage):
    with pytest.raises(ValueError):
        BoundedMap(storage, "../etc")


class RacingStorage(FullStorage):
    """Another process writes the same bucket, from a stale read, right after our first write."""

    def __init__(self, rival):
        super().__init__()
        self.rival = rival

    def set(self, key, value):
        self.values[key] = value
        if self.rival:
            rival, self.rival = self.rival, None
            rival(self, key)


def test_a_write_lost_to_a_concurrent_writer_is_written_again():
    def rival(storage, key):  # it read the bucket before our write, then wrote its own entry into it
        storage.values[key] = b'{"' + b"f" * 24 + b'": ["theirs", 1]}'

    storage = RacingStorage(rival)
    box = BoundedMap(storage, "owners", buckets=1)
    assert box.put("mine", "ours") is True
    assert box.get("mine") == "ours"
    assert b'"theirs"' in storage.values["owners-0"]  # their entry survived too
