"""The runtime behaves like the daemon at the edges, and says loudly where the daemon is silent."""

import time

import httpx
import pytest

from devkit.harness import Runtime
from tests.conftest import ROOT

BARE = ROOT / "tests" / "bare_plugin"


@pytest.fixture(scope="module")
def bare():
    running = Runtime(plugin_dir=BARE)
    yield running
    running.stop()


def wait_healthy(running, path="/hello/again"):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(running.base_url + path, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the plugin did not come back")


def test_serves_any_endpoint_plugin(bare):
    response = httpx.get(bare.base_url + "/hello/world")
    assert response.status_code == 200 and response.text == "hello world"


def test_missing_app_permission_is_refused_like_the_daemon(bare):
    response = httpx.get(bare.base_url + "/hello/app", timeout=20)
    assert response.status_code == 500
    assert "permission denied, you need to enable app access in plugin manifest" in response.text


def test_an_output_line_over_5_mib_kills_the_plugin_and_leaves_the_request_open(bare):
    """instance.go's bufio.Scanner stops at 5 MiB and the process is killed; nobody tells the session."""
    pid = bare.plugin_process().pid
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(bare.base_url + "/hello/huge", timeout=5)
    assert "stdout line of 5242880 bytes or more" in bare.output() and "the plugin died" in bare.output()
    wait_healthy(bare)
    assert bare.plugin_process().pid != pid


def test_print_to_stdout_is_reported_not_fatal(bare):
    assert httpx.get(bare.base_url + "/hello/print", timeout=10).text == "hello print"
    assert "non-protocol line to stdout" in bare.output()


def test_bodies_over_10_mib_are_truncated_like_the_daemon_but_loudly(bare):
    response = httpx.request("GET", bare.base_url + "/hello/big", content=b"x" * (10 * 1024 * 1024 + 5), timeout=60)
    assert response.status_code == 200
    assert "request body over 10 MiB" in bare.output()


def test_sdk_plain_text_404_passes_through_for_a_plugin_without_fallback(bare):
    response = httpx.get(bare.base_url + "/nothing-here")
    assert response.status_code == 404 and "Failed to dispatch endpoint request" in response.text


def test_refuses_a_folder_without_manifest(tmp_path):
    with pytest.raises(RuntimeError, match="has no manifest.yaml"):
        Runtime(plugin_dir=tmp_path)


def test_runtime_timeouts_never_leave_a_request_hanging(tmp_path):
    config = tmp_path / "devkit.toml"
    config.write_text('[endpoint.settings]\napi_key = "k"\n[limits]\nfirst_chunk_seconds = 1\ntotal_seconds = 2\n')
    running = Runtime(config=config)
    try:
        chat = running.base_url + "/apps/demo-chat/chat-messages"
        silent = httpx.post(chat, headers={"X-API-Key": "k"}, json={"query": "/hang 4"}, timeout=30)
        assert silent.status_code == 504 and silent.json()["code"] == "timeout"
        cut = httpx.post(chat, headers={"X-API-Key": "k"}, json={"query": "/pause 4"}, timeout=30)
        assert cut.status_code == 200 and cut.text.startswith('data: {"event":"message"')
        # service.Endpoint's select appends gin's ctx.JSON(500, ...) to the body already sent.
        assert cut.text.endswith(
            '\n\n{"code":-500,"message":"{\\"message\\":\\"killed by timeout\\",'
            '\\"error_type\\":\\"PluginDaemonInternalServerError\\",\\"args\\":null}",'
            '"data":null}'
        )
        assert "killed by timeout after 2 s of streaming" in running.output()
    finally:
        running.stop()


def test_a_reverse_invocation_line_over_5_mib_kills_the_plugin_too(bare):
    """The daemon's limit is on the line, whatever it carries: here the plugin's own app call."""
    pid, kills = bare.plugin_process().pid, bare.output().count("stdout line of 5242880 bytes or more")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(bare.base_url + "/hello/app-huge", timeout=8)
    assert bare.output().count("stdout line of 5242880 bytes or more") == kills + 1
    wait_healthy(bare)
    assert bare.plugin_process().pid != pid
