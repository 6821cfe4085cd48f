"""The real-Dify backend: invocations forwarded to a Service API (a small stand-in on loopback)."""

import json

import httpx
import pytest
from gevent.pywsgi import WSGIServer
from werkzeug import Request, Response

from devkit.harness import Runtime

APP_KEYS = {"chat-app": "app-chat-key", "flow-app": "app-flow-key", "note-app": "app-note-key"}
MODES = {"app-chat-key": "chat", "app-flow-key": "workflow", "app-note-key": "completion"}
seen: list[dict] = []


@Request.application
def service_api(request: Request) -> Response:
    """Just enough of Dify's Service API: /info, /parameters, /chat-messages, /workflows/run."""
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if key not in MODES:
        return Response(
            json.dumps({"code": "unauthorized", "message": "Access token is invalid", "status": 401}),
            401,
            content_type="application/json",
        )
    if request.path == "/v1/info":
        return Response(json.dumps({"name": "x", "mode": MODES[key]}), content_type="application/json")
    if request.path == "/v1/parameters":
        return Response(
            json.dumps({"user_input_form": [], "opening_statement": "from dify"}), content_type="application/json"
        )
    body = request.get_json()
    seen.append({"path": request.path, **body})
    if body["response_mode"] == "blocking":
        return Response(
            json.dumps({"event": "message", "answer": "blocking from dify", "conversation_id": "c1", "mode": "chat"}),
            content_type="application/json",
        )
    frames = [
        f"data: {json.dumps({'event': 'message', 'answer': w, 'conversation_id': 'c1'})}\n\n" for w in ("from ", "dify")
    ] + ["event: ping\n\n", f"data: {json.dumps({'event': 'message_end', 'conversation_id': 'c1'})}\n\n"]
    return Response(iter(frames), content_type="text/event-stream")


@pytest.fixture(scope="module")
def dify(tmp_path_factory):
    server = WSGIServer(("127.0.0.1", 0), service_api, log=None)
    server.start()
    config = tmp_path_factory.mktemp("cfg") / "devkit.toml"
    config.write_text(
        f'[endpoint.settings]\napi_key = "local"\n[dify]\nbase_url = "http://127.0.0.1:{server.server_port}/v1"\n'
        "[dify.apps]\n" + "".join(f'"{app}" = "{key}"\n' for app, key in APP_KEYS.items())
    )
    running = Runtime(config=config)
    yield running
    running.stop()
    server.stop()


def test_banner_lists_the_configured_apps(dify):
    assert "Apps: chat-app, flow-app, note-app" in dify.output()


def test_streaming_chat_is_forwarded_and_streamed_back(dify):
    response = httpx.post(
        dify.base_url + "/apps/chat-app/chat-messages",
        headers={"X-API-Key": "local"},
        json={"query": "hi", "inputs": {"a": "b"}},
        timeout=30,
    )
    events = [json.loads(f[6:]) for f in response.text.split("\n\n") if f.startswith("data: ")]
    assert "".join(e.get("answer", "") for e in events) == "from dify" and events[-1]["event"] == "message_end"
    assert seen[-1] == {
        "path": "/v1/chat-messages",
        "query": "hi",
        "inputs": {"a": "b"},
        "response_mode": "streaming",
        "user": "devkit",
        "conversation_id": "",
    }


def test_blocking_parameters_and_unknown_apps(dify):
    headers = {"X-API-Key": "local"}
    blocking = httpx.post(
        dify.base_url + "/apps/chat-app/chat-messages",
        headers=headers,
        json={"query": "hi", "response_mode": "blocking"},
        timeout=30,
    )
    assert blocking.json().get("answer") == "blocking from dify", blocking.text
    assert httpx.get(dify.base_url + "/apps/chat-app/parameters", headers=headers).json()["opening_statement"] == (
        "from dify"
    )
    missing = httpx.post(dify.base_url + "/apps/other/chat-messages", headers=headers, json={"query": "hi"})
    assert missing.status_code == 404 and missing.json()["code"] == "app_not_found"
    wrong_route = httpx.post(dify.base_url + "/apps/chat-app/workflows/run", headers=headers, json={"inputs": {}})
    assert wrong_route.status_code == 400 and wrong_route.json()["code"] == "not_workflow_app"


def test_a_completion_app_fails_as_on_the_plugin_path(dify):
    before = len(seen)
    reply = httpx.post(
        dify.base_url + "/apps/note-app/completion-messages",
        headers={"X-API-Key": "local"},
        json={"inputs": {}, "response_mode": "blocking"},
        timeout=30,
    )
    assert reply.status_code != 200 and len(seen) == before  # never forwarded: real Dify fails it first
    assert (
        'request failed with status code: 500 and respond with: {"message": "Internal Server Error", '
        '"code": "unknown", "status": 500}'
    ) in dify.output()
