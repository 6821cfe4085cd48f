"""/health: no key, no settings, and it says when storage stops taking writes."""

import json

import pytest

from tests.conftest import API_KEY


@pytest.mark.parametrize("settings", [{}, {"api_key": ""}, None, {"api_key": API_KEY}])
def test_health_answers_without_key_or_settings(call, settings):
    reply = call("GET", "/health", auth=False, settings=settings)
    assert reply.status == 200
    body = json.loads(reply.body)
    assert (body["status"], body["name"], body["version"], body["storage"]) == ("ok", "duck", "0.1.0", "ok")
    assert API_KEY.encode() not in reply.body


@pytest.mark.parametrize("path", ["/health", "/openapi.json"])
def test_public_routes_ignore_credentials_while_a_key_guards_the_rest(call, path):
    """A key is configured (the default settings): the public routes answer without it, or with a wrong one."""
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}):
        assert call("GET", path, auth=False, headers=headers).status == 200
    assert call("GET", "/apps/demo-chat/parameters", auth=False).status == 401


def test_health_leaves_no_probe_behind(call, plugin):
    before = dict(plugin.host.storage.values)
    call("GET", "/health", auth=False)
    assert plugin.host.storage.values == before


def test_health_on_a_full_store_never_moves_the_quota_account(call, plugin, monkeypatch):
    """A probe written and deleted again lowered the daemon's account by 1 KiB a call when full."""
    from devkit.storage import Storage

    full = Storage(quota=0)
    monkeypatch.setattr(plugin.host, "storage", full)
    call("POST", "/apps/demo-chat/chat-messages", {"query": "hi", "response_mode": "blocking"})  # refused
    accounted, values = full.accounted, dict(full.values)
    for _ in range(3):
        assert json.loads(call("GET", "/health", auth=False).body)["storage"] == "full"
    assert (full.accounted, full.values) == (accounted, values)
