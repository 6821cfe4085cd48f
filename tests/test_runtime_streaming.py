"""Streaming through the local runtime (stdio protocol, the daemon's limits): sizes, silence, pacing."""

import json

import gevent
import httpx
import pytest

from devkit.harness import Runtime, read_slowly
from tests.conftest import ROOT

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
    "completions_stream": (
        "POST",
        "/v1/completions",
        {"model": "demo-chat", "prompt": f"/big {BIG}", "stream": True},
        {},
    ),
    "completions": ("POST", "/v1/completions", {"model": "demo-chat", "prompt": f"/big {BIG}"}, {}),
    "responses_stream": ("POST", "/v1/responses", {"model": "demo-chat", "input": f"/big {BIG}", "stream": True}, {}),
    "responses": ("POST", "/v1/responses", {"model": "demo-chat", "input": f"/big {BIG}"}, {}),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_3_mb_answer_arrives_whole_on_every_route(runtime, route):
    method, path, body, headers = ROUTES[route]
    pid = runtime.plugin_process().pid
    response = httpx.request(
        method, runtime.base_url + path, json=body, timeout=60, headers={**runtime.headers, **headers}
    )
    assert response.status_code == 200
    assert b"x" * BIG in response.content and b'"event":"error"' not in response.content
    assert runtime.plugin_process().pid == pid  # the plugin was not killed for a long stdout line


def test_an_app_silent_before_its_first_event_gets_a_started_stream_and_pings():
    """Duck waits ENDPOINT_KIT_KEEPALIVE_SECONDS for the first event, then starts the stream and keeps it alive.

    Its own runtime: Duck learns app modes in storage and then refuses a wrong route before the app runs.
    """
    running = Runtime(env={"ENDPOINT_KIT_KEEPALIVE_SECONDS": "0.5"})
    try:
        with httpx.Client(base_url=running.base_url, headers=running.headers, timeout=30) as client:
            with client.stream("POST", "/apps/demo-chat/chat-messages", json={"query": "/hang 2"}) as response:
                assert response.status_code == 200
                chunks = response.iter_raw()
                assert next(chunks) == b"event: ping\n\n"
                rest = b"".join(chunks)
            frames = [f for f in rest.split(b"\n\n") if f and f != b"event: ping"]
            assert json.loads(frames[-1][6:])["event"] == "message_end"
            # A failure that comes after the stream started is its last event.
            with client.stream(
                "POST", "/apps/demo-workflow/chat-messages", json={"query": "x", "inputs": {"text": "/hang 2"}}
            ) as late_mismatch:
                body = late_mismatch.read()
            assert late_mismatch.status_code == 200
            assert json.loads(body.rstrip().split(b"\n\n")[-1][6:])["code"] == "not_chat_app"
            # A fast failure still gets its own status.
            fast = client.post("/apps/demo-chat/chat-messages", json={"query": "x", "inputs": {"name": 5}})
            assert fast.status_code == 400 and fast.json()["code"] == "invalid_param"
    finally:
        running.stop()


MODERATED = "Sorry, I can't talk about that."  # the demo apps' preset reply for /moderate


def test_moderation_replaces_the_answer_on_every_route(runtime):
    with httpx.Client(base_url=runtime.base_url, headers=runtime.headers, timeout=30) as client:
        folded = client.post("/apps/demo-agent/chat-messages", json=chat("/moderate", response_mode="blocking"))
        assert folded.json()["answer"] == MODERATED
        for model in ("demo-chat", "demo-agent", "demo-workflow"):
            whole = client.post("/v1/chat/completions", json={**openai("/moderate", False), "model": model}).json()
            assert whole["choices"][0]["message"]["content"] == MODERATED, model
            assert whole["choices"][0]["finish_reason"] == "content_filter"
        streamed = client.post("/v1/chat/completions", json=openai("/moderate", True)).content
        chunks = [json.loads(f[6:]) for f in streamed.split(b"\n\n") if f.startswith(b"data: {")]
        assert [c["choices"][0]["delta"]["content"] for c in chunks if c.get("message_replace")] == [MODERATED]
        assert chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
        assert client.get("/duck/demo-chat", params={"query": "/moderate"}).text.endswith(f"\n[replaced] {MODERATED}")
        sse = client.post("/apps/demo-chat/chat-messages", json=chat("/moderate")).content
        assert b'"event":"message_replace"' in sse


def test_a_stream_cut_by_the_daemons_limit_ends_with_an_error_that_says_so(tmp_path):
    """The daemon stops reading an app's stream after 240 s; this runtime cuts after 1 s."""
    config = tmp_path / "devkit.toml"
    config.write_text("[limits]\napp_stream_seconds = 1\n")
    running = Runtime(config=config, delay_ms=50)
    try:
        body = httpx.post(
            running.base_url + "/apps/demo-chat/chat-messages",
            headers=running.headers,
            json={"query": "/tokens 100"},
            timeout=30,
        ).content
        last = json.loads(body.rstrip().split(b"\n\n")[-1][6:])
        assert last["event"] == "error" and last["code"] == "app_stream_timeout" and "240 s" in last["message"]
        assert b'"answer":"t0 "' in body
    finally:
        running.stop()


def test_a_client_that_stops_reading_for_5_s_loses_nothing_at_1000_events_a_second():
    """Through the dev kit's copy of the daemon's 128-chunk queue, which drops chunks when it is full.

    The same paced app behind a handler that sends one chunk per event loses most of what came
    during the pause: that is what coalescing is for.
    """
    duck = Runtime(delay_ms=1)  # the demo apps send 1,000 events a second
    per_event = Runtime(plugin_dir=ROOT / "bench" / "baseline_plugin", delay_ms=1)
    try:
        query = {"query": "/tokens 6000"}
        reads = [
            gevent.spawn(read_slowly, duck.base_url + "/apps/demo-chat/chat-messages", query, duck.headers, 5),
            gevent.spawn(read_slowly, per_event.base_url + "/per-event/demo-chat", query, {}, 5),
        ]
        coalesced, one_chunk_each = (job.get(timeout=60) for job in reads)
        tokens = [e["answer"] for e in coalesced.events() if e["event"] == "message"]
        assert tokens == [f"t{i} " for i in range(6000)] and coalesced.events()[-1]["event"] == "message_end"
        assert len(one_chunk_each.events()) < 6000 - 1000  # thousands of events lost
    finally:
        duck.stop()
        per_event.stop()


def test_the_largest_accepted_body_cannot_kill_the_plugin():
    """The OpenAI route writes the message twice on the line that calls the app (query and
    openai_input_variable, which the runtime sets); the body cap keeps that line under 5 MiB."""
    running = Runtime("max_body_bytes=10485760")
    try:
        health = httpx.get(running.base_url + "/health").json()
        assert health["runtime"] == "local"
        cap = health["limits"]["max_body_bytes"]
        envelope = {"model": "demo-chat", "messages": [{"role": "user", "content": ""}]}
        text = "x" * (cap - len(json.dumps(envelope)))
        body = json.dumps({**envelope, "messages": [{"role": "user", "content": text}]}).encode()
        assert len(body) == cap
        pid = running.plugin_process().pid
        headers = {**running.headers, "Content-Type": "application/json"}
        answered = httpx.post(running.base_url + "/v1/chat/completions", content=body, headers=headers, timeout=60)
        assert answered.status_code == 200 and text in answered.json()["choices"][0]["message"]["content"]
        too_big = httpx.post(running.base_url + "/v1/chat/completions", content=body + b" ", headers=headers)
        assert too_big.status_code == 413
        assert running.plugin_process().pid == pid
    finally:
        running.stop()
