"""The routes issue 16 added, through the real protocol (local runtime, raw sockets), with their bad input:
each gets its status and code in its own error shape, and the plugin keeps serving."""

import json

import httpx
import pytest

from tests.test_bad_input import raw_request

JSON = {"Content-Type": "application/json"}
R, C = "/v1/responses", "/v1/completions"


def case(name, method, path, body, status, code, raw=None, headers=None, auth=True):
    return pytest.param(method, path, body, raw, headers, auth, status, code, id=name)


CASES = [
    case("responses-not-json", "POST", R, None, 400, "invalid_param", raw=b"{input"),
    case("responses-no-input", "POST", R, {"model": "demo-chat"}, 400, "invalid_param"),
    case("responses-empty-list", "POST", R, {"model": "demo-chat", "input": []}, 400, "invalid_param"),
    case("responses-input-number", "POST", R, {"model": "demo-chat", "input": 5}, 400, "invalid_param"),
    case(
        "responses-nul",
        "POST",
        R,
        {"model": "demo-chat", "input": [{"role": "user", "content": "a\u0000"}]},
        400,
        "invalid_param",
    ),
    case(
        "responses-image",
        "POST",
        R,
        {
            "model": "demo-chat",
            "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x"}]}],
        },
        400,
        "unsupported_parameter",
    ),
    case(
        "responses-function-output",
        "POST",
        R,
        {"model": "demo-chat", "input": [{"type": "function_call_output", "call_id": "c", "output": "1"}]},
        400,
        "unsupported_parameter",
    ),
    case(
        "responses-tools",
        "POST",
        R,
        {"model": "demo-chat", "input": "x", "tools": [{"type": "web_search"}]},
        400,
        "unsupported_parameter",
    ),
    case(
        "responses-json-schema",
        "POST",
        R,
        {"model": "demo-chat", "input": "x", "text": {"format": {"type": "json_schema", "name": "s", "schema": {}}}},
        400,
        "unsupported_parameter",
    ),
    case(
        "responses-unknown-previous",
        "POST",
        R,
        {"model": "demo-chat", "input": "x", "previous_response_id": "resp_nope"},
        404,
        "previous_response_not_found",
    ),
    case(
        "responses-unknown-reference",
        "POST",
        R,
        {
            "model": "demo-chat",
            "input": [{"type": "item_reference", "id": "msg_nope"}, {"role": "user", "content": "x"}],
        },
        404,
        "item_not_found",
    ),
    case(
        "responses-conversation-object",
        "POST",
        R,
        {"model": "demo-chat", "input": "x", "conversation": {"id": 3}},
        400,
        "invalid_value",
    ),
    case("responses-unknown-model", "POST", R, {"model": "ghost", "input": "x"}, 404, "model_not_found"),
    case("responses-wrong-key", "POST", R, {"model": "demo-chat", "input": "x"}, 401, "invalid_api_key", auth=False),
    case(
        "responses-text-plain",
        "POST",
        R,
        None,
        415,
        "unsupported_media_type",
        raw=b"{}",
        headers={"Content-Type": "text/plain"},
    ),
    case("completions-prompt-list", "POST", C, {"model": "demo-chat", "prompt": ["a", "b"]}, 400, "invalid_param"),
    case(
        "completions-echo", "POST", C, {"model": "demo-chat", "prompt": "a", "echo": True}, 400, "unsupported_parameter"
    ),
    case("completions-no-prompt", "POST", C, {"model": "demo-chat"}, 400, "invalid_param"),
    case(
        "chat-n",
        "POST",
        "/v1/chat/completions",
        {"model": "demo-chat", "n": 3, "messages": [{"role": "user", "content": "x"}]},
        400,
        "unsupported_parameter",
    ),
    case("model-unknown", "GET", "/v1/models/no%20such", None, 404, "model_not_found"),
    case("v1-unknown", "POST", "/v1/embeddings", {"model": "demo-chat", "input": "x"}, 404, "unknown_url"),
    case("v1-wrong-method", "GET", R, None, 405, "method_not_allowed"),
    case("conversations-no-user", "GET", "/apps/demo-chat/conversations", None, 400, "invalid_param"),
    case("conversations-limit", "GET", "/apps/demo-chat/conversations?user=u&limit=1000", None, 400, "invalid_param"),
    case("conversation-delete-stranger", "DELETE", "/apps/demo-chat/conversations/c1", {"user": "u"}, 404, "not_found"),
    case("conversation-delete-no-user", "DELETE", "/apps/demo-chat/conversations/c1", None, 400, "invalid_param"),
    case("info-bad-app", "GET", "/apps/%3Cx%3E/info", None, 404, "app_not_found"),
    case(
        "feedback",
        "POST",
        "/apps/demo-chat/messages/m1/feedbacks",
        {"rating": "like", "user": "u"},
        501,
        "not_supported",
    ),
    case("stop", "POST", "/apps/demo-workflow/workflows/tasks/t1/stop", {"user": "u"}, 501, "not_supported"),
    case("meta-wrong-key", "GET", "/apps/demo-chat/meta", None, 401, "unauthorized", auth=False),
]


@pytest.mark.parametrize("method, path, body, raw, headers, auth, status, code", CASES)
def test_new_routes_bad_input(runtime, method, path, body, raw, headers, auth, status, code):
    pid = runtime.plugin_process().pid
    all_headers = {**JSON, **(runtime.headers if auth else {"Authorization": "Bearer wrong"}), **(headers or {})}
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    got_status, payload = raw_request(runtime.port, method, path, all_headers, data)
    answer = json.loads(payload)
    assert got_status == status, payload[:300]
    if path.startswith("/v1/"):  # OpenAI's error shape
        assert answer["error"]["code"] == code and answer["error"]["message"], answer
    else:  # the Service API's
        assert answer["code"] == code and answer["message"], answer
    assert runtime.api_key not in payload.decode("utf-8", "replace")
    assert runtime.plugin_process().pid == pid
    ok = httpx.post(runtime.base_url + R, headers=runtime.headers, json={"model": "demo-chat", "input": "ok"})
    assert ok.status_code == 200 and ok.json()["output"][0]["content"][0]["text"].startswith("Hi there!")
