"""The installed dev kit on a plugin that is not Duck, in a folder outside this checkout: the `devkit`
command serves, checks, packages and signs it, and `devkit.testing` runs the plugin's own tests."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

BARE = Path(__file__).parent / "bare_plugin"
DEVKIT = Path(sys.executable).with_name("devkit")  # the console script `pip install` made


def a_plugin(tmp_path: Path) -> Path:
    """The bare plugin, copied where nothing of this checkout is near, with its own dependencies."""
    plugin = tmp_path / "hello-plugin"
    shutil.copytree(BARE, plugin)
    (plugin / "requirements.txt").write_text("dify_plugin==0.10.2\n")
    (plugin / "PRIVACY.md").write_text("This plugin keeps nothing.\n")  # the marketplace asks for one
    with (plugin / "manifest.yaml").open("a") as manifest:
        manifest.write("privacy: ./PRIVACY.md\n")
    return plugin


def devkit(*args, cwd: Path) -> subprocess.CompletedProcess:
    # Nothing points back at this checkout: no PYTHONPATH, and the command runs from the plugin's folder.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(DEVKIT), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_devkit_command_checks_packages_and_signs_a_plugin_outside_the_checkout(tmp_path):
    plugin = a_plugin(tmp_path)
    assert "serve" in devkit("--help", cwd=tmp_path).stdout
    checked = devkit("check", cwd=plugin)
    assert checked.returncode == 0 and "ok: Dify would accept this plugin" in checked.stdout, checked.stderr
    assert devkit("package", plugin, "-o", tmp_path / "hello.difypkg", cwd=tmp_path).returncode == 0
    assert devkit("keygen", tmp_path / "me.private.pem", cwd=tmp_path).returncode == 0
    signed = devkit("sign", tmp_path / "hello.difypkg", "-k", tmp_path / "me.private.pem", cwd=tmp_path)
    assert signed.returncode == 0, signed.stderr
    verified = devkit("verify", tmp_path / "hello.signed.difypkg", "-k", tmp_path / "me.public.pem", cwd=tmp_path)
    assert verified.returncode == 0 and "verified: signed" in verified.stdout, verified.stderr


def test_the_devkit_command_serves_a_plugin_outside_the_checkout_with_neutral_defaults(tmp_path):
    plugin = a_plugin(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    serving = subprocess.Popen(
        [str(DEVKIT), "serve", "--port", "0"],
        cwd=plugin,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = []
        deadline = time.monotonic() + 60
        while not any(line.startswith("Apps: ") for line in banner) and time.monotonic() < deadline:
            line = serving.stdout.readline()
            if not line:
                break
            banner.append(line)
        base_url = next(line.split(": ", 1)[1].strip() for line in banner if line.startswith("Base URL: "))
        assert base_url.endswith("/e/local"), banner  # no Duck hook id
        answer = httpx.get(base_url + "/hello/world", timeout=30)
        assert (answer.status_code, answer.text) == (200, "hello world")
    finally:
        serving.terminate()
        serving.wait(timeout=30)
    rest = serving.stdout.read()
    assert "Routes:" in "".join(banner) + rest and f"GET {base_url}/hello/<what>" in "".join(banner) + rest


def test_devkit_testing_runs_a_plugins_own_tests_in_process_and_over_stdio(tmp_path):
    plugin = a_plugin(tmp_path)
    (plugin / "tests").mkdir()
    (plugin / "tests" / "conftest.py").write_text('pytest_plugins = ["devkit.testing"]\n')
    (plugin / "devkit.toml").write_text('[endpoint]\nhook_id = "hello-local"\n')
    (plugin / "tests" / "test_hello.py").write_text(
        "import httpx\n\n\n"
        "def test_in_process(call, plugin_dir):\n"
        "    reply = call('GET', '/hello/world')\n"
        "    assert (reply.status, reply.body) == (200, b'hello world')\n"
        "    assert plugin_dir.name == 'hello-plugin'\n\n\n"
        "def test_over_the_stdio_protocol(runtime):\n"
        "    assert runtime.base_url.endswith('/e/hello-local')\n"
        "    assert httpx.get(runtime.base_url + '/hello/there', timeout=30).text == 'hello there'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=plugin,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "2 passed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
