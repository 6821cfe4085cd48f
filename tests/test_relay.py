"""The dev kit relays endpoint requests as the daemon does, down to what it loses (devkit/server.py)."""

import re
import socket
import time

import pytest

from devkit.harness import ROOT, Runtime, read_slowly

CHAT = "/apps/demo-chat/chat-messages"
BARE = ROOT / "tests" / "bare_plugin"


def delivered_tokens(answer) -> list[int]:
    return [int(e["answer"][1:]) for e in answer.events() if e["event"] == "message"]


def test_a_client_that_stops_reading_loses_chunks_like_dify(runtime):
    """The daemon's last queue holds 128 chunks and drops the rest (stream.go Write, endpoint_service.go).

    The dev kit pins its socket send buffer (64 KiB) and read_slowly its receive buffer, so the
    3 s pause fills the kernel's buffers and the queue well before the plugin's 2000 events.
    """
    answer = read_slowly(runtime.base_url + CHAT, {"query": "/tokens 2000"}, runtime.headers, pause=3)
    tokens = delivered_tokens(answer)
    assert answer.status == 200 and 0 < len(tokens) < 2000
    assert tokens == sorted(tokens) and tokens[0] == 0  # gaps, never reordering
    assert "dropped chunk #1 " in runtime.output()
    assert runtime.wait_for_output("were dropped because the client read too slowly")
    dropped = re.findall(r"(\d+) chunks \(\d+ bytes\) were dropped", runtime.output())
    assert int(dropped[-1]) >= 2000 - len(tokens)


def test_a_client_that_keeps_reading_loses_nothing(runtime):
    answer = read_slowly(runtime.base_url + CHAT, {"query": "/tokens 2000"}, runtime.headers, pause=0)
    assert delivered_tokens(answer) == list(range(2000)) and answer.events()[-1]["event"] == "message_end"


@pytest.mark.xfail(reason="issue 13: Duck sends one chunk per event, so a paused client loses events", strict=False)
def test_duck_stream_survives_a_client_paused_for_three_seconds(runtime):
    answer = read_slowly(runtime.base_url + CHAT, {"query": "/tokens 2000"}, runtime.headers, pause=3)
    assert delivered_tokens(answer) == list(range(2000)) and answer.events()[-1]["event"] == "message_end"


@pytest.fixture(scope="module")
def impatient(tmp_path_factory):
    """The bare plugin, with a 1 s idle limit on connections."""
    config = tmp_path_factory.mktemp("impatient") / "devkit.toml"
    config.write_text("[limits]\nidle_seconds = 1\n")
    running = Runtime(plugin_dir=BARE, config=config)
    yield running
    running.stop()


def test_an_idle_connection_is_closed(impatient):
    with socket.create_connection(("127.0.0.1", impatient.port), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, nothing sent
        assert time.monotonic() - started < 8
