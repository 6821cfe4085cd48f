"""Streaming through the local runtime (stdio protocol, the daemon's limits): sizes, silence, pacing."""

import json

import httpx
import pytest

BIG = 3_000_000  # a 3 MB answer: sent as one chunk it is a 6 MB stdout line, and the plugin dies


def chat(text, **fields):
    return {"query": text, **fields}


def openai(text, stream):
    return {"model": "demo-chat", "stream": stream, "messages": [{"role": "user", "content": text}]}


ROUTES = {
    "sse": ("POST", "/apps/demo-chat/chat-messages", chat(f"/big {BIG}"), {}),
    "ndjson": ("POST", "/apps/demo-chat/chat-messages", chat(f"/big {BIG}"), {"Accept": "application/x-ndjson"}),
    "blocking": ("POST", "/apps/demo-chat/chat-messages", chat(f"/big {BIG}", response_mode="blocking"), {}),
    "agent_folded": ("POST", "/apps/demo-agent/chat-messages", chat(f"/big {BIG}", response_mode="blocking"), {}),
    "workflow": ("POST", "/apps/demo-workflow/workflows/run", {"inputs": {"text": f"/big {BIG}"}}, {}),
    "run": ("POST", "/apps/demo-chatflow/run", chat(f"/big {BIG}"), {}),
    "openai_stream": ("POST", "/v1/chat/completions", openai(f"/big {BIG}", True), {}),
    "openai": ("POST", "/v1/chat/completions", openai(f"/big {BIG}", False), {}),
    "duck": ("GET", f"/duck/demo-chat?query=/big+{BIG}", None, {}),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_3_mb_answer_arrives_whole_on_every_route(runtime, route):
    method, path, body, headers = ROUTES[route]
    pid = runtime.plugin_process().pid
    response = httpx.request(method, runtime.base_url + path, json=body, timeout=60,
                             headers={**runtime.headers, **headers})
    assert response.status_code == 200
    assert b"x" * BIG in response.content and b'"event":"error"' not in response.content
    assert runtime.plugin_process().pid == pid  # the plugin was not killed for a long stdout line


def test_an_app_silent_before_its_first_event_gets_a_started_stream_and_pings(runtime):
    """The fixture's DUCK_KEEPALIVE_SECONDS=0.5: Duck waits that long for the first event, then starts."""
    with httpx.Client(base_url=runtime.base_url, headers=runtime.headers, timeout=30) as client:
        with client.stream("POST", "/apps/demo-chat/chat-messages", json={"query": "/hang 2"}) as response:
            assert response.status_code == 200
            chunks = response.iter_raw()
            assert next(chunks) == b"event: ping\n\n"
            rest = b"".join(chunks)
        frames = [f for f in rest.split(b"\n\n") if f and f != b"event: ping"]
        assert json.loads(frames[-1][6:])["event"] == "message_end"
        # A failure that comes after the stream started is its last event (an app whose mode Duck has
        # not learnt yet: a known mode is refused before the app runs).
        with client.stream("POST", "/apps/demo-completion/chat-messages",
                           json={"query": "x", "inputs": {"text": "/hang 2"}}) as late_mismatch:
            body = late_mismatch.read()
        assert late_mismatch.status_code == 200
        assert json.loads(body.rstrip().split(b"\n\n")[-1][6:])["code"] == "not_chat_app"
        # A fast failure still gets its own status.
        fast = client.post("/apps/demo-workflow/chat-messages", json={"query": "x", "inputs": {"text": "t"}})
        assert fast.status_code == 400 and fast.json()["code"] == "not_chat_app"
