"""Conversation owners: private per `user`, bounded in storage, failing closed, and never an error."""

import json
import uuid

import pytest
import yaml

from devkit.demo_apps import DemoApps
from devkit.host import Host
from devkit.inprocess import answering, new_session
from devkit.storage import Storage
from duck import conversations
from endpoint_kit import EndpointError
from tests.conftest import ROOT

CHAT = "/apps/demo-chat/chat-messages"


@pytest.fixture
def storage():
    backing = Storage()
    with answering(Host(DemoApps(), backing)):
        yield new_session().storage


def start(call, user=None, app="demo-chat"):
    body = {"query": "hi", "response_mode": "blocking", **({"user": user} if user else {})}
    reply = call("POST", f"/apps/{app}/chat-messages", body)
    assert reply.status == 200, reply.body
    return json.loads(reply.body)["conversation_id"]


def continue_(call, conversation_id, user=None, path=CHAT):
    body = {
        "query": "more",
        "response_mode": "blocking",
        "conversation_id": conversation_id,
        **({"user": user} if user else {}),
    }
    return call("POST", path, body)


def test_owner_rules(storage):
    owners = conversations.Owners(storage)
    app, conversation = "app", str(uuid.uuid4())
    with pytest.raises(EndpointError):  # unknown to Duck: refused, whoever asks
        owners.check(app, conversation, None)
    owners.remember(app, conversation, conversations.owner_of("alice"))
    owners.check(app, conversation, "alice")
    for intruder in ("bob", None, ""):
        with pytest.raises(EndpointError) as e:
            owners.check(app, conversation, intruder)
        assert (e.value.status, e.value.code, e.value.message) == (404, "not_found", "Conversation Not Exists.")
    with pytest.raises(EndpointError):  # scoped per app
        owners.check("other-app", conversation, "alice")
    public = str(uuid.uuid4())
    owners.remember(app, public, conversations.owner_of(None))
    for anyone in ("bob", None):
        owners.check(app, public, anyone)


def test_only_the_starting_user_may_continue(call):
    conversation_id = start(call, "alice")
    assert continue_(call, conversation_id, "alice").status == 200
    for other in ("mallory", None):
        reply = continue_(call, conversation_id, other)
        assert (reply.status, json.loads(reply.body)["code"]) == (404, "not_found")


def test_conversations_without_a_user_stay_open_to_every_caller(call):
    conversation_id = start(call)
    assert continue_(call, conversation_id).status == 200
    assert continue_(call, conversation_id, "bob").status == 200


def test_streaming_start_records_the_owner_too(call):
    started = call("POST", CHAT, {"query": "hi", "user": "carol"})
    conversation_id = json.loads(started.chunks[0].split(b"\n\n")[0][6:])["conversation_id"]
    reply = call("POST", "/apps/demo-chat/run", {"query": "x", "conversation_id": conversation_id, "user": "dave"})
    assert reply.status == 404


@pytest.mark.parametrize(
    "respell",
    [
        str.upper,
        lambda c: c.replace("-", ""),
        lambda c: "{" + c + "}",
        lambda c: "urn:uuid:" + c,
        lambda c: "{" + c.upper().replace("-", "") + "}",
    ],
)
def test_respelling_the_id_does_not_open_someone_elses_conversation(call, respell):
    conversation_id = start(call, "alice")
    reply = continue_(call, respell(conversation_id), "mallory")
    assert (reply.status, json.loads(reply.body)["code"]) == (404, "not_found")
    assert continue_(call, respell(conversation_id), "alice").status == 200  # same conversation to Dify


def test_a_full_store_never_turns_a_run_into_an_error(plugin, call, monkeypatch):
    """The old layout filled the 1 MiB quota after about 16,000 conversations, then answered 500."""
    full = Storage(quota=0)  # the daemon's over-quota set: stores, then fails
    monkeypatch.setattr(plugin.host, "storage", full)
    for mode in ("blocking", "streaming"):
        reply = call("POST", CHAT, {"query": "hi", "user": "erin", "response_mode": mode})
        assert reply.status == 200 and b'"conversation_id"' in reply.body
    health = json.loads(call("GET", "/health", auth=False).body)
    assert (health["status"], health["storage"]) == ("degraded", "full")


def test_a_storage_that_cannot_be_reached_fails_closed_without_errors(plugin, call, monkeypatch):
    conversation_id = start(call, "frank")
    monkeypatch.setattr(plugin.host, "storage_permission", False)
    assert call("POST", CHAT, {"query": "hi", "user": "frank", "response_mode": "blocking"}).status == 200
    assert continue_(call, conversation_id, "frank").status == 404  # cannot check the owner: refused
    assert json.loads(call("GET", "/health", auth=False).body)["storage"] == "unavailable"


def test_forgotten_conversations_fail_closed(storage, monkeypatch):
    monkeypatch.setattr(conversations, "OWNER_BUCKETS", 1)
    monkeypatch.setattr(conversations, "OWNER_PER_BUCKET", 2)
    owners = conversations.Owners(storage)
    oldest, *newer = (str(uuid.uuid4()) for _ in range(3))
    for conversation in (oldest, *newer):
        owners.remember("app", conversation, conversations.owner_of("alice"))
    for anyone in ("alice", "mallory", None):  # forgotten: refused to everyone, never handed to another
        with pytest.raises(EndpointError):
            owners.check("app", oldest, anyone)
    owners.check("app", newer[-1], "alice")


def test_storage_is_sized_for_a_million_conversations_within_the_quota(monkeypatch):
    quota = yaml.safe_load((ROOT / "manifest.yaml").read_text())["resource"]["permission"]["storage"]["size"]
    assert conversations.OWNER_CAPACITY >= 1_000_000
    assert quota <= 100 * 1024 * 1024  # the daemon's PERSISTENCE_STORAGE_MAX_SIZE caps it anyway
    buckets = conversations.OWNER_BUCKETS
    monkeypatch.setattr(conversations, "OWNER_BUCKETS", 1)  # one bucket, filled past full
    backing = Storage()
    with answering(Host(DemoApps(), backing)):
        owners = conversations.Owners(new_session().storage)
        for _ in range(2 * conversations.OWNER_PER_BUCKET):
            owners.remember("0a6b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b", str(uuid.uuid4()), conversations.owner_of("x"))
    ((key, value),) = backing.values.items()
    assert len(key) <= 256 and len(json.loads(value)) == conversations.OWNER_PER_BUCKET
    # Every bucket full: about 63 MiB, leaving room in the quota for the plugin's other records.
    assert buckets * len(value) <= 0.7 * quota
