"""The local runtime end to end: real HTTP clients on loopback, the plugin as a stdio subprocess."""

import json
import shutil
import signal
import socket
import subprocess
import time

import gevent
import httpx
import psutil
import pytest
from httpx_sse import connect_sse

from devkit.harness import Runtime

CHAT = "/apps/demo-chat/chat-messages"


def test_banner_prints_what_curl_needs(runtime):
    out = runtime.output()
    assert "Base URL: http://127.0.0.1:" in out and f"API key: {runtime.api_key}" in out
    assert "demo-chat, demo-agent, demo-chatflow, demo-workflow, demo-completion" in out


def test_sse_stream_with_httpx_sse(runtime):
    with httpx.Client(base_url=runtime.base_url, headers=runtime.headers) as client:
        with connect_sse(client, "POST", CHAT, json={"query": "Hello"}) as source:
            assert source.response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert source.response.headers["x-accel-buffering"] == "no"
            events = [json.loads(sse.data) for sse in source.iter_sse() if sse.event != "ping"]  # slow start: pings
    assert "".join(e.get("answer", "") for e in events) == "Hi there! You said: Hello (turn 1)"
    assert events[-1]["event"] == "message_end"


def test_every_route_over_http(runtime):
    with httpx.Client(base_url=runtime.base_url, headers=runtime.headers) as client:
        blocking = client.post(CHAT, json={"query": "x", "response_mode": "blocking"})
        assert blocking.status_code == 200 and blocking.json()["mode"] == "chat"
        workflow = client.post(
            "/apps/demo-workflow/workflows/run", json={"inputs": {"text": "w"}, "response_mode": "blocking"}
        )
        assert workflow.json()["data"]["outputs"]["text"] == "Echo: w"
        assert (
            client.post("/apps/demo-agent/run", json={"query": "a", "response_mode": "blocking"}).json()["mode"]
            == "chat"
        )
        assert client.get("/apps/demo-chat/parameters").json()["opening_statement"] == "Hello! Ask me anything."
        assert client.get("/duck/demo-chat", params={"query": "q"}).text == "Hi there! You said: q (turn 1)"
        assert client.get("/health").json()["status"] == "ok"
        ndjson = client.post(CHAT, json={"query": "n"}, headers={"Accept": "application/x-ndjson"})
        assert [json.loads(line)["event"] for line in ndjson.text.splitlines()][-1] == "message_end"


def test_completion_route_over_http(runtime):
    completion = httpx.post(
        runtime.base_url + "/apps/demo-completion/completion-messages",
        headers=runtime.headers,
        json={"inputs": {"text": "c"}, "response_mode": "blocking"},
    )
    assert completion.status_code == 501 and completion.json()["code"] == "completion_apps_unsupported"
    assert completion.headers["x-should-retry"] == "false"


def test_errors_over_http(runtime):
    with httpx.Client(base_url=runtime.base_url) as client:
        unauthorized = client.post(CHAT, json={"query": "x"})
        assert unauthorized.status_code == 401 and unauthorized.json()["code"] == "unauthorized"
        assert unauthorized.headers["www-authenticate"] == 'Bearer realm="api"'
        wrong_app = client.post(
            "/apps/demo-workflow/chat-messages", headers=runtime.headers, json={"query": "x", "inputs": {"text": "t"}}
        )
        assert wrong_app.status_code == 400 and wrong_app.json()["code"] == "not_chat_app"
        patch = client.patch(CHAT, headers=runtime.headers)
        assert patch.status_code == 404 and patch.json() == {"code": "not_found", "message": "route not found"}
        other_hook = client.get(runtime.base_url.rsplit("/", 1)[0] + "/other-hook/health")
        assert other_hook.status_code == 404


def test_events_arrive_one_by_one_not_buffered(runtime):
    """With a silent app, keep-alive pings arrive before the answer: proof that nothing buffers."""
    with httpx.Client(base_url=runtime.base_url, headers=runtime.headers, timeout=30) as client:
        with client.stream("POST", CHAT, json={"query": "/pause 2"}) as response:
            chunks = response.iter_raw()
            first = next(chunks)
            started = time.monotonic()
            second = next(chunks)
            waited = time.monotonic() - started
            rest = b"".join(chunks)
    assert first.startswith(b'data: {"event":"message"')
    assert second == b"event: ping\n\n" and waited < 1.5
    assert b"message_end" in rest


def test_curl_streams(runtime):
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    result = subprocess.run(
        [
            "curl",
            "-sN",
            "--max-time",
            "20",
            runtime.base_url + CHAT,
            "-H",
            f"Authorization: Bearer {runtime.api_key}",
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"query": "curl"}',
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    # Keep-alive pings (every 0.5 s here) may come first when the machine is busy: they are not events.
    frames = [f for f in result.stdout.split("\n\n") if f and f != "event: ping"]
    assert frames[0].startswith('data: {"event":"message"') and '"message_end"' in frames[-1]


def raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_raw_socket_chunked_request_is_dechunked(runtime):
    body = b'{"query": "chunked", "response_mode": "blocking"}'
    request = (
        f"POST /e/duck-local{CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {runtime.api_key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    request += f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = raw_exchange(runtime.port, request)
    assert answer.startswith(b"HTTP/1.1 200") and b"You said: chunked" in answer


def test_fifty_concurrent_streams_are_complete_and_in_order(runtime):
    def one(i):
        with httpx.Client(base_url=runtime.base_url, headers=runtime.headers, timeout=60) as client:
            response = client.post(CHAT, json={"query": "/tokens 40"})
            frames = [json.loads(f[6:]) for f in response.text.split("\n\n") if f.startswith("data: ")]
            return [f["answer"] for f in frames if f["event"] == "message"]

    jobs = [gevent.spawn(one, i) for i in range(50)]
    gevent.joinall(jobs, timeout=120, raise_error=True)
    expected = [f"t{i} " for i in range(40)]
    assert all(job.value == expected for job in jobs)


# What the caller of an open request hears when the plugin process dies, by runtime (None: nothing).
CRASH_ANSWERS = {
    "local": None,  # notifier_lifecycle.go does not fail a dead local plugin's sessions: the caller waits
    "remote": (500, "Connection closed unexpectedly"),  # debugging_runtime/io.go: ConnectionClosedError
    # serverless_runtime/io.go: the connection drops before the answer's headers, so the request is
    # retried and then reported as not sent; when the plugin is back in time it runs again there.
    "serverless": (500, "Error sending request to serverless: all 3 attempts failed"),
}


def test_plugin_crash_is_told_as_each_runtime_tells_it_then_restarts(runtime):
    victim = runtime.plugin_process()
    with httpx.Client(base_url=runtime.base_url, headers=runtime.headers, timeout=30) as client:
        job = gevent.spawn(client.post, CHAT, json={"query": "/hang 10", "response_mode": "blocking"}, timeout=4)
        gevent.sleep(0.5)
        victim.kill()
        answer = CRASH_ANSWERS[runtime.runtime]
        if runtime.runtime == "serverless":
            try:
                response = job.get(timeout=20)
            except httpx.ReadTimeout:  # the plugin was back before the retries ran out: the request runs again
                assert "will be retried (attempt 1/3 failed" in runtime.output()
            else:
                assert response.status_code == answer[0] and answer[1] in response.text
        elif answer is None:
            with pytest.raises(httpx.ReadTimeout):
                job.get(timeout=20)
            assert "the plugin died" in runtime.output()
        else:
            response = job.get(timeout=20)
            assert response.status_code == answer[0] and answer[1] in response.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if client.get("/health").status_code == 200:
                break
            gevent.sleep(0.2)
        assert client.get("/health").status_code == 200
    assert runtime.plugin_process().pid != victim.pid


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_shutdown_leaves_no_process_behind(sig):
    running = Runtime()
    plugin = running.plugin_process()
    running.stop(sig)
    assert running.proc.returncode == 0 and "stopped" in running.output()
    psutil.wait_procs([plugin], timeout=5)
    assert not plugin.is_running()


def test_a_killed_dev_kit_takes_a_serverless_plugin_with_it():
    """Only the stdio SDK watches its parent; the dev kit asks Linux to end the others with it."""
    running = Runtime(runtime="serverless")
    plugin = running.plugin_process()
    running.stop(signal.SIGKILL)
    psutil.wait_procs([plugin], timeout=5)
    assert not plugin.is_running()
