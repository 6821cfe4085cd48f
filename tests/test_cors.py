"""CORS: preflights on any path for allowed origins, echoed request headers, never credentials, Vary."""

import json

from tests.conftest import API_KEY

ORIGIN = "https://a.example"
SETTINGS = {"api_key": API_KEY, "cors_allowed_origins": ORIGIN}
# What the `openai` npm package's preflight asks for.
STAINLESS = "authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os,x-stainless-retry-count"


def preflight(call, path, origin=ORIGIN, method="POST", headers=STAINLESS, settings=SETTINGS):
    return call(
        "OPTIONS",
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
        settings=settings,
    )


def test_preflight_echoes_the_requested_headers_and_never_allows_credentials(call):
    for path in ("/v1/chat/completions", "/v1/responses", "/apps/demo-chat/chat-messages"):
        reply = preflight(call, path)
        assert reply.status == 204, path
        assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert reply.headers["Access-Control-Allow-Headers"] == STAINLESS
        assert "POST" in reply.headers["Access-Control-Allow-Methods"]
        assert "Access-Control-Allow-Credentials" not in reply.headers
        assert "Origin" in reply.headers["Vary"]


def test_preflight_on_an_unknown_path_lets_the_page_read_the_json_404(call):
    reply = preflight(call, "/v1/assistants", method="GET")
    assert reply.status == 204 and reply.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    answer = call("GET", "/v1/assistants", headers={"Origin": ORIGIN}, settings=SETTINGS)
    assert answer.status == 404 and answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert json.loads(answer.body)["error"]["code"] == "unknown_url"
    assert preflight(call, "/nowhere", method="DELETE").status == 204


def test_refused_origins_and_malformed_requests(call):
    denied = preflight(call, "/v1/responses", origin="https://evil.example")
    assert denied.status == 403 and "Access-Control-Allow-Origin" not in denied.headers
    # Without CORS configured, an unknown path stays a 404 and a known one a 403.
    assert preflight(call, "/nowhere", settings={"api_key": API_KEY}).status == 404
    assert preflight(call, "/v1/responses", settings={"api_key": API_KEY}).status == 403
    # A header list that is not a list of header names is not echoed.
    odd = preflight(call, "/v1/responses", headers="x-a, \x7f")
    assert odd.status == 204 and "\x7f" not in odd.headers["Access-Control-Allow-Headers"]


def test_answers_vary_on_origin_and_expose_the_request_id(call):
    body = {"model": "demo-chat", "messages": [{"role": "user", "content": "x"}]}
    allowed = call("POST", "/v1/chat/completions", body, {"Origin": ORIGIN}, settings=SETTINGS)
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN and allowed.headers["Vary"] == "Origin"
    assert "x-request-id" in allowed.headers["Access-Control-Expose-Headers"]
    other = call("POST", "/v1/chat/completions", body, {"Origin": "https://evil.example"}, settings=SETTINGS)
    assert "Access-Control-Allow-Origin" not in other.headers and other.headers["Vary"] == "Origin"
    assert "Vary" not in call("POST", "/v1/chat/completions", body).headers  # CORS off: nothing depends on Origin


def test_every_answer_carries_a_unique_request_id(call):
    replies = [
        call("GET", "/health"),
        call("GET", "/nowhere"),
        call("GET", "/v1/models"),
        call("POST", "/v1/responses", {"model": "demo-chat", "input": "x"}),
        call("GET", "/v1/models", headers={"Authorization": "Bearer wrong"}),
    ]
    ids = [reply.headers["x-request-id"] for reply in replies]
    assert all(i.startswith("req_") for i in ids) and len(set(ids)) == len(ids)
