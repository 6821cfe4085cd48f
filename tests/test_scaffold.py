"""The template cannot rot: a new plugin from Duck, with an added endpoint, passes its own tests."""

import json
import subprocess
import sys

import pytest
import yaml

from devkit import package
from devkit.scaffold import ScaffoldError, add_endpoint, new_plugin
from tests.conftest import ROOT

# One request through the SDK's dispatch path, run inside a plugin's own folder (its own `duck` package):
# argv is method, path, settings as JSON; prints the status and the body.
DISPATCH = """
import dify_plugin, json, sys
from pathlib import Path
from devkit.demo_apps import DemoApps
from devkit.host import Host
from devkit.inprocess import InProcessPlugin, raw_request
from devkit.storage import Storage
method, path, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
headers = {"X-API-Key": settings["api_key"]} if settings else {}
reply = InProcessPlugin(Path.cwd(), Host(DemoApps(), Storage())).dispatch(raw_request(method, path, b"", headers), settings)
print(reply.status, reply.body.decode())
"""


def dispatch(plugin, method: str, path: str, settings: dict) -> tuple[int, dict]:
    run = subprocess.run(
        [sys.executable, "-c", DISPATCH, method, path, json.dumps(settings)],
        cwd=plugin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    status, _, body = run.stdout.partition(" ")
    return int(status), json.loads(body)


def test_new_plugin_with_an_added_endpoint_passes_its_own_suite(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "devkit",
            "new",
            "acme-hooks",
            "--into",
            str(tmp_path),
            "--routes",
            "chat,workflow",
            "--author",
            "Acme Inc.",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    plugin = tmp_path / "acme-hooks"
    manifest = yaml.safe_load((plugin / "manifest.yaml").read_text())
    # the daemon refuses capitals in author (plugin_declaration.go AuthorRegex)
    assert (manifest["name"], manifest["author"], manifest["version"]) == ("acme-hooks", "acme-inc-", "0.0.1")
    assert manifest["label"]["en_US"] == "Acme Hooks"
    assert not (plugin / "endpoints" / "completion_messages.py").exists()
    for file in (".ci/run", ".difyignore", ".env.example", ".python-version", "README.md", "Makefile"):
        assert (plugin / file).exists(), file
    add = subprocess.run(
        [sys.executable, "-m", "devkit", "endpoint", "add", "ping", "--method", "POST", "--path", "/ping/<who>"],
        cwd=plugin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert add.returncode == 0, add.stderr
    # The added route is declared and served: dispatched in the new plugin, not read from its files.
    assert dispatch(plugin, "POST", "/ping/bob", {"api_key": "k"}) == (200, {"route": "ping", "values": {"who": "bob"}})
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=plugin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert package.check(plugin) == []
    # The name /health reports comes from the new manifest, not from Duck.
    status, health = dispatch(plugin, "GET", "/health", {})
    assert (status, health["name"]) == (200, "acme-hooks")


def test_added_endpoint_keeps_the_group_file_text(tmp_path):
    plugin = new_plugin("keepme", tmp_path, ["parameters"])
    group = plugin / "provider" / "keepme.yaml"
    before = group.read_text()
    add_endpoint(plugin, "hello", "GET", "/hello")
    after = group.read_text()
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["- endpoints/hello.yaml"] and len(after.splitlines()) == len(before.splitlines()) + 1
    assert yaml.safe_load(after)["endpoints"][-1] == "endpoints/hello.yaml"


@pytest.mark.parametrize(
    "name, routes, message",
    [
        ("Bad Name", [], "is not a plugin name"),
        ("ok", ["chat", "nope"], "unknown route(s) nope"),
    ],
)
def test_new_refuses(tmp_path, name, routes, message):
    with pytest.raises(ScaffoldError, match=message.replace("(", r"\(").replace(")", r"\)")):
        new_plugin(name, tmp_path, routes)


def test_new_refuses_an_existing_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(ScaffoldError, match="already exists"):
        new_plugin("taken", tmp_path, [])


@pytest.mark.parametrize(
    "name, method, path, message",
    [
        ("Bad-Name", "GET", "/x", "is not an endpoint name"),
        ("ok", "PATCH", "/x", "is not routed by the Dify daemon"),
        ("ok", "GET", "x", "is not a route path"),
        ("health", "GET", "/x", "already exists"),
    ],
)
def test_endpoint_add_refuses(tmp_path, name, method, path, message):
    plugin = new_plugin("p", tmp_path, [])
    with pytest.raises(ScaffoldError, match=message):
        add_endpoint(plugin, name, method, path)
