"""Whatever arrives gets a specific status and JSON code, and the plugin keeps serving."""

import json
import socket

import httpx
import pytest

CHAT = "/apps/demo-chat/chat-messages"
JSON = {"Content-Type": "application/json"}
NAUGHTY = [
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\u202eevil",
    "🦆" * 50,
    "${jndi:ldap://x}",
    "%00%0d%0a",
    "Ω≈ç√∫",
    "\\u0000",
    "null",
    "﻿",
]


GO_400 = "400 Bad Request"  # Go's server refuses a malformed header before the daemon sees it, in plain text


def case(name, status, code, method="POST", path=CHAT, body=None, raw=None, headers=None, auth=True, marks=()):
    return pytest.param(method, path, body, raw, headers, auth, status, code, id=name, marks=marks)


CASES = (
    [
        case("not-json", 400, "invalid_param", raw=b"{query: hi}"),
        case("invalid-utf8", 400, "invalid_param", raw=b'{"query": "\xff\xfe"}'),
        case("json-array", 400, "invalid_param", raw=b'[{"query": "hi"}]'),
        case("json-string", 400, "invalid_param", raw=b'"hi"'),
        case("json-null", 400, "invalid_param", raw=b"null"),
        case("empty-body", 400, "invalid_param", raw=b""),
        case("nan", 400, "invalid_param", raw=b'{"query": NaN}'),
        case("query-number", 400, "invalid_param", body={"query": 1}),
        case("query-null", 400, "invalid_param", body={"query": None}),
        case("query-list", 400, "invalid_param", body={"query": ["a"]}),
        case("query-object", 400, "invalid_param", body={"query": {"a": 1}}),
        case("query-bool", 400, "invalid_param", body={"query": True}),
        case("query-empty", 400, "invalid_param", body={"query": ""}),
        case("query-missing", 400, "invalid_param", body={"inputs": {}}),
        case("query-nul", 400, "invalid_param", body={"query": "a\u0000b"}),
        case("inputs-list", 400, "invalid_param", body={"query": "a", "inputs": []}),
        case("inputs-string", 400, "invalid_param", body={"query": "a", "inputs": "x"}),
        case("inputs-wrong-type-for-form", 400, "invalid_param", body={"query": "a", "inputs": {"name": 5}}),
        case("inputs-too-long-for-form", 400, "invalid_param", body={"query": "a", "inputs": {"name": "n" * 49}}),
        case("inputs-bad-select", 400, "invalid_param", body={"query": "a", "inputs": {"tone": "angry"}}),
        case("response-mode-unknown", 400, "invalid_param", body={"query": "a", "response_mode": "fast"}),
        case("response-mode-number", 400, "invalid_param", body={"query": "a", "response_mode": 1}),
        case("conversation-id-number", 400, "invalid_param", body={"query": "a", "conversation_id": 1}),
        case("conversation-id-not-a-uuid", 400, "invalid_param", body={"query": "a", "conversation_id": "nope"}),
        case(
            "conversation-id-unknown",
            404,
            "not_found",
            body={"query": "a", "conversation_id": "0a6b2f3c-1d2e-4f50-8a9b-0c1d2e3f4a5b"},
        ),
        case("user-number", 400, "invalid_param", body={"query": "a", "user": 1}),
        case("user-too-long", 400, "invalid_param", body={"query": "a", "user": "u" * 256}),
        case("user-nul", 400, "invalid_param", body={"query": "a", "user": "u\u0000"}),
        case("files-given", 400, "invalid_param", body={"query": "a", "files": [{"type": "image"}]}),
        case("duplicate-keys", 400, "invalid_param", raw=b'{"query": "a", "query": "b"}'),
        case(
            "deeply-nested",
            400,
            "invalid_param",
            raw=b'{"query": "a", "inputs": {"x": ' + b"[" * 500 + b"]" * 500 + b"}}",
        ),
        case("body-over-limit", 413, "request_entity_too_large", raw=b'{"query": "' + b"a" * (1024 * 1024) + b'"}'),
        case(
            "content-type-text",
            415,
            "unsupported_media_type",
            raw=b'{"query": "a"}',
            headers={"Content-Type": "text/plain"},
        ),
        case(
            "content-type-form",
            415,
            "unsupported_media_type",
            raw=b"query=a",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        case("no-key", 401, "unauthorized", body={"query": "a"}, auth=False),
        case(
            "empty-bearer", 401, "unauthorized", body={"query": "a"}, auth=False, headers={"Authorization": "Bearer "}
        ),
        case(
            "wrong-bearer", 401, "unauthorized", body={"query": "a"}, auth=False, headers={"Authorization": "Bearer x"}
        ),
        case(
            "basic-scheme",
            401,
            "unauthorized",
            body={"query": "a"},
            auth=False,
            headers={"Authorization": "Basic eA=="},
        ),
        case("empty-x-api-key", 401, "unauthorized", body={"query": "a"}, auth=False, headers={"X-API-Key": ""}),
        case("wrong-x-api-key", 401, "unauthorized", body={"query": "a"}, auth=False, headers={"X-API-Key": "x"}),
        case("naughty-key", 401, "unauthorized", body={"query": "a"}, auth=False, headers={"X-API-Key": "' OR 1=1"}),
        case("app-id-script", 404, "app_not_found", path="/apps/%3Cscript%3E/chat-messages", body={"query": "a"}),
        case("app-id-too-long", 404, "app_not_found", path=f"/apps/{'a' * 100}/chat-messages", body={"query": "a"}),
        case("app-id-crlf", 404, "app_not_found", path="/apps/a%0D%0Ab/chat-messages", body={"query": "a"}),
        case("app-id-traversal", 404, "not_found", path="/apps/..%2F..%2Fetc/chat-messages", body={"query": "a"}),
        case("app-id-dots", 404, "app_not_found", path="/apps/../chat-messages", body={"query": "a"}),
        case(
            "app-id-unknown-uuid",
            404,
            "app_not_found",
            path="/apps/6f1c0b7e-0000-4000-8000-000000000000/chat-messages",
            body={"query": "a"},
        ),
        case("wrong-method-get", 405, "method_not_allowed", method="GET"),
        case("wrong-method-put", 405, "method_not_allowed", method="PUT", body={"query": "a"}),
        case("wrong-method-delete", 405, "method_not_allowed", method="DELETE"),
        case("patch-not-routed", 404, "not_found", method="PATCH", body={"query": "a"}),
        case("unknown-route", 404, "not_found", path="/apps/demo-chat/nothing", body={"query": "a"}),
        case("trailing-slash", 404, "not_found", path=CHAT + "/", body={"query": "a"}),
        # A bare CR ends the header line in the HTTP server; nothing reaches the plugin as one smuggled value.
        case(
            "header-bare-cr",
            200,
            None,
            body={"query": "a", "response_mode": "blocking"},
            headers={"X-Note": "a\rInjected: b"},
        ),
        case("header-ctrl", 400, GO_400, body={"query": "a"}, headers={"X-Note": "a\x1b[31mred"}),
        case("header-nul", 400, GO_400, body={"query": "a"}, headers={"X-Note": "a\x00b"}),
    ]
    + [
        case(f"naughty-query-{i}", 200, None, body={"query": s, "response_mode": "blocking"})
        for i, s in enumerate(NAUGHTY)
    ]
    + [
        case(
            "naughty-inputs",
            200,
            None,
            body={"query": "a", "inputs": {"name": "<b>'\"</b>"}, "response_mode": "blocking"},
        ),
        case(
            "naughty-user",
            200,
            None,
            body={"query": "a", "user": "'; DROP TABLE users; --", "response_mode": "blocking"},
        ),
        case("control-characters", 200, None, body={"query": "a\u0001\u001b[31m", "response_mode": "blocking"}),
        case("long-query", 200, None, body={"query": "q" * 500_000, "response_mode": "blocking"}),
        case(
            "no-content-type",
            200,
            None,
            raw=b'{"query": "a", "response_mode": "blocking"}',
            headers={"Content-Type": ""},
        ),
    ]
)


def raw_request(port, method, target, headers, body) -> tuple[int, bytes]:
    """Send bytes as given (httpx refuses some of these headers), return status and body."""
    lines = [
        f"{method} /e/duck-local{target} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ] + [f"{k}: {v}" for k, v in headers.items() if v != ""]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


@pytest.mark.parametrize("method, path, body, raw, headers, auth, status, code", CASES)
def test_bad_input(runtime, method, path, body, raw, headers, auth, status, code):
    pid = runtime.plugin_process().pid
    all_headers = {**JSON, **(runtime.headers if auth else {}), **(headers or {})}
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    got_status, payload = raw_request(runtime.port, method, path, all_headers, data)
    assert got_status == status, payload[:300]
    answer = json.loads(payload) if code != GO_400 else {}
    if code == GO_400:
        assert payload == GO_400.encode()
    elif code is not None:
        assert answer["code"] == code and answer["message"]
        assert runtime.api_key not in payload.decode("utf-8", "replace")
    elif "query" in (body or {}):
        assert (
            answer["answer"]
            == f"Hi {(body.get('inputs') or {}).get('name') or 'there'}! You said: {body['query']} (turn 1)"
        )
    # The plugin is the same process and serves the next valid request.
    assert runtime.plugin_process().pid == pid
    ok = httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "ok", "response_mode": "blocking"})
    assert ok.status_code == 200 and ok.json()["answer"].startswith("Hi there! You said: ok")


def test_matrix_is_large_enough():
    assert len(CASES) >= 40


def test_401_says_nothing_about_whether_the_app_exists(runtime):
    answers = [
        httpx.post(
            runtime.base_url + f"/apps/{app}/chat-messages",
            json={"query": "a"},
            headers={"Authorization": "Bearer wrong"},
        )
        for app in ("demo-chat", "no-such-app")
    ]
    assert answers[0].status_code == answers[1].status_code == 401
    assert answers[0].content == answers[1].content


def test_the_key_never_reaches_plugin_logs(runtime):
    httpx.post(runtime.base_url + CHAT, json={"query": "a"}, headers={"X-API-Key": "guess-" + runtime.api_key})
    plugin_lines = [line for line in runtime.lines if line.startswith("[plugin]")]
    assert plugin_lines and not any(runtime.api_key in line for line in plugin_lines)
