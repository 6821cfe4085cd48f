"""The author's whole path, through the `devkit` command: a key-less webhook plugin with a signed JSON
route and a form route is rendered, passes its own tests, packages, serves real signed deliveries
from its package, and updates, without a library edit and without a Duck name."""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from devkit.harness import Runtime
from devkit.webhooks import signed_headers

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def devkit(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "devkit", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def test_new_test_serve_package_update(tmp_path):
    made = devkit("new", "hooks", "--routes", "webhook,form", "--auth", "signature", "--author", "acme", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    plugin = tmp_path / "hooks"
    files = {f: f.read_bytes() for f in plugin.rglob("*") if f.is_file() and ".git" not in f.parts}
    # The checkout's own path (in requirements-dev.txt and .copier-answers.yml) is the author's, not a Duck name.
    checkout = str(Path(__file__).resolve().parent.parent).encode()
    named = {
        f: str(f.relative_to(plugin)).encode() + data.replace(checkout, b"<checkout>") for f, data in files.items()
    }
    assert not [f for f, text in named.items() if b"duck" in text.lower()]
    library = {f: data for f, data in files.items() if "endpoint_kit" in f.parts}

    own_venv = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # as its own venv: no Duck pytest plugins
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"], cwd=plugin, env=own_venv, capture_output=True, text=True
    )
    assert tests.returncode == 0, tests.stdout[-3000:]

    packed = devkit("package", plugin, "-o", tmp_path)
    assert packed.returncode == 0, packed.stderr
    package = tmp_path / "hooks-0.0.1.difypkg"

    # Served as Dify installs it: unpacked alone, its requirements.txt installed from the index by uv.
    secret = "a-webhook-secret"
    served = Runtime("webhook_sender=github", f"webhook_secret={secret}", plugin_dir=package)
    try:
        body = b'{"action": "opened"}'
        signed = {"Content-Type": "application/json", **signed_headers("github", body, secret)}
        answer = httpx.post(f"{served.base_url}/webhook", content=body, headers=signed, timeout=30)
        assert (answer.status_code, answer.json()) == (200, {"received": {"action": "opened"}}), answer.text
        forged = {**signed, "X-Hub-Signature-256": "sha256=" + "0" * 64}
        assert httpx.post(f"{served.base_url}/webhook", content=body, headers=forged, timeout=30).status_code == 401
        form = b"command=%2Fhooks&text=hi"
        signed = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers("github", form, secret)}
        answer = httpx.post(f"{served.base_url}/command", content=form, headers=signed, timeout=30)
        assert answer.json() == {"response_type": "ephemeral", "text": "You said: hi"}, answer.text
    finally:
        served.stop()

    subprocess.run([*GIT, "add", "-A"], cwd=plugin, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "hooks"], cwd=plugin, check=True)
    updated = devkit("update", cwd=plugin)
    assert updated.returncode == 0, updated.stderr
    assert {f: f.read_bytes() for f in library} == library  # the library was not touched by hand, and still is
