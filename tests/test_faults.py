"""Faults through the real protocol: each has a defined answer, and nothing leaks."""

import gc
import json
import time

import gevent
import httpx
import psutil
from greenlet import greenlet

from devkit.inprocess import raw_request
from tests.conftest import AUTH, SETTINGS

CHAT = "/apps/demo-chat/chat-messages"


def test_app_fails_before_its_first_event(runtime):
    assert httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "hi"}).status_code == 200
    # Its mode (chat) is learnt now, so Dify's bare 500 is not read as a Completion app's.
    response = httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "/fail before"})
    assert response.status_code == 500 and response.json()["code"] == "internal_server_error"
    assert "before starting the app" in response.json()["message"] and response.headers["x-should-retry"] == "false"


def test_app_fails_mid_stream(runtime):
    response = httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "/fail during"})
    frames = [json.loads(f[6:]) for f in response.text.split("\n\n") if f.startswith("data: ")]
    assert response.status_code == 200 and frames[0]["event"] == "message"
    assert frames[-1]["event"] == "error" and frames[-1]["status"] == 400


def test_transport_breaks_mid_stream(runtime):
    response = httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "/crash during"})
    last = json.loads(response.text.strip().split("\n\n")[-1][6:])
    assert last == {
        "event": "error",
        "code": "internal_server_error",
        "status": 500,
        "message": "Internal Server Error, please contact support.",
    }


def test_app_hangs_past_the_invocation_timeout(runtime):
    """The fixture runs the plugin with MAX_INVOCATION_TIMEOUT=3 and ENDPOINT_KIT_KEEPALIVE_SECONDS=0.5."""
    started = time.monotonic()
    response = httpx.post(
        runtime.base_url + CHAT,
        headers=runtime.headers,
        timeout=30,
        json={"query": "/hang 8", "response_mode": "blocking"},
    )
    assert response.status_code == 504 and response.json()["code"] == "gateway_timeout"
    assert 2.5 < time.monotonic() - started < 8
    # Streamed, the response starts after the bounded wait and keeps alive; the timeout is its last event.
    streamed = httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "/hang 8"}, timeout=30)
    frames = [f for f in streamed.content.split(b"\n\n") if f]
    assert streamed.status_code == 200 and frames[0] == b"event: ping"
    assert json.loads(frames[-1][6:]) == {
        "event": "error",
        "code": "gateway_timeout",
        "status": 504,
        "message": "The app did not answer in time.",
    }


def test_answer_over_the_daemon_line_limit_arrives_whole(runtime):
    pid = runtime.plugin_process().pid
    response = httpx.post(
        runtime.base_url + "/apps/demo-workflow/workflows/run",
        headers=runtime.headers,
        json={"inputs": {"text": "/big 8000000"}, "response_mode": "blocking"},
        timeout=60,
    )
    assert response.status_code == 200 and len(response.json()["data"]["outputs"]["text"]) == 8_000_000
    assert runtime.plugin_process().pid == pid


def resources(process: psutil.Process) -> tuple[int, int]:
    return process.num_fds(), process.num_threads()


def test_caller_disconnects_mid_stream_leaks_nothing(runtime):
    plugin, relay = runtime.plugin_process(), psutil.Process(runtime.proc.pid)
    httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "warm up"})
    before = resources(plugin), resources(relay)
    for _ in range(5):
        with httpx.Client(headers=runtime.headers, timeout=10) as client:
            with client.stream("POST", runtime.base_url + CHAT, json={"query": "/pause 1"}) as response:
                next(response.iter_raw())  # first event, then leave
    time.sleep(2)  # the plugin finishes each abandoned run (the protocol cannot cancel it)
    after = resources(plugin), resources(relay)
    assert all(
        now <= then
        for now_pair, then_pair in zip(after, before, strict=False)
        for now, then in zip(now_pair, then_pair, strict=False)
    ), (after, before)
    assert httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "x"}).status_code == 200


def live_greenlets() -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet) and not o.dead)


def test_abandoned_stream_greenlets_return_to_baseline(plugin):
    """In the plugin itself: a stream the SDK stops iterating leaves no greenlet behind."""
    body = json.dumps({"query": "/tokens 50"}).encode()
    request = raw_request("POST", CHAT, body, {**AUTH, "Content-Type": "application/json"})
    baseline = live_greenlets()
    for _ in range(10):
        messages = plugin.stream(request, SETTINGS)
        next(messages), next(messages)  # headers and the first event, then the caller is gone
        messages.close()
    gevent.sleep(0.2)
    assert live_greenlets() <= baseline
