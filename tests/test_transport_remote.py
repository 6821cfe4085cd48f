"""The remote-debugging server: handshake, registration checks, idle close and disconnects, as the daemon.

In-process tests talk to a real RemoteTransport over loopback TCP with the lines the SDK sends
(`dify_plugin/plugin.py` `_initialize_tcp_stream`); the end-to-end ones use the running dev kit.
"""

import base64
import json
import os
import socket
import subprocess
import sys

import gevent
import httpx
import pytest
import yaml
from dify_plugin.core.entities.plugin.setup import PluginConfiguration

from devkit.demo_apps import DemoApps
from devkit.errors import DaemonRefused
from devkit.harness import Runtime
from devkit.host import Host
from devkit.plugin_process import PluginProcess
from devkit.storage import Storage
from devkit.transport_remote import RemoteTransport
from tests.conftest import ROOT

DECLARATION = PluginConfiguration(**yaml.safe_load((ROOT / "manifest.yaml").read_text())).model_dump(mode="json")
ICON = (ROOT / "_assets" / "icon.svg").read_bytes()


def registration(key, declaration=DECLARATION, assets=(("icon.svg", ICON),)):
    """The SDK's lines: handshake, manifest, endpoints, assets in 8 KiB base64 chunks, end."""
    lines = [
        {"type": "handshake", "data": {"key": key}},
        {"type": "manifest_declaration", "data": declaration},
        {"type": "endpoint_declaration", "data": [{"settings": [], "endpoints": []}]},
    ]
    for name, data in assets:
        pieces = [data[i : i + 8192] for i in range(0, len(data), 8192)]
        lines += [
            {
                "type": "asset_chunk",
                "data": {"filename": name, "data": base64.b64encode(piece).decode(), "end": i == len(pieces) - 1},
            }
            for i, piece in enumerate(pieces)
        ]
    lines.append({"type": "end", "data": {}})
    return b"".join(json.dumps(line).encode() + b"\n\n" for line in lines)


def read_all(sock) -> bytes:
    sock.settimeout(10)
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    return b"".join(chunks)


@pytest.fixture
def served(tmp_path):
    """A RemoteTransport behind the shared session routing, waiting for a plugin (no child process)."""
    transport = RemoteTransport(idle_seconds=0.3, handshake_seconds=0.3)
    plugin = PluginProcess(tmp_path, Host(DemoApps(), Storage()), transport=transport, run_plugin=False)
    plugin.start()
    yield plugin, transport
    plugin.stop()


def connect(transport):
    return socket.create_connection(("127.0.0.1", transport.port), timeout=10)


def wait_until(condition, seconds=5.0):
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        gevent.sleep(0.02)
    return condition()


def test_a_registered_plugin_is_routed_to_and_gets_the_stdio_lines(served):
    plugin, transport = served
    with connect(transport) as sock:
        sock.sendall(registration(transport.key))
        assert wait_until(transport.ready)
        assert plugin.host.app_permission and plugin.manifest["name"] == "duck"  # from the declaration
        session_id, _queue = plugin.open_session("e", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", {})
        line = sock.recv(65536)
    assert json.loads(line)["session_id"] == session_id and line.endswith(b"\n")


def test_a_wrong_key_is_refused_with_the_daemons_words(served):
    _plugin, transport = served
    with connect(transport) as sock:
        sock.sendall(registration("not-the-key"))
        assert read_all(sock) == b"handshake failed, invalid key\n"
    assert not transport.ready()


def test_no_handshake_in_time_closes_the_connection(served):
    _plugin, transport = served
    with connect(transport) as sock:
        assert read_all(sock) == b""  # closed by the dev kit, without a word, as the daemon does


@pytest.mark.parametrize(
    "change, words",
    [
        (
            lambda d: d.update(icon="missing.svg"),
            "assets remap failed, invalid assets data, cannot remap: file not found: missing.svg\nfailed to remap plugin icon",
        ),
        (
            lambda d: d.update(author="Duck"),
            "register failed, invalid manifest detected: author must be alphanumeric and less than 64 characters",
        ),
        (
            lambda d: d.pop("icon"),
            "handshake failed, invalid plugin declaration: Key: "
            "'PluginDeclaration.PluginDeclarationWithoutAdvancedFields.Icon' Error:Field validation "
            "for 'Icon' failed on the 'required' tag",
        ),
    ],
    ids=["icon file not sent", "uppercase author", "no icon"],
)
def test_registration_is_checked_as_the_daemon_checks_it(served, change, words):
    _plugin, transport = served
    declaration = json.loads(json.dumps(DECLARATION))
    change(declaration)
    with connect(transport) as sock:
        sock.sendall(registration(transport.key, declaration))
        assert words in read_all(sock).decode()
    assert not transport.ready()


def test_silence_closes_the_connection_and_fails_open_sessions(served):
    plugin, transport = served
    with connect(transport) as sock:
        sock.sendall(registration(transport.key))
        assert wait_until(transport.ready)
        _session_id, queue = plugin.open_session("e", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", {})
        kind, data = queue.get(timeout=5)  # no heartbeat for idle_seconds
    assert kind == "error" and data == {
        "message": "Connection closed unexpectedly",
        "error_type": "ConnectionClosedError",
        "args": {},
    }
    assert not transport.ready()


def test_without_a_plugin_the_daemon_knows_no_such_plugin(served):
    plugin, _transport = served
    with pytest.raises(DaemonRefused) as refused:
        plugin.open_session("e", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", {})
    assert refused.value.status == 404 and "PluginNotFoundError" in refused.value.body["message"]


@pytest.mark.parametrize("runtime", ["remote"], indirect=True)
def test_the_running_dev_kit_refuses_a_wrong_key(runtime):
    host, port = runtime.plugin_env["REMOTE_INSTALL_URL"].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b'{"type": "handshake", "data": {"key": "wrong"}}\n')
        assert read_all(sock) == b"handshake failed, invalid key\n"
    assert httpx.get(runtime.base_url + "/health").status_code == 200  # the real plugin is still connected


def test_wait_for_a_plugin_started_by_hand():
    running = Runtime(runtime="remote", wait_for_plugin=True)
    plugin = None
    try:
        assert set(running.plugin_env) == {"INSTALL_METHOD", "REMOTE_INSTALL_URL", "REMOTE_INSTALL_KEY"}
        assert httpx.get(running.base_url + "/health").status_code == 404  # nothing connected yet
        plugin = subprocess.Popen(
            [sys.executable, "-m", "main"],
            cwd=ROOT,
            env={**os.environ, **running.plugin_env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(300):
            if httpx.get(running.base_url + "/health").status_code == 200:
                break
            gevent.sleep(0.1)
        chat = httpx.post(
            running.base_url + "/apps/demo-chat/chat-messages",
            headers=running.headers,
            json={"query": "by hand", "response_mode": "blocking"},
            timeout=30,
        )
        assert chat.status_code == 200 and "You said: by hand" in chat.json()["answer"]
    finally:
        if plugin is not None:
            plugin.kill()
            plugin.wait()
        running.stop()
