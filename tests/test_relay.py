"""The dev kit relays endpoint requests as the daemon does, down to what it loses (devkit/server.py)."""

import json
import re
import socket

import gevent
import httpx
import pytest

from devkit.harness import Runtime, read_slowly
from tests.conftest import ROOT

CHAT = "/apps/demo-chat/chat-messages"
BARE = ROOT / "tests" / "bare_plugin"


def delivered_tokens(answer) -> list[int]:
    return [int(e["answer"][1:]) for e in answer.events() if e["event"] == "message"]


def test_a_client_that_stops_reading_loses_chunks_like_dify(bare):
    """The daemon's last queue holds 128 chunks and drops the rest (stream.go Write, endpoint_service.go).

    The bare plugin sends 3000 chunks of ~200 bytes at once. The dev kit pins its socket send buffer
    (64 KiB) and read_slowly its receive buffer, so the 3 s pause fills the kernel's buffers and the
    queue long before the plugin is done.
    """
    answer = read_slowly(bare.base_url + "/hello/chunks", None, {}, pause=3)
    frames = [e["i"] for e in answer.events()]
    assert answer.status == 200 and 0 < len(frames) < 3000
    assert frames == sorted(frames) and frames[0] == 0  # gaps, never reordering
    assert "dropped chunk #1 " in bare.output()
    assert bare.wait_for_output("were dropped because the client read too slowly")
    dropped = re.findall(r"(\d+) chunks \(\d+ bytes\) were dropped", bare.output())
    assert int(dropped[-1]) == 3000 - len(frames)


def test_a_stream_that_fits_the_buffers_loses_nothing(runtime):
    """300 events (~90 KB) fit the send buffer and the queue even if the reader lags: nothing to drop."""
    answer = read_slowly(runtime.base_url + CHAT, {"query": "/tokens 300"}, runtime.headers, pause=0, rcvbuf=0)
    assert delivered_tokens(answer) == list(range(300)) and answer.events()[-1]["event"] == "message_end"


def test_duck_stream_survives_a_client_paused_for_three_seconds(runtime):
    """Duck coalesces (at most 20 chunks a second), so a 3 s pause queues fewer than 128 chunks."""
    answer = read_slowly(runtime.base_url + CHAT, {"query": "/tokens 2000"}, runtime.headers, pause=3)
    assert delivered_tokens(answer) == list(range(2000)) and answer.events()[-1]["event"] == "message_end"


def test_duck_refuses_inputs_that_would_make_the_daemon_kill_it():
    running = Runtime("max_body_bytes=10485760")
    try:
        text = "x" * (6 * 1024 * 1024)
        job = gevent.spawn(
            httpx.post,
            running.base_url + "/apps/demo-workflow/workflows/run",
            headers=running.headers,
            json={"inputs": {"text": text}, "response_mode": "blocking"},
            timeout=30,
        )
        while not job.ready():
            assert "stdout line of 5242880 bytes or more" not in running.output(), "the plugin was killed"
            gevent.sleep(0.1)
        assert 400 <= job.get().status_code < 500
    finally:
        running.stop()


@pytest.fixture(scope="module")
def impatient(tmp_path_factory):
    """The bare plugin, with a 1 s idle limit on connections."""
    config = tmp_path_factory.mktemp("impatient") / "devkit.toml"
    config.write_text("[limits]\nidle_seconds = 1\n")
    running = Runtime(plugin_dir=BARE, config=config)
    yield running
    running.stop()


def test_a_client_that_stops_reading_is_cut_off_and_frees_its_request(impatient):
    """Nothing waits on a stalled client for ever: after idle_seconds the write times out."""
    answer = read_slowly(impatient.base_url + "/hello/chunks", None, {}, pause=4)
    assert answer.status == 200 and not answer.complete
    assert impatient.wait_for_output("GET /e/local/hello/chunks 200")  # the request's log line: it ended


def test_an_idle_connection_is_closed(impatient):
    with socket.create_connection(("127.0.0.1", impatient.port), timeout=10) as sock:
        assert sock.recv(1) == b""  # closed by the server after 1 s, nothing sent (else: a 10 s timeout error)


@pytest.fixture(scope="module")
def bare():
    running = Runtime("target=demo-chat", plugin_dir=BARE)
    yield running
    running.stop()


def exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    """One raw HTTP/1.1 exchange on loopback: (head, body), the body de-chunked by h11's rules."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        plain, rest = b"", body
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            if int(size, 16) == 0:
                break
            plain, rest = plain + rest[: int(size, 16)], rest[int(size, 16) + 2 :]
        body = plain
    return head, body


def echo(running, method="GET", target="/echo/x", headers="", body=b"") -> tuple[bytes, bytes]:
    length = f"Content-Length: {len(body)}\r\n" if body or method in ("POST", "PUT") else ""
    request = (
        f"{method} /e/local{target} HTTP/1.1\r\nHost: 127.0.0.1:{running.port}\r\n{headers}{length}"
        "Connection: close\r\n\r\n"
    ).encode() + body
    return exchange(running.port, request)


def seen(running, **kwargs) -> dict:
    head, body = echo(running, **kwargs)
    assert head.startswith(b"HTTP/1.1 200"), head + body
    return json.loads(body)


def test_an_empty_post_reaches_the_plugin_as_a_chunked_body(bare):
    assert seen(bare, method="POST")["body"] == "0\r\n\r\n"
    assert seen(bare, method="PUT")["body"] == "0\r\n\r\n"
    assert seen(bare, method="POST", body=b"{}")["body"] == "{}"
    get = seen(bare)
    assert get["body"] == "" and "Content-Length" not in dict(get["headers"])


def test_the_plugin_sees_go_defaults_and_the_hook_headers(bare):
    plain = dict(seen(bare)["headers"])
    assert plain["User-Agent"] == "Go-http-client/1.1" and plain["Dify-Hook-Id"] == "local"
    assert plain["Dify-Hook-Url"] == f"http://127.0.0.1:{bare.port}/e/local/echo/x"
    proxied = dict(
        seen(
            bare,
            target="/echo/a%20b",
            headers="User-Agent: curl/8\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 10.0.0.1\r\n",
        )["headers"]
    )
    assert proxied["User-Agent"] == "curl/8" and "X-Forwarded-For" not in proxied
    assert proxied["Dify-Hook-Url"] == f"https://127.0.0.1:{bare.port}/e/local/echo/a b"


def test_query_pairs_are_re_encoded_as_go_does(bare):
    assert seen(bare, target="/echo/x?b=2&a=1&b=1&c;d=1")["query"] == "a=1&b=2&b=1"


def test_an_underscored_header_fails_in_the_sdk_with_the_daemons_500(bare):
    head, body = echo(bare, headers="X_Api_Key: k\r\n")
    assert head.startswith(b"HTTP/1.1 500") and b"application/json; charset=utf-8" in head
    envelope = json.loads(body)
    assert envelope["code"] == -500 and envelope["data"] is None
    inner = json.loads(envelope["message"])
    assert inner["error_type"] == "PluginDaemonInternalServerError" and inner["args"] is None
    plugin_error = json.loads(inner["message"])
    assert list(plugin_error) == ["args", "error_type", "message"]  # re-marshalled from a Go map
    assert plugin_error["message"] == "Invalid HTTP header" and "Traceback" in plugin_error["args"]["traceback"]


def test_an_unknown_hook_and_an_unrouted_path_get_the_daemons_envelopes(bare):
    other = httpx.get(f"http://127.0.0.1:{bare.port}/e/other-hook/echo/x")
    assert other.status_code == 404 and other.content == (
        b'{"code":-400,"message":"{\\"message\\":\\"endpoint not found\\",\\"error_type\\":'
        b'\\"PluginDaemonBadRequestError\\",\\"args\\":null}","data":null}'
    )
    elsewhere = httpx.get(f"http://127.0.0.1:{bare.port}/nothing")
    assert elsewhere.status_code == 404 and elsewhere.content == b'{"code":"not_found","message":"route not found"}'


def test_an_error_after_streaming_started_is_appended_as_the_plugins_error_json(bare):
    response = httpx.get(bare.base_url + "/hello/late-error", timeout=20)
    assert response.status_code == 200 and response.text.startswith("first {")
    error = json.loads(response.text[len("first ") :])
    assert list(error) == ["args", "error_type", "message"]
    assert (error["error_type"], error["message"]) == ("RuntimeError", "failed after the first chunk")


def test_an_app_selector_setting_of_any_name_arrives_as_dify_sends_it(bare):
    assert seen(bare)["settings"] == {
        "target": {"app_id": "demo-chat", "inputs": {}, "files": [], "type": "app-selector"}
    }


def test_an_undeclared_setting_is_refused_at_start():
    with pytest.raises(RuntimeError, match="declares no setting named app; its settings are: target"):
        Runtime("app=demo-chat", plugin_dir=BARE)


def test_duck_answers_an_empty_post_whose_body_arrives_chunked_with_a_clear_400(runtime):
    response = httpx.post(runtime.base_url + CHAT, headers=runtime.headers, timeout=20)
    assert response.status_code == 400 and response.json()["code"] == "invalid_param"


def test_a_head_request_gets_the_headers_and_no_body(bare):
    """The SDK answers HEAD with a body; Go's server (the daemon's) never sends it."""
    head, body = exchange(bare.port, b"HEAD /e/local/hello/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 7" in head and body == b""


def test_the_hook_without_a_trailing_slash_is_redirected_as_gin_does(bare):
    get = httpx.get(f"http://127.0.0.1:{bare.port}/e/local?a=1")
    assert get.status_code == 301 and get.headers["location"] == "/e/local/?a=1"
    assert get.text == '<a href="/e/local/?a=1">Moved Permanently</a>.\n\n'
    post = httpx.post(f"http://127.0.0.1:{bare.port}/e/local")
    assert post.status_code == 307 and post.headers["location"] == "/e/local/" and post.content == b""
