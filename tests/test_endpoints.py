"""Every route through the SDK's real dispatch path (raw HTTP -> YAML routing -> handler -> chunks)."""

import json

from devkit.inprocess import raw_request
from tests.conftest import API_KEY


def sse_events(reply):
    """Parse SSE frames, asserting each chunk holds whole frames (coalesced events, never a torn one)."""
    events = []
    for chunk in reply.chunks:
        assert chunk.startswith(b"data: ") and chunk.endswith(b"\n\n"), chunk
        events += [json.loads(frame[6:]) for frame in chunk.split(b"\n\n") if frame]
    return events


def test_chat_streams_whole_sse_frames_with_stream_headers(call):
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "Hello", "inputs": {"name": "Ana"}})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-cache"
    assert reply.headers["X-Accel-Buffering"] == "no"
    events = sse_events(reply)
    assert [e["event"] for e in events][-1] == "message_end"
    assert "".join(e["answer"] for e in events if e["event"] == "message") == "Hi Ana! You said: Hello (turn 1)"


def test_sse_frames_are_compact_utf8_not_ascii_escaped(call):
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "héllo 世界"})
    first = reply.chunks[0]
    assert first.startswith(b'data: {"event":"message","conversation_id":')
    assert "héllo".encode() in b"".join(reply.chunks) and b"\\u" not in b"".join(reply.chunks)


def test_ndjson_when_the_caller_accepts_it(call):
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "Hi"}, {"Accept": "application/x-ndjson"})
    assert reply.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert all(c.endswith(b"\n") for c in reply.chunks)
    assert json.loads(reply.body.splitlines()[-1])["event"] == "message_end"


def test_chat_blocking_returns_the_service_api_shape(call):
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "Hi", "response_mode": "blocking"})
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
    body = json.loads(reply.body)
    assert body["event"] == "message" and body["mode"] == "chat"
    assert body["answer"] == "Hi there! You said: Hi (turn 1)" and body["conversation_id"]


def test_conversation_continues(call):
    first = json.loads(call("POST", "/apps/demo-chat/chat-messages", {"query": "a", "response_mode": "blocking"}).body)
    second = call(
        "POST",
        "/apps/demo-chat/chat-messages",
        {"query": "b", "response_mode": "blocking", "conversation_id": first["conversation_id"]},
    )
    assert json.loads(second.body)["answer"].endswith("(turn 2)")


def test_agent_blocking_is_streamed_and_aggregated(call):
    reply = call("POST", "/apps/demo-agent/chat-messages", {"query": "Hi", "response_mode": "blocking"})
    body = json.loads(reply.body)
    assert reply.status == 200 and body["mode"] == "chat"  # the value Dify documents for blocking chat answers
    assert body["answer"] == "Hi there! You said: Hi (turn 1)"
    assert body["metadata"]["usage"]["total_tokens"] > 0 and body["id"] == body["message_id"]


def test_chatflow_streams_workflow_events_then_message_end(call):
    events = sse_events(call("POST", "/apps/demo-chatflow/chat-messages", {"query": "Hi"}))
    names = [e["event"] for e in events]
    assert names[0] == "workflow_started" and names[-2:] == ["workflow_finished", "message_end"]


def test_workflow_blocking_and_streaming(call):
    blocking = call(
        "POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "abc"}, "response_mode": "blocking"}
    )
    assert json.loads(blocking.body)["data"]["outputs"] == {"text": "Echo: abc"}
    events = sse_events(call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "abc"}}))
    assert events[-1]["event"] == "workflow_finished"


def test_completion_route_says_dify_cannot_run_completion_apps_for_plugins(call):
    for mode in ("blocking", "streaming"):
        reply = call(
            "POST", "/apps/demo-completion/completion-messages", {"inputs": {"text": "ducks"}, "response_mode": mode}
        )
        assert error(reply) == (501, "completion_apps_unsupported") and reply.headers["x-should-retry"] == "false"
        assert "Workflow app" in json.loads(reply.body)["message"]


def test_run_route_answers_in_the_apps_own_shape(call):
    workflow = json.loads(
        call("POST", "/apps/demo-workflow/run", {"inputs": {"text": "x"}, "response_mode": "blocking"}).body
    )
    chat = json.loads(call("POST", "/apps/demo-chat/run", {"query": "x", "response_mode": "blocking"}).body)
    assert "workflow_run_id" in workflow and chat["mode"] == "chat"


def test_parameters(call):
    reply = call("GET", "/apps/demo-workflow/parameters")
    body = json.loads(reply.body)
    assert reply.status == 200 and body["user_input_form"][0]["paragraph"]["variable"] == "text"


def test_duck_hello_world_streams_plain_text(call):
    reply = call("GET", "/duck/demo-chat?query=Quack")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.body == b"Hi there! You said: Quack (turn 1)"


def test_health_needs_no_key_nor_settings_and_reports_the_effective_limits(call):
    reply = call("GET", "/health", headers={"Authorization": ""})
    assert json.loads(reply.body) == {
        "status": "ok",
        "name": "duck",
        "version": "0.1.0",
        "runtime": "local",
        "limits": {"max_body_bytes": 1048576, "max_upload_bytes": 8388608},
        "storage": "ok",
    }
    assert API_KEY.encode() not in reply.body
    unconfigured = call("GET", "/health", headers={"Authorization": ""}, settings={})
    assert unconfigured.status == 200 and json.loads(unconfigured.body)["status"] == "ok"
    capped = json.loads(call("GET", "/health", settings={"max_body_bytes": "10485760"}).body)
    assert capped["limits"]["max_body_bytes"] < 2.5 * 1024 * 1024


def error(reply):
    body = json.loads(reply.body)
    assert reply.headers["Content-Type"] == "application/json"
    assert body["status"] == reply.status
    return reply.status, body["code"]


def test_mode_mismatches_answer_like_the_service_api(call):
    assert error(call("POST", "/apps/demo-workflow/chat-messages", {"query": "x", "inputs": {"text": "t"}})) == (
        400,
        "not_chat_app",
    )
    assert error(call("POST", "/apps/demo-chat/workflows/run", {"inputs": {}})) == (400, "not_workflow_app")
    assert error(call("POST", "/apps/demo-chat/completion-messages", {})) == (400, "app_unavailable")
    assert error(
        call("POST", "/apps/demo-workflow/completion-messages", {"inputs": {"text": "t"}, "response_mode": "blocking"})
    ) == (400, "app_unavailable")


def test_a_completion_app_on_another_route_fails_in_dify_and_the_answer_says_why(call):
    # Dify dispatches by the app's mode, so a completion app fails the same way on every route (a bare 500).
    for path, body in (
        ("chat-messages", {"query": "x", "inputs": {"text": "t"}}),
        ("workflows/run", {"inputs": {"text": "t"}}),
        ("run", {"inputs": {"text": "t"}}),
    ):
        reply = call("POST", f"/apps/demo-completion/{path}", body)
        assert error(reply) == (501, "completion_apps_unsupported")
        assert "If it is a Completion app" in json.loads(reply.body)["message"]


def test_dify_errors_keep_their_status_code_and_message(call):
    reply = call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {}})
    assert error(reply) == (400, "invalid_param")
    assert json.loads(reply.body)["message"] == "text is required in input form"
    assert error(call("POST", "/apps/no-such-app/chat-messages", {"query": "x"})) == (404, "app_not_found")


def test_parameters_of_an_unknown_app(call):
    assert error(call("GET", "/apps/no-such-app/parameters")) == (404, "app_not_found")


def test_error_before_the_stream_gets_a_real_status(call):
    assert call("POST", "/apps/demo-chat/chat-messages", {"query": "hi"}).status == 200  # its mode is learnt: chat
    assert error(call("POST", "/apps/demo-chat/chat-messages", {"query": "/fail before"})) == (
        500,
        "internal_server_error",
    )


def test_error_mid_stream_becomes_the_last_event(call):
    events = sse_events(call("POST", "/apps/demo-chat/chat-messages", {"query": "/fail during"}))
    assert events[-1]["event"] == "error" and events[-1]["code"] == "completion_request_error"


def test_a_crash_mid_stream_becomes_the_last_event(call):
    crashed = sse_events(call("POST", "/apps/demo-chat/chat-messages", {"query": "/crash during"}))
    assert crashed[-1] == {
        "event": "error",
        "code": "internal_server_error",
        "status": 500,
        "message": "Internal Server Error, please contact support.",
    }


def test_large_events_are_split_into_chunks_of_at_most_1_mib(call):
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "/big 3000000"})
    assert max(len(c) for c in reply.chunks) <= 1024 * 1024
    assert b"x" * 3000000 in reply.body
    blocking = call(
        "POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": "/big 3000000"}, "response_mode": "blocking"}
    )
    assert max(len(c) for c in blocking.chunks) <= 1024 * 1024
    assert int(blocking.headers["Content-Length"]) == len(blocking.body)
    assert len(json.loads(blocking.body)["data"]["outputs"]["text"]) == 3000000


def test_unknown_route_and_wrong_method_are_json(call):
    assert error(call("GET", "/nope")) == (404, "not_found")
    reply = call("GET", "/apps/demo-chat/chat-messages")
    assert error(reply) == (405, "method_not_allowed") and reply.headers["Allow"] == "POST"
    assert error(call("DELETE", "/health")) == (405, "method_not_allowed")


def test_cors_preflight_and_headers(call):
    settings = {"api_key": API_KEY, "cors_allowed_origins": "https://a.example"}
    preflight = call(
        "OPTIONS", "/apps/demo-chat/chat-messages", headers={"Origin": "https://a.example"}, settings=settings
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    denied = call(
        "OPTIONS", "/apps/demo-chat/chat-messages", headers={"Origin": "https://evil.example"}, settings=settings
    )
    assert error(denied) == (403, "cors_forbidden") and "Access-Control-Allow-Origin" not in denied.headers
    ok = call(
        "POST",
        "/apps/demo-chat/chat-messages",
        {"query": "x", "response_mode": "blocking"},
        {"Origin": "https://a.example"},
        settings=settings,
    )
    assert ok.headers["Access-Control-Allow-Origin"] == "https://a.example"
    assert error(call("OPTIONS", "/health", headers={"Origin": "https://a.example"})) == (403, "cors_forbidden")


def test_pinned_app_hides_other_apps(call):
    settings = {"api_key": API_KEY, "app": {"app_id": "demo-chat"}}
    assert error(call("POST", "/apps/demo-agent/chat-messages", {"query": "x"}, settings=settings)) == (
        404,
        "app_not_found",
    )
    assert call("POST", "/apps/demo-chat/chat-messages", {"query": "x"}, settings=settings).status == 200


def test_unconfigured_endpoint_says_so(call):
    assert error(call("POST", "/apps/demo-chat/chat-messages", {"query": "x"}, settings={})) == (503, "not_configured")


def test_sdk_plain_text_never_reaches_callers_for_a_trailing_slash(plugin):
    reply = plugin.dispatch(raw_request("GET", "/health/"), {"api_key": API_KEY})
    assert reply.headers["Content-Type"] == "application/json" and reply.status == 404


def test_oversize_bodies_are_refused_before_they_are_parsed(plugin):
    garbage = b"\xff not json at all " * 70_000  # would be a 400 if anything parsed it
    reply = plugin.dispatch(
        raw_request(
            "POST",
            "/apps/demo-chat/chat-messages",
            garbage,
            {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        ),
        {"api_key": API_KEY},
    )
    assert reply.status == 413 and json.loads(reply.body)["code"] == "request_entity_too_large"


BIG = 3_000_000  # a 3 MB answer: one chunk of it would kill the plugin under the real daemon


def test_streams_of_a_fast_app_are_coalesced(call):
    """2,000 events already waiting travel in a few chunks, not one chunk each."""
    reply = call("POST", "/apps/demo-chat/chat-messages", {"query": "/tokens 2000"})
    events = [json.loads(frame[6:]) for frame in reply.body.split(b"\n\n") if frame]
    assert [e["answer"] for e in events if e["event"] == "message"] == [f"t{i} " for i in range(2000)]
    assert len(reply.chunks) <= 10


def test_every_streaming_route_splits_a_big_answer_into_pieces_of_at_most_1_mib(call):
    replies = {
        "sse": call("POST", "/apps/demo-chat/chat-messages", {"query": f"/big {BIG}"}),
        "ndjson": call(
            "POST", "/apps/demo-chat/chat-messages", {"query": f"/big {BIG}"}, {"Accept": "application/x-ndjson"}
        ),
        "workflow": call("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": f"/big {BIG}"}}),
        "run": call("POST", "/apps/demo-chat/run", {"query": f"/big {BIG}"}),
        "blocking": call(
            "POST", "/apps/demo-chat/chat-messages", {"query": f"/big {BIG}", "response_mode": "blocking"}
        ),
        "openai": call(
            "POST",
            "/v1/chat/completions",
            {"model": "demo-chat", "stream": True, "messages": [{"role": "user", "content": f"/big {BIG}"}]},
        ),
        "openai_blocking": call(
            "POST",
            "/v1/chat/completions",
            {"model": "demo-chat", "messages": [{"role": "user", "content": f"/big {BIG}"}]},
        ),
        "duck": call("GET", f"/duck/demo-chat?query=/big+{BIG}"),
    }
    for name, reply in replies.items():
        assert reply.status == 200, name
        assert max(len(c) for c in reply.chunks) <= 1024 * 1024, name
        assert b"x" * BIG in reply.body, name
