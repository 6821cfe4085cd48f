"""Conversation privacy, through the real dispatch path and the plugin's storage."""

import json

import pytest

from duck import conversations
from duck.errors import DuckError


class DictStorage:
    def __init__(self):
        self.data = {}

    def exist(self, key):
        return key in self.data

    def get(self, key):
        return self.data[key]

    def set(self, key, value):
        self.data[key] = value


def test_owner_rules():
    storage = DictStorage()
    conversations.check_owner(storage, "app", "c1", None)  # unknown conversation: Dify decides
    conversations.record_owner(storage, "app", "c1", "alice")
    conversations.check_owner(storage, "app", "c1", "alice")
    for intruder in ("bob", None, ""):
        with pytest.raises(DuckError) as e:
            conversations.check_owner(storage, "app", "c1", intruder)
        assert (e.value.status, e.value.code, e.value.message) == (404, "not_found", "Conversation Not Exists.")
    conversations.check_owner(storage, "other-app", "c1", "bob")  # scoped per app
    assert not any("alice" in key or b"alice" in value for key, value in storage.data.items())


def test_only_the_starting_user_may_continue(call):
    started = call("POST", "/apps/demo-chat/chat-messages",
                   {"query": "hi", "user": "alice", "response_mode": "blocking"})
    conversation_id = json.loads(started.body)["conversation_id"]
    again = {"query": "more", "conversation_id": conversation_id, "response_mode": "blocking"}
    assert call("POST", "/apps/demo-chat/chat-messages", {**again, "user": "alice"}).status == 200
    for other in ({"user": "mallory"}, {}):
        reply = call("POST", "/apps/demo-chat/chat-messages", {**again, **other})
        assert (reply.status, json.loads(reply.body)["code"]) == (404, "not_found")


def test_streaming_start_records_the_owner_too(call):
    started = call("POST", "/apps/demo-chat/chat-messages", {"query": "hi", "user": "carol"})
    conversation_id = json.loads(started.chunks[0].split(b"\n\n")[0][6:])["conversation_id"]
    reply = call("POST", "/apps/demo-chat/run", {"query": "x", "conversation_id": conversation_id, "user": "dave"})
    assert reply.status == 404
