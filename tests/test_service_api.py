"""The rest of the Service API: conversations Duck started, /info, modes kept, and 501 where a plugin cannot serve."""

import json

import httpx
import pytest

from duck import service_api


def body(reply):
    return json.loads(reply.body) if reply.body else None


def test_conversations_started_for_a_user_are_listed_newest_first_and_can_be_forgotten(call):
    user = "list-user"
    started = []
    for query in ("First question", "Second   question, which is long enough to be cut short somewhere"):
        reply = call(
            "POST", "/apps/demo-chat/chat-messages", {"query": query, "user": user, "response_mode": "blocking"}
        )
        started.append(body(reply)["conversation_id"])
    # Continuing a conversation does not list it twice.
    call(
        "POST",
        "/apps/demo-chat/chat-messages",
        {"query": "More", "user": user, "conversation_id": started[0], "response_mode": "blocking"},
    )
    listed = body(call("GET", f"/apps/demo-chat/conversations?user={user}"))
    assert [c["id"] for c in listed["data"]] == started[::-1] and listed["has_more"] is False
    assert listed["data"][1]["name"] == "First question" and len(listed["data"][0]["name"]) == 40
    assert all(isinstance(c["created_at"], int) for c in listed["data"])
    page = body(call("GET", f"/apps/demo-chat/conversations?user={user}&limit=1"))
    assert [c["id"] for c in page["data"]] == [started[1]] and page["has_more"] is True
    after = body(call("GET", f"/apps/demo-chat/conversations?user={user}&last_id={started[1]}"))
    assert [c["id"] for c in after["data"]] == [started[0]]
    # Somebody else sees nothing and cannot delete.
    assert body(call("GET", "/apps/demo-chat/conversations?user=eve"))["data"] == []
    assert call("DELETE", f"/apps/demo-chat/conversations/{started[0]}", {"user": "eve"}).status == 404
    # The owner forgets one (user in the body, as Dify takes it, or in the query); it cannot be continued.
    assert call("DELETE", f"/apps/demo-chat/conversations/{started[0]}", {"user": user}).status == 204
    assert call("DELETE", f"/apps/demo-chat/conversations/{started[1]}?user={user}").status == 204
    assert body(call("GET", f"/apps/demo-chat/conversations?user={user}"))["data"] == []
    again = call(
        "POST",
        "/apps/demo-chat/chat-messages",
        {"query": "x", "user": user, "conversation_id": started[0], "response_mode": "blocking"},
    )
    assert again.status == 404
    assert call("DELETE", f"/apps/demo-chat/conversations/{started[0]}", {"user": user}).status == 404


@pytest.mark.parametrize("query", ["", "?user=", "?user=a&limit=0", "?user=a&limit=101", "?user=a&limit=x"])
def test_conversation_list_needs_a_user_and_a_sane_limit(call, query):
    reply = call("GET", f"/apps/demo-chat/conversations{query}")
    assert reply.status == 400 and body(reply)["code"] == "invalid_param"


def test_bad_deletes(call):
    assert call("DELETE", "/apps/demo-chat/conversations/c1").status == 400  # no user
    reply = call("DELETE", "/apps/demo-chat/conversations/c1", body=b"{", headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert (
        call("DELETE", "/apps/demo-chat/conversations/c1", {"user": "x"}, headers={"Authorization": "Bearer no"}).status
        == 401
    )


def test_info_says_the_mode_once_an_answer_showed_it(call):
    assert body(call("GET", "/apps/never-called/info"))["mode"] is None  # nothing learnt yet
    call("POST", "/apps/demo-chatflow/chat-messages", {"query": "hi"})
    info = body(call("GET", "/apps/demo-chatflow/info"))
    assert info["mode"] == "advanced-chat" and info["tags"] == [] and info["mode_learnt_at"] > 0
    call("POST", "/apps/demo-agent/chat-messages", {"query": "hi"})
    assert body(call("GET", "/apps/demo-agent/info"))["mode"] == "agent-chat"
    call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "t"}, "response_mode": "blocking"})
    assert body(call("GET", "/apps/demo-workflow/info"))["mode"] == "workflow"


def test_a_known_mode_refuses_the_wrong_route_before_the_app_runs(call, plugin, monkeypatch):
    call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "t"}, "response_mode": "blocking"})
    runs = []
    invoke = plugin.host.apps.invoke
    monkeypatch.setattr(plugin.host.apps, "invoke", lambda request: runs.append(request) or invoke(request))
    refused = call("POST", "/apps/demo-workflow/chat-messages", {"query": "x", "inputs": {"text": "t"}})
    assert refused.status == 400 and body(refused)["code"] == "not_chat_app"
    assert runs == []  # refused from what Duck had learnt, without running the app
    call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "t"}})
    assert len(runs) == 1
    call("POST", "/apps/demo-chat/chat-messages", {"query": "x", "response_mode": "blocking"})
    assert body(call("POST", "/apps/demo-chat/workflows/run", {"inputs": {}}))["code"] == "not_workflow_app"


def test_routes_a_plugin_cannot_serve_say_why(call):
    for (path, method), reason in service_api.NOT_SUPPORTED.items():
        concrete = "/apps/demo-chat" + path.replace("<message_id>", "m1").replace("<task_id>", "t1").replace(
            "<conversation_id>", "c1"
        ).replace("<workflow_run_id>", "r1")
        reply = call(method, concrete, {"user": "u"} if method == "POST" else None)
        assert reply.status == 501 and body(reply)["code"] == "not_supported", concrete
        assert reason in body(reply)["message"]
        assert call(method, concrete, headers={"Authorization": "Bearer wrong"}).status == 401


def test_over_the_real_protocol(runtime):
    with httpx.Client(base_url=runtime.base_url, headers=runtime.headers, timeout=30) as client:
        first = client.post(
            "/apps/demo-chat/chat-messages", json={"query": "Runtime", "user": "rt", "response_mode": "blocking"}
        ).json()
        listed = client.get("/apps/demo-chat/conversations", params={"user": "rt"}).json()
        assert listed["data"][0]["id"] == first["conversation_id"]
        assert (
            client.request(
                "DELETE", f"/apps/demo-chat/conversations/{first['conversation_id']}", json={"user": "rt"}
            ).status_code
            == 204
        )
        assert client.get("/apps/demo-chat/info").json()["mode"] == "chat"
        stop = client.post("/apps/demo-chat/chat-messages/t1/stop", json={"user": "rt"})
        assert stop.status_code == 501 and "cancel" in stop.json()["message"]
        assert client.get("/apps/demo-chat/conversations").status_code == 400


def test_conversation_ids_in_any_uuid_spelling_page_and_delete_as_dify_does(call):
    """Dify's ids are Postgres uuids: `last_id` and the deleted id match in any spelling; an unknown
    `last_id` is Dify's 404 (services/conversation_service.py pagination_by_last_id)."""
    user = "spelling-user"
    started = [
        body(call("POST", "/apps/demo-chat/chat-messages", {"query": q, "user": user, "response_mode": "blocking"}))[
            "conversation_id"
        ]
        for q in ("one", "two")
    ]
    after = body(call("GET", f"/apps/demo-chat/conversations?user={user}&last_id={started[1].upper()}"))
    assert [c["id"] for c in after["data"]] == [started[0]]
    unknown = call("GET", f"/apps/demo-chat/conversations?user={user}&last_id=00000000-0000-4000-8000-000000000000")
    assert unknown.status == 404 and body(unknown)["message"] == "Last Conversation Not Exists."
    assert call("DELETE", f"/apps/demo-chat/conversations/{started[0].upper()}", {"user": user}).status == 204
    assert [c["id"] for c in body(call("GET", f"/apps/demo-chat/conversations?user={user}"))["data"]] == [started[1]]
