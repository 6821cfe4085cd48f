"""The serverless transport: requests, retries, size limit and reverse calls as Dify Cloud's daemon does.

In-process tests drive a real ServerlessTransport against a small stand-in for the plugin's HTTP server
(its neighbour) or call its reverse-call route directly; the end-to-end ones use the running dev kit.
"""

import gzip
import json
import re

import gevent
import httpx
import pytest
from gevent.pywsgi import WSGIServer
from gevent.queue import Queue
from werkzeug.test import Client

from devkit.demo_apps import DemoApps
from devkit.host import Host
from devkit.plugin_process import PluginProcess
from devkit.storage import Storage
from devkit.transport_serverless import MAX_REQUEST_BYTES, TRANSACTION_PATH, ServerlessTransport

CHAT = "/apps/demo-chat/chat-messages"
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def session_line(session_id, kind, data):
    return json.dumps({"event": "session", "session_id": session_id, "data": {"type": kind, "data": data}}).encode()


@pytest.fixture
def transport(tmp_path):
    transport = ServerlessTransport(heartbeat_seconds=0.05, transaction_seconds=2)
    plugin = PluginProcess(tmp_path, Host(DemoApps(), Storage()), transport=transport, run_plugin=False)
    plugin.start()
    yield transport
    plugin.stop()


@pytest.fixture
def fake_plugin(transport):
    """A stand-in for the SDK's /invoke that answers each attempt with the next (status, lines) given."""
    answers: list = []
    bodies: list = []

    def app(environ, start_response):
        bodies.append((environ["wsgi.input"].read(), environ.get("HTTP_DIFY_PLUGIN_SESSION_ID")))
        status, lines = answers.pop(0)
        start_response(f"{status} X", [("Content-Type", "text/event-stream")])
        return [line + b"\n\n" for line in lines]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    transport.url = f"http://127.0.0.1:{server.server_port}"
    yield answers, bodies
    server.stop()


def collect(queue: Queue) -> list:
    messages = []
    while not messages or messages[-1][0] not in ("end", "error"):
        messages.append(queue.get(timeout=10))
    return messages


def test_each_request_is_a_post_with_the_stdio_message(transport, fake_plugin):
    answers, bodies = fake_plugin
    answers.append(
        (
            200,
            [
                b'{"event": "log", "data": {"level": "INFO", "message": "hi"}}',
                b"",
                session_line("s", "stream", {"status": 200, "headers": {}, "result": "6f6b"}),
            ],
        )
    )
    session_id, queue = transport.plugin.open_session("e", REQUEST, {"k": "<v>"})
    messages = collect(queue)
    body, header = bodies[0]
    assert header == session_id and json.loads(body)["data"]["raw_http_request"] == REQUEST.hex()
    assert b"\\u003cv\\u003e" in body  # Go's json.Marshal escapes <, > and &
    assert messages == [("stream", {"status": 200, "headers": {}, "result": "6f6b"}), ("end", None)]


def test_502_is_retried_as_the_daemon_does(transport, fake_plugin):
    answers, bodies = fake_plugin
    answers += [(502, []), (502, []), (200, [session_line("s", "end", {})])]
    _session_id, queue = transport.plugin.open_session("e", REQUEST, {})
    assert collect(queue) == [("end", {})] and len(bodies) == 3


def test_three_502s_fail_the_request(transport, fake_plugin):
    answers, _bodies = fake_plugin
    answers += [(502, [])] * 3
    _session_id, queue = transport.plugin.open_session("e", REQUEST, {})
    assert collect(queue) == [
        (
            "error",
            {
                "message": "Error sending request to serverless: all 3 attempts failed, last error: attempt 3/3 failed "
                "with status code: 502",
                "error_type": "PluginDaemonInnerError",
                "args": None,
            },
        )
    ]


@pytest.mark.parametrize(
    "answer, message",
    [
        ((500, [b"boom"]), "Plugin runtime request failed: 500 X"),
        ((200, [b"x" * (5 * 1024 * 1024 + 1)]), "failed to read response body: bufio.Scanner: token too long"),
        ((200, [session_line("s", "invoke", {})]), "serverless event is not supported by full duplex"),
        ((200, []), "Plugin runtime request failed: no valid session response"),
    ],
    ids=["status 500", "line over 5 MiB", "reverse call in the answer", "no session message"],
)
def test_bad_answers_become_the_daemons_errors(transport, fake_plugin, answer, message):
    answers, _bodies = fake_plugin
    answers.append(answer)
    _session_id, queue = transport.plugin.open_session("e", REQUEST, {})
    kind, data = collect(queue)[-1]
    assert kind == "error" and data["message"] == message


def transaction(transport, session_id, request, gzipped=False):
    payload = {"type": "app", "backwards_request_id": "r1", "request": request}
    body = json.dumps({"event": "session", "session_id": session_id, "data": {"type": "invoke", "data": payload}})
    headers = {"Accept-Encoding": "gzip"} if gzipped else {}
    return Client(transport.route_transactions(None)).post(TRANSACTION_PATH, data=body + "\n\n", headers=headers)


def chat(query):
    return {"app_id": "demo-chat", "query": query, "inputs": {}, "response_mode": "streaming"}


def test_reverse_call_streams_with_heartbeats_gzipped(transport):
    transport.plugin.sessions["s1"] = Queue()
    response = transaction(transport, "s1", chat("/pause 0.3"), gzipped=True)
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Content-Encoding"] == "gzip"
    frames = gzip.decompress(response.get_data()).split(b"\n\n")
    events = [json.loads(frame) for frame in frames if frame]
    assert b"" in frames[:-1]  # a heartbeat: an empty line while the app was silent
    assert all(e["event"] == "backwards_response" and e["session_id"] == "s1" for e in events)
    assert [e["data"]["event"] for e in events][-1] == "end"
    assert events[0]["data"]["data"]["event"] == "message"


def test_reverse_call_of_an_unknown_session_is_refused(transport):
    response = transaction(transport, "gone", chat("hi"))
    assert response.status_code == 400
    assert json.loads(response.get_data())["data"]["error_type"] == "SessionNotFound"


def test_reverse_call_is_cut_at_the_transaction_limit(transport):
    transport.plugin.sessions["s2"] = Queue()
    response = transaction(transport, "s2", chat("/hang 5"))  # the fixture's limit is 2 s
    assert response.status_code == 200 and b'"end"' not in response.get_data()


@pytest.mark.parametrize("runtime", ["serverless"], indirect=True)
def test_a_request_over_5_mib_hex_is_refused_without_calling_the_plugin(runtime):
    def invocations():
        return runtime.output().count("POST /invoke?action=invoke_endpoint")

    under = httpx.post(
        runtime.base_url + CHAT, headers=runtime.headers, timeout=60, content=json.dumps({"query": "a" * 2_500_000})
    )
    assert under.status_code != 500  # about 5.0 MB once hex-encoded: still sent
    gevent.sleep(0.5)
    before = invocations()
    over = httpx.post(
        runtime.base_url + CHAT,
        headers=runtime.headers,
        timeout=60,
        content=json.dumps({"query": "a" * (MAX_REQUEST_BYTES // 2)}),
    )
    assert over.status_code == 500 and over.json()["code"] == -500
    error = json.loads(over.json()["message"])
    assert error["error_type"] == "PluginDaemonInternalServerError"
    size = re.fullmatch(
        r"ServerlessPayloadTooLarge: action=invoke_endpoint payload_bytes=(\d+) "
        r"max_request_bytes=5242880\nfailed to write request",
        error["message"],
    )
    assert size and int(size.group(1)) > MAX_REQUEST_BYTES
    gevent.sleep(0.5)
    assert invocations() == before


@pytest.mark.parametrize("runtime", ["serverless"], indirect=True)
def test_an_app_streams_through_reverse_calls(runtime):
    response = httpx.post(runtime.base_url + CHAT, headers=runtime.headers, json={"query": "/tokens 30"}, timeout=30)
    frames = [json.loads(f[6:]) for f in response.text.split("\n\n") if f.startswith("data: ")]
    assert [f["answer"] for f in frames if f["event"] == "message"] == [f"t{i} " for i in range(30)]
    assert frames[-1]["event"] == "message_end"
